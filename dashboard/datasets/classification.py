"""Classification (synthetic): ``sklearn.datasets.make_classification`` for model search."""
from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import param
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

    def row_count(self) -> int:
        return self.n_samples

    def to_dask(self) -> dd.DataFrame:
        X, y = self.arrays()
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(y=y)
        return dd.from_pandas(frame, npartitions=self.npartitions)
