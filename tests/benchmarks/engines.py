"""Figure 2, group-by engine: the Group-by tab on synthetic-taxi Parquet files vs DuckDB,
Polars and pandas reading the same files (and raw Dask, for context).

The files are written once from ``taxi_frame`` (the synthetic taxi dataset) into the
data folder (``data/bench-taxi-<rows>.parquet``, git-ignored) and reused. The app reads
them as a catalog dataset would. DuckDB is the anchor. One more Run, with the tab's
own "Performance report" on and distributed's task stream, says where the cluster's
time went; the report is saved beside the table.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import dask.dataframe as dd
import duckdb
import pandas as pd
import polars as pl
from distributed import Client, get_task_stream

from dashboard import config
from dashboard.datasets import CatalogDataset
from dashboard.datasets.flights import _write_atomically
from dashboard.datasets.taxi import taxi_frame
from tests.conftest import ARTIFACTS
from tests.views.test_dataset_picker import settled
from tests.views.test_groupby import use

from .harness import Bench, Row, alternate, breakdown, in_thread, median, run_button, spread

KEY, VALUE = "passenger_count", "tip_amount"


def parquet_path(rows: int) -> Path:
    return config.data_dir() / f"bench-taxi-{rows}.parquet"


def write_parquet(client: Client, rows: int, partition_rows: int) -> Path:
    """The synthetic taxi rows as Parquet (one file per partition), written once."""
    path = parquet_path(rows)
    if not path.is_dir():
        # The frame's meta says datetime64[s] where partitions hold [ns] (taxi_partition
        # of 0 rows): state the real unit, or to_parquet refuses the partitions' schema.
        frame = taxi_frame(rows, seed=0, partition_rows=partition_rows).astype(
            {c: "datetime64[ns]" for c in ("tpep_pickup_datetime", "tpep_dropoff_datetime")})
        _write_atomically(path, lambda tmp: frame.to_parquet(
            str(tmp), write_index=False, compute_kwargs={"scheduler": client}))
    return path


def duckdb_query(path: Path) -> pd.Series:
    with duckdb.connect() as con:
        frame = con.execute(f"SELECT {KEY}, avg({VALUE}) AS {VALUE} FROM "
                            f"read_parquet('{path}/*.parquet') GROUP BY {KEY}").df()
    return frame.set_index(KEY)[VALUE]


def polars_query(path: Path) -> pd.Series:
    frame = (pl.scan_parquet(f"{path}/*.parquet").group_by(KEY)
             .agg(pl.col(VALUE).mean()).collect())
    return frame.to_pandas().set_index(KEY)[VALUE]


def pandas_query(path: Path) -> pd.Series:
    return pd.read_parquet(path, columns=[KEY, VALUE]).groupby(KEY)[VALUE].mean()


def same(a: pd.Series, b: pd.Series) -> bool:
    a, b = a.sort_index(), b.sort_index()
    return list(a.index) == list(b.index) and bool(((a - b).abs() < 1e-9).all())


async def run(bench: Bench) -> list[Row | str]:
    size = bench.size
    client = await asyncio.to_thread(Client, bench.manager.scheduler_address,
                                     set_as_default=False)
    try:
        path = await asyncio.to_thread(write_parquet, client, size.engine_rows,
                                       size.engine_partition_rows)
        view = await bench.groupby_tab()
        use(view, CatalogDataset(name="bench-taxi", path=str(path), format="parquet",
                                 groupby=[KEY], values=[VALUE]))
        await settled(view.store)
        raw = dd.read_parquet(path, columns=[KEY, VALUE]).groupby(KEY)[VALUE].mean()
        times = await alternate(size.runs, {
            "app": lambda: run_button(view),
            "duckdb": in_thread(duckdb_query, path),
            "polars": in_thread(polars_query, path),
            "pandas": in_thread(pandas_query, path),
            "dask": in_thread(raw.compute, scheduler=client),
        })
        app_result = view.job.result[VALUE]
        results = await asyncio.to_thread(lambda: {
            "duckdb": duckdb_query(path), "polars": polars_query(path),
            "pandas": pandas_query(path), "dask": raw.compute(scheduler=client)})
        # One more Run to see inside: the tab's performance report and the task stream.
        view.report = True
        async with get_task_stream(bench.manager.client) as stream:
            job = await run_button(view)
        view.report = False
    finally:
        await asyncio.to_thread(client.close)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = ARTIFACTS / "benchmarks-groupby-report.html"
    report.write_text(job.report or "")
    anchor = median(times["duckdb"])
    rows_text = f"{size.engine_rows:,}-row taxi Parquet, {len(list(path.glob('*.parquet')))} files"
    correct = {name: same(app_result if name == "app" else results[name], results["duckdb"])
               for name in ("app", "polars", "pandas", "dask")}
    app = median(times["app"])
    profile = breakdown(stream.data, job.elapsed, bench.threads)
    out: list[Row | str] = [Row(
        "2", f"Group-by engine: the app's Run (`{view.job.title}`) on {rows_text}",
        app, "s", "DuckDB, same files", anchor, goal="≤ 2× DuckDB", met=app <= 2 * anchor
        and correct["app"],
        note=f"{spread(times['app'])}; DuckDB {spread(times['duckdb'])}; same result as DuckDB: "
             f"{'yes' if correct['app'] else 'NO'}; one profiled Run: {profile}",
        cause=f"In one profiled Run: {profile}. py-spy of a worker over 20 s of repeated "
              "raw Dask group-bys of this query (5M rows, 2 cores, a loaded machine): of the "
              "samples in task threads, 44% are pandas factorising and sorting the int8 key "
              "in each partition's group-by, 11% its aggregation kernels, 17% concatenating "
              "frames, 16% reading Parquet and 5% Arrow→pandas; DuckDB streams the same row "
              "groups through one vectorised hash aggregate. In one process on the same "
              "5M rows (best of 3), pandas' group-by takes 0.40 s, 0.21 s with `sort=False`, "
              "pyarrow's `Table.group_by` 0.10 s. What would close it: an Arrow-native chunk "
              "step (pyarrow `group_by` on each partition's table, combined in pandas), or at "
              "least `sort=False` in the chunk step with the sort done once on the small "
              "result, and fewer, larger partitions.")]
    for figure, name, label in (("2b", "polars", "Polars"), ("2c", "pandas", "pandas (one process)"),
                                ("2d", "dask", "raw Dask (`dd.read_parquet(...).groupby().mean()`)")):
        out.append(Row(figure, f"Group-by engine: {label}, same files", median(times[name]), "s",
                       "DuckDB", anchor, note=f"{spread(times[name])}; same result as DuckDB: "
                       f"{'yes' if correct[name] else 'NO'}"))
    out.append(f"- Figure 2: the Dask performance report of the profiled Run is "
               f"`{report.relative_to(ARTIFACTS.parents[1])}`.")
    return out
