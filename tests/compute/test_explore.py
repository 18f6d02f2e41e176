"""All-rows views: datashader's aggregate, computed on a real cluster, equals numpy; every
bad column gets a sentence; the real flights and 1e7 synthetic taxi trips work."""
from __future__ import annotations

import re
import threading

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import futures_of, get_task_stream

from dashboard.compute.explore import (ExploreError, ExploreSpec, _KeepGraph, aggregate,
                                       check_columns, check_extent, column_stats, extents,
                                       histogram, numeric_columns, spread)
from dashboard.datasets.flights import FlightsDataset
from dashboard.datasets.taxi import TaxiDataset
from dashboard.jobs import Job, JobRunner  # ``runner``: tests/compute/conftest.py
from dashboard.work.explore import prepare, render


def numpy_counts(frame: pd.DataFrame, x: str, y: str, x_range, y_range, width, height):
    """numpy's histogram2d laid out as datashader lays out an aggregate (rows are y)."""
    both = frame[[x, y]].dropna()
    counts, _, _ = np.histogram2d(both[x], both[y], bins=(width, height),
                                  range=(x_range, y_range))
    return counts.T


@pytest.fixture
def small() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "a": rng.normal(0, 1, 20_000),
        "b": rng.uniform(-1, 1, 20_000),
        "w": rng.exponential(2.0, 20_000),
        "label": rng.choice(["p", "q"], 20_000),
        "flag": rng.random(20_000) < 0.5,
        "empty": np.nan,
        "same": 3.0,
    })
    frame.loc[::9, "a"] = np.nan
    return frame


async def run(runner: JobRunner, work) -> Job:
    job = await runner.run(Job(kind="explore-test"), work, remember=False)
    return job


async def test_counts_equal_numpy_histogram2d_on_the_cluster(async_client, small):
    ddf = dd.from_pandas(small, npartitions=5)
    ranges = dict(x_range=(-2.5, 2.5), y_range=(-1.0, 1.0), width=40, height=30)
    lazy = aggregate(ddf, "a", "b", **ranges)
    async with get_task_stream(async_client) as stream:
        image = await async_client.compute(lazy)
    # The aggregation ran as tasks on the cluster's workers, not in this process.
    workers = (await async_client.scheduler.identity())["workers"]
    assert {t["worker"] for t in stream.data} <= set(workers)
    assert len(stream.data) >= ddf.npartitions
    assert image.dims == ("b", "a") and image.shape == (30, 40)
    expected = numpy_counts(small, "a", "b", ranges["x_range"], ranges["y_range"], 40, 30)
    np.testing.assert_array_equal(image.values, expected)
    assert image.values.sum() < small[["a", "b"]].dropna().shape[0]  # the range cut some off


async def test_mean_equals_numpy_weighted_histogram(async_client, small):
    ddf = dd.from_pandas(small, npartitions=3)
    image = await async_client.compute(aggregate(
        ddf, "a", "b", "mean", "w", x_range=(-2, 2), y_range=(-1, 1), width=8, height=6))
    rows = small[["a", "b", "w"]].dropna()
    sums, _, _ = np.histogram2d(rows.a, rows.b, bins=(8, 6), range=((-2, 2), (-1, 1)),
                                weights=rows.w)
    counts, _, _ = np.histogram2d(rows.a, rows.b, bins=(8, 6), range=((-2, 2), (-1, 1)))
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(image.values, (sums / counts).T, rtol=1e-12)


async def test_histogram_of_rows_in_view_equals_numpy(async_client, small):
    ddf = dd.from_pandas(small, npartitions=4)
    counts, edges = histogram(ddf, "w", (0.0, 10.0), 20, {"b": (0.0, 1.0)})
    counts = await async_client.compute(counts)
    inside = small[(small.b >= 0) & (small.b <= 1)]
    expected, expected_edges = np.histogram(inside.w, bins=20, range=(0, 10))
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_allclose(edges, expected_edges)


async def test_sparse_points_zoomed_in_are_spread_over_several_pixels(async_client, small):
    # Five rows in a zoomed-in view of a 300 x 200 map: five lone pixels, too small to see.
    ddf = dd.from_pandas(pd.DataFrame({"a": [0.1, 0.3, 0.5, 0.7, 0.9],
                                       "b": [0.2, 0.8, 0.5, 0.3, 0.6]}), npartitions=2)
    image = await async_client.compute(aggregate(
        ddf, "a", "b", x_range=(0, 1), y_range=(0, 1), width=300, height=200))
    assert int((image.values > 0).sum()) == 5
    shown = spread(image)
    # Each point is now a blob of pixels, still of its own count; the aggregate is unchanged.
    assert int((shown.values > 0).sum()) >= 5 * 9
    assert shown.values.max() == 1 and int(image.values.sum()) == 5
    assert shown.dims == image.dims and (shown["a"] == image["a"]).all()

    # A mean spreads without summing neighbours into a false mean.
    ddf = ddf.assign(w=ddf.a * 10)
    means = await async_client.compute(aggregate(
        ddf, "a", "b", "mean", "w", x_range=(0, 1), y_range=(0, 1), width=300, height=200))
    spread_means = spread(means).values
    assert np.isfinite(spread_means).sum() >= 5 * 9
    assert set(np.unique(spread_means[np.isfinite(spread_means)])) <= {1.0, 3.0, 5.0, 7.0, 9.0}

    # A dense view is left as it is: every pixel already has neighbours.
    dense = await async_client.compute(aggregate(
        dd.from_pandas(small, npartitions=2), "a", "b", x_range=(-1, 1), y_range=(-1, 1),
        width=20, height=20))
    np.testing.assert_array_equal(spread(dense).values, dense.values)


def test_graph_is_kept_only_for_the_calling_thread(small):
    ddf = dd.from_pandas(small, npartitions=2)
    before = dask.config.get("scheduler", None)
    aggregate(ddf, "a", "b", x_range=(-1, 1), y_range=(-1, 1), width=4, height=4)
    # The override is gone, and local computes run as before.
    assert dask.config.get("scheduler", None) == before
    assert ddf.b.count().compute() == len(small)

    keeper = _KeepGraph()
    seen = []
    other = threading.Thread(target=lambda: seen.append(
        dask.compute(ddf.b.count(), scheduler=keeper)[0]))
    other.start()
    other.join(timeout=60)
    assert seen == [len(small)]  # another thread's compute ran, it was not kept


@pytest.mark.parametrize(("x", "role", "sentence"), [
    ("label", "x axis", "'label' is not numeric (its type is"),
    ("flag", "x axis", "'flag' is not numeric"),
    ("nope", "x axis", "There is no column 'nope'"),
])
def test_non_numeric_or_missing_axis_gets_a_sentence(small, x, role, sentence):
    dtypes = dd.from_pandas(small, npartitions=1).dtypes
    with pytest.raises(ExploreError, match=re.escape(sentence)) as info:
        check_columns(dtypes, {role: x})
    assert role in str(info.value)
    with pytest.raises(ExploreError, match=re.escape(sentence)):
        aggregate(dd.from_pandas(small, npartitions=1), x, "b", x_range=(0, 1),
                  y_range=(0, 1), width=2, height=2)


def test_numeric_columns_leave_out_text_and_booleans(small):
    assert numeric_columns(small.dtypes) == ["a", "b", "w", "empty", "same"]


async def test_all_nan_and_constant_columns_get_sentences_from_the_cluster(async_client, small):
    ddf = dd.from_pandas(small, npartitions=3)
    found = extents(*await async_client.gather(
        async_client.compute(list(column_stats(ddf, ["a", "empty", "same"])))))
    assert check_extent("a", found["a"], "x axis") == (small.a.min(), small.a.max())
    with pytest.raises(ExploreError, match=r"'empty' has no values \(it is missing in every "
                                           r"row\), so there is nothing to draw for the y axis"):
        check_extent("empty", found["empty"], "y axis")
    with pytest.raises(ExploreError, match=r"'same' has the same value \(3\) in every row: a "
                                           r"constant column has no range"):
        check_extent("same", found["same"], "x axis")
    # A constant colour or histogram column is fine: only an axis needs a range.
    assert check_extent("same", found["same"], "histogram", axis=False) == (3.0, 3.0)


async def test_infinite_values_get_a_sentence(async_client, small):
    small.loc[5, "w"] = np.inf
    found = extents(*await async_client.gather(async_client.compute(list(column_stats(
        dd.from_pandas(small, npartitions=2), ["w"])))))
    with pytest.raises(ExploreError, match="'w' holds infinite values"):
        check_extent("w", found["w"], "x axis")


@pytest.mark.parametrize(("spec", "sentence"), [
    (ExploreSpec("label", "b"), "'label' is not numeric"),
    (ExploreSpec("a", "empty"), "'empty' has no values"),
    (ExploreSpec("same", "b"), "'same' has the same value"),
    (ExploreSpec("a", "b", "mean", None), "Choose the column whose mean colours the plot"),
    (ExploreSpec("a", "b", "median", "w"), "Unknown aggregation 'median'"),
    (ExploreSpec("a", "b", "mean", "empty"), "'empty' has no values"),
    (ExploreSpec("a", "b", hist="label"), "'label' is not numeric"),
])
async def test_prepare_refuses_bad_specs_with_the_sentence(runner, small, spec, sentence):
    ddf = dd.from_pandas(small, npartitions=2)
    job = await run(runner, lambda ctx: prepare(ctx, ddf, spec))
    assert job.status == "failed"
    assert sentence in job.error


async def test_flights_delays_and_distance_by_air_time(runner):
    ddf = FlightsDataset().to_dask()
    source = ddf.compute()
    for x, y in [("distance", "air_time"), ("dep_delay", "arr_delay")]:
        spec = ExploreSpec(x, y, hist="arr_delay")
        job = await run(runner, lambda ctx: prepare(ctx, ddf, spec))
        assert job.status == "done", job.error
        prepared = job.result
        both = source[[x, y]].dropna()
        assert prepared.rows == len(both)
        assert prepared.x_range == (source[x].min(), source[x].max())
        job = await run(runner, lambda ctx: render(ctx, prepared, None, None, 300, 200))
        assert job.status == "done", job.error
        raster = job.result
        # Every row with both values lies in the full extent, so every one is counted.
        assert int(raster.image.sum()) == len(both)
        # Whole-minute and whole-mile values sit exactly on pixel edges, where float
        # rounding may pick the neighbouring pixel: the layout agrees, not every edge.
        expected = numpy_counts(source, x, y, prepared.x_range, prepared.y_range, 300, 200)
        assert np.abs(raster.image.values - expected).sum() < 0.01 * len(both)
        assert raster.rows_in_view == len(source[[x, y, "arr_delay"]].dropna())


async def test_persisted_two_column_projection_of_parquet_is_usable(runner):
    # dep_delay and arr_delay alone leave a bare read_parquet, which persisting fuses
    # into fewer partitions than the collection it returns claims (dask/dask#12488).
    ddf = FlightsDataset().to_dask()
    spec = ExploreSpec("dep_delay", "arr_delay", hist="arr_delay")
    job = await run(runner, lambda ctx: prepare(ctx, ddf, spec, persist=True))
    assert job.status == "done", job.error
    prepared = job.result
    assert prepared.persisted
    assert prepared.frame.npartitions == len(futures_of(prepared.frame))
    both = ddf[["dep_delay", "arr_delay"]].dropna().compute()
    assert prepared.rows == len(both)
    zoom = ((500.0, 1400.0), (500.0, 1400.0))
    job = await run(runner, lambda ctx: render(ctx, prepared, *zoom, 90, 90))
    assert job.status == "done", job.error
    assert int(job.result.image.sum()) == int((both.dep_delay.between(500, 1400)
                                               & both.arr_delay.between(500, 1400)).sum())


async def test_taxi_ten_million_rows_pickup_map_and_zoom(runner):
    ddf = TaxiDataset(rows=10_000_000).to_dask()
    spec = ExploreSpec("pickup_longitude", "pickup_latitude", "mean", "fare_amount",
                       hist="fare_amount")
    job = await run(runner, lambda ctx: prepare(ctx, ddf, spec, persist=True))
    assert job.status == "done", job.error
    prepared = job.result
    assert prepared.rows == 10_000_000 and prepared.persisted
    count_spec = ExploreSpec(spec.x, spec.y)
    counted = await run(runner, lambda ctx: render(
        ctx, _with_spec(prepared, count_spec), None, None, 400, 300))
    assert counted.status == "done", counted.error
    assert int(counted.result.image.sum()) == 10_000_000

    # Zoomed on Manhattan: fewer rows, a finer grid over the smaller box.
    zoom = ((-74.02, -73.93), (40.70, 40.80))
    job = await run(runner, lambda ctx: render(ctx, prepared, *zoom, 400, 300))
    assert job.status == "done", job.error
    raster = job.result
    assert raster.image.shape == (300, 400)
    longitudes = raster.image["pickup_longitude"]
    assert zoom[0][0] < float(longitudes.min()) < float(longitudes.max()) < zoom[0][1]
    assert 0 < raster.rows_in_view < 10_000_000
    fares = raster.image.values[np.isfinite(raster.image.values)]
    assert fares.size and 2.5 < np.median(fares) < 100


def _with_spec(prepared, spec):
    from dataclasses import replace
    return replace(prepared, spec=spec, hist_range=None)
