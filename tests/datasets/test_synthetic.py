"""Synthetic datasets: deterministic, lazy, plausible."""
from __future__ import annotations

import tracemalloc

import dask
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from dashboard.datasets import DatasetError
from dashboard.datasets.classification import ClassificationDataset
from dashboard.datasets.taxi import TaxiDataset, taxi_frame
from dashboard.datasets.timeseries import TimeseriesDataset


def refuse_to_compute(*args, **kwargs):
    raise AssertionError("building the frame must not compute anything")


def test_taxi_is_deterministic_and_exact_in_size():
    a = taxi_frame(250_000, seed=1, partition_rows=100_000)
    b = taxi_frame(250_000, seed=1, partition_rows=100_000)
    assert a.npartitions == 3 and len(a) == 250_000
    for i in range(3):
        pd.testing.assert_frame_equal(a.partitions[i].compute(), b.partitions[i].compute())
    other = taxi_frame(250_000, seed=2, partition_rows=100_000).partitions[0].compute()
    assert not other.equals(a.partitions[0].compute())
    # A partition made alone equals the same partition of the whole frame.
    pd.testing.assert_frame_equal(a.partitions[1].compute(),
                                  a.compute().iloc[100_000:200_000].reset_index(drop=True),
                                  check_index_type=False)


def test_a_billion_trips_build_lazily():
    tracemalloc.start()
    with dask.config.set(scheduler=refuse_to_compute):
        ddf = TaxiDataset(rows=1_000_000_000).to_dask()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert ddf.npartitions == 1000
    assert peak < 50 * 2**20
    assert "tip_amount" in ddf.columns


def test_timeseries_size_follows_its_options():
    assert TimeseriesDataset(days=3).to_dask().npartitions == 3
    hourly = TimeseriesDataset(days=2, freq="1h").to_dask()
    assert len(hourly) == 48


def test_classification_reproduces_the_seed():
    X, y = make_classification(n_samples=10000, n_features=4, random_state=0)
    frame = ClassificationDataset().to_dask().compute()
    np.testing.assert_array_equal(frame[["f0", "f1", "f2", "f3"]].to_numpy(), X)
    np.testing.assert_array_equal(frame["y"].to_numpy(), y)


def test_classification_bad_settings_say_why():
    with pytest.raises(DatasetError, match="do not work together"):
        ClassificationDataset(n_features=3, n_informative=2, n_redundant=2).to_dask()


def test_classification_larger_than_its_cap_is_refused_with_its_size():
    # Made in one piece on one worker: 10M rows x 1000 features would be 80 GB there.
    with pytest.raises(DatasetError, match=r"would be 74\.\d+ GiB in memory \(10,000,000 rows "
                                           r"× 1001 columns\).*classification-max-bytes"):
        ClassificationDataset(n_samples=10_000_000, n_features=1000).to_dask()
    with dask.config.set({"workbench.datasets.classification-max-bytes": 10_000 * 5 * 8}):
        assert ClassificationDataset().to_dask().npartitions == 4  # the seed fits exactly
        with pytest.raises(DatasetError, match="fewer rows or features"):
            ClassificationDataset(n_samples=10_001).to_dask()
