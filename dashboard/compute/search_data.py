"""What a model search reads: the target and features, a sample of rows, rows without gaps.

The same choices make the code the tab shows (``search_code``), so a user who runs
that code reads the very rows the search did: the sample's fraction is rounded
to what the code prints, and its seed is fixed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import config
from .estimators import SearchError
from .groupby import is_number_dtype
from .search_plan import Refused, arrays

# The same dataset and sample size give the same rows, run after run.
SAMPLE_SEED = 0


def setting(key: str, default):
    """``workbench.search.<key>`` with the default it has when the YAML does not set it."""
    return config.get(f"search.{key}", default)


def default_features(dtypes: Mapping[str, str], target: str | None) -> list[str]:
    """The numeric columns but the target: text and dates need encoding to be features."""
    return [c for c, dtype in dtypes.items() if c != target and is_number_dtype(dtype)]


def text_features(dtypes: Mapping[str, str], features: Sequence[str]) -> list[str]:
    """The features ``prepare_data`` would one-hot encode, by the schema's dtype names."""
    def numeric(dtype: str) -> bool:
        try:
            return pd.api.types.is_numeric_dtype(pd.api.types.pandas_dtype(dtype))
        except TypeError:
            return False
    return [f for f in features if f in dtypes and not numeric(dtypes[f])]


def sample_fraction(rows: int | None, rows_estimate: int | None) -> float | None:
    """The share of rows to sample so that about ``rows`` are searched; None for all.

    Three significant digits: the fraction the code shows is the one used.
    """
    if not rows or rows_estimate is None or rows >= rows_estimate:
        return None
    return float(f"{rows / rows_estimate:.3g}")


def check_rows(rows: int | None, rows_estimate: int | None) -> None:
    """Refuse to load more rows into the server's memory than ``search.max-rows``."""
    max_rows = setting("max-rows", 1_000_000)
    if rows and rows > max_rows:
        raise SearchError(f"A search loads its rows into memory, up to {max_rows:,} "
                          f"(search.max-rows); {rows:,} rows to search is more. "
                          "Search fewer rows.")
    if not rows and rows_estimate is not None and rows_estimate > max_rows:
        raise SearchError(
            f"This dataset has about {rows_estimate:,} rows; a search loads its rows into "
            f"memory, up to {max_rows:,} (search.max-rows). Search a sample: set the rows "
            f"to search to at most {max_rows:,}.")


def training_frame(ddf, target: str | None, features: Sequence[str],
                   fraction: float | None = None, dropna: bool = False):
    """The lazy columns a search needs, sampled and without gaps on the cluster."""
    if not target:
        raise SearchError("Choose a target column.")
    if target not in ddf.columns:
        raise SearchError(f"The target column '{target}' is not in the dataset.")
    features = [f for f in features if f != target]
    if not features:
        raise SearchError("Choose at least one feature column (other than the target).")
    missing = [f for f in features if f not in ddf.columns]
    if missing:
        raise SearchError(f"Feature columns not in the dataset: {', '.join(missing)}.")
    frame = ddf[[*features, target]]
    if fraction is not None:
        frame = frame.sample(frac=fraction, random_state=SAMPLE_SEED)
    return frame.dropna() if dropna else frame


def prepare_data(frame: pd.DataFrame, target: str, features: Sequence[str],
                 encode: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Feature matrix, target and feature names, made here (the search makes them on a
    worker, ``search_plan``); refuses what no estimator can fit."""
    try:
        return arrays(frame, target, features, encode)
    except Refused as e:
        raise SearchError(str(e)) from None
