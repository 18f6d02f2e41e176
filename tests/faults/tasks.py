"""What the fault tests run on workers: standard library and pandas only.

Kept apart from the test modules: a worker unpickling a function imports its
module, and a test module imports Panel and the whole app (seconds per new worker).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd


def slow(frame: pd.DataFrame) -> pd.DataFrame:
    """A partition that takes 0.3 s: a job long enough for a kill to land mid-way."""
    time.sleep(0.3)
    return frame


def hang(frame: pd.DataFrame, partition_info=None) -> pd.DataFrame:
    """Every partition but the first (which the dataset's summary reads) never comes back
    within any test's patience."""
    if partition_info and partition_info["number"] > 0:
        time.sleep(600)
    return frame


def hog(frame: pd.DataFrame, nbytes: int, partition_info=None) -> pd.DataFrame:
    """Every partition but the first holds ``nbytes`` of memory while it runs."""
    if not partition_info or partition_info["number"] == 0:
        return frame
    block = np.ones(nbytes // 8)
    time.sleep(2)  # long enough for the nanny's memory check to see it
    return frame.assign(v=frame["v"] + block[:1].sum() - 1)
