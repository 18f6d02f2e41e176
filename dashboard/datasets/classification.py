"""Classification (synthetic): ``sklearn.datasets.make_classification`` for model search."""
from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import param
from dask.utils import format_bytes
from sklearn.datasets import make_classification

from .. import config
from .base import Dataset, DatasetError


def classification_arrays(n_samples=10_000, n_features=4, n_informative=2, n_redundant=2,
                          n_classes=2, random_state=0) -> tuple[np.ndarray, np.ndarray]:
    """Exactly sklearn's ``make_classification`` arrays; bad combinations as DatasetError."""
    try:
        return make_classification(n_samples=n_samples, n_features=n_features,
                                   n_informative=n_informative, n_redundant=n_redundant,
                                   n_classes=n_classes, random_state=random_state)
    except ValueError as e:
        raise DatasetError(f"These classification settings do not work together: {e}") from e


class ClassificationDataset(Dataset):
    """The seed's ``make_classification(n_samples=10000, n_features=4, random_state=0)``."""

    kind = "classification"
    options = ("n_samples", "n_features", "n_informative", "n_redundant", "n_classes",
               "random_state")

    name = param.String(default="classification")
    description = param.String(default=(
        "scikit-learn's make_classification; features f0.. and target y."))
    synthetic = param.Boolean(default=True, constant=True)
    target = param.String(default="y", allow_None=True)
    n_samples = param.Integer(default=10_000, bounds=(10, 10_000_000), doc="Rows.")
    n_features = param.Integer(default=4, bounds=(2, 1000), doc="Feature columns.")
    n_informative = param.Integer(default=2, bounds=(1, 1000), doc="Informative features.")
    n_redundant = param.Integer(default=2, bounds=(0, 1000), doc="Redundant features.")
    n_classes = param.Integer(default=2, bounds=(2, 100), doc="Classes of the target.")
    random_state = param.Integer(default=0, bounds=(0, None), doc="Seed.")
    npartitions = param.Integer(default=4, bounds=(1, 1000), doc="Partitions of the frame.")

    def _settings(self) -> tuple:
        return (self.n_features, self.n_informative, self.n_redundant, self.n_classes,
                self.random_state)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return classification_arrays(self.n_samples, *self._settings())

    def row_count(self) -> int:
        return self.n_samples

    def to_dask(self) -> dd.DataFrame:
        """Generated on a worker, never in this process (2M rows x 50 features is 800 MB).

        sklearn makes the rows in one call (that is what reproduces the seed), so one
        task makes them all, and the partitions are slices of it. Settings that do
        not work together are told here, from a small sample, before any task runs.
        """
        self._check_size()
        classification_arrays(min(self.n_samples, 100), *self._settings())
        meta = _frame(np.empty((0, self.n_features)), np.empty(0, dtype=int))
        whole = dask.delayed(_generate, pure=True)(self.n_samples, *self._settings())
        ddf = dd.from_delayed([whole], meta=meta, divisions=(0, self.n_samples - 1))
        # Even slices by row number (never more than rows: dask's own split fails then).
        parts = max(1, min(self.npartitions, self.n_samples - 1))
        bounds = np.linspace(0, self.n_samples - 1, parts + 1).astype(int)
        return ddf.repartition(divisions=sorted(set(bounds.tolist())))


    def _check_size(self) -> None:
        """Refuse (DatasetError) a table bigger than one worker may be asked to make."""
        size = self.n_samples * (self.n_features + 1) * 8
        cap = config.get("datasets.classification-max-bytes")
        if cap is None or size > cap:  # an unreadable setting refuses too
            raise DatasetError(
                f"This classification table would be {format_bytes(size)} in memory "
                f"({self.n_samples:,} rows × {self.n_features + 1} columns), more than "
                f"one worker may be asked to make here ({format_bytes(cap or 0)}, "
                "workbench.datasets.classification-max-bytes). Ask for fewer rows or "
                "features.")


def _frame(X: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    # The features' array as the frame's block, not a copy: a worker holds it once.
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])], copy=False)
    frame["y"] = y
    return frame


def _generate(n_samples: int, *settings) -> pd.DataFrame:
    return _frame(*classification_arrays(n_samples, *settings))
