"""Time series (synthetic): ``dask.datasets.timeseries`` with its size options."""
from __future__ import annotations

import dask
import dask.dataframe as dd
import pandas as pd
import param

from .base import Dataset


class TimeseriesDataset(Dataset):
    """Dask's demo time series: one row per ``freq`` over ``days`` days."""

    kind = "timeseries"
    options = ("days", "freq", "seed")

    name = param.String(default="timeseries")
    groupby = param.List(default=['name'], item_type=str)
    values = param.List(default=['x'], item_type=str)
    description = param.String(default=(
        "dask.datasets.timeseries: random id/name/x/y rows at a fixed frequency."))
    synthetic = param.Boolean(default=True, constant=True)
    target = param.String(default="x", allow_None=True)
    groupby = param.List(default=["name"], item_type=str)
    days = param.Integer(default=30, bounds=(1, 3650), doc="Days of data, one partition each.")
    freq = param.Selector(default="1s", objects=["1s", "10s", "1min", "1h"],
                          doc="Time between rows.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Same options and seed, same data.")

    def to_dask(self) -> dd.DataFrame:
        start = pd.Timestamp("2000-01-01")
        return dask.datasets.timeseries(start=start, end=start + pd.Timedelta(days=self.days),
                                        freq=self.freq, partition_freq="1D", seed=self.seed)
