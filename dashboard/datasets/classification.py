"""Classification (synthetic): ``sklearn.datasets.make_classification`` for model search."""
from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import param
from dask import delayed
from sklearn.datasets import make_classification

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


def classification_frame(n_samples, *settings) -> pd.DataFrame:
    """The arrays as a frame, columns f0.. and y (runs on a worker)."""
    X, y = classification_arrays(n_samples, *settings)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(y=y)


def _rows(frame: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
    return frame.iloc[start:stop]


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

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return classification_arrays(self.n_samples, self.n_features, self.n_informative,
                                     self.n_redundant, self.n_classes, self.random_state)

    def to_dask(self) -> dd.DataFrame:
        """Generated on the workers: one task makes sklearn's exact arrays (a single
        ``make_classification`` call, so rows equal the seed's), the partitions slice it.
        The server only checks the settings, on a few rows."""
        settings = (self.n_features, self.n_informative, self.n_redundant, self.n_classes,
                    self.random_state)
        classification_arrays(max(10, 2 * self.n_classes), *settings)  # bad ones: a sentence
        columns = [f"f{i}" for i in range(self.n_features)]
        meta = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).assign(
            y=pd.Series(dtype="int64"))
        whole = delayed(classification_frame, pure=True)(self.n_samples, *settings)
        bounds = np.linspace(0, self.n_samples, self.npartitions + 1).astype(int)
        parts = [delayed(_rows, pure=True)(whole, int(a), int(b))
                 for a, b in zip(bounds[:-1], bounds[1:])]
        return dd.from_delayed(parts, meta=meta, divisions=[*bounds[:-1].tolist(),
                                                            int(bounds[-1]) - 1])
