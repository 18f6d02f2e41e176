"""What runs on a worker to prepare a model search: its rows as arrays, checked and split.

The rows a search fits on are read, turned into arrays, checked, split into a
held-out share and folds on the worker that reads them, and kept there as one
task's result every fit refers to. The server only gets an overview (rows,
folds, the time of one probe fit). If a worker holding the plan dies, Dask
makes it again from the graph; no data was ever scattered from the server.

Self-contained (numpy, pandas, scikit-learn) and pickled by value like ``fits``,
so workers need not have this package. A refusal comes back as a sentence in
``SearchPlan.error``, not as an exception of a class the worker may not know.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import cloudpickle
import numpy as np
import pandas as pd
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils.multiclass import type_of_target

# Pickled by value in turn: its name is a global of the functions below.
from .fits import fit_and_score


class Refused(ValueError):
    """Data no estimator can fit as asked; the message is for the user."""


@dataclass
class SearchPlan:
    """A checked search's data: search rows, held-out rows and the folds, or why not."""

    X: np.ndarray | None = None
    y: np.ndarray | None = None
    folds: list = field(default_factory=list)
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    error: str = ""


@dataclass(frozen=True)
class Split:
    """How to split: what ``GridSearchCV`` and the spec's held-out share would do."""

    estimator: object  # a scikit-learn estimator (unfitted)
    name: str  # as the user knows it, for messages
    classifier: bool
    cv: int
    holdout: float = 0.0
    random_state: int = 0
    # Hyper-parameter -> its integer values that may not exceed a fold's training rows.
    fold_bounded: dict = field(default_factory=dict)

    def fields(self) -> dict:
        """As a task's argument: plain data. (Pickled, the class is named by its module,
        which workers need not have; the tasks rebuild it from these.)"""
        return dict(vars(self))


def arrays(frame: pd.DataFrame, target: str, features: Sequence[str],
           encode: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Feature matrix, target and feature names; refuses what no estimator can fit."""
    features = [f for f in features if f != target]
    X = frame[features]
    text = [c for c in features if not pd.api.types.is_numeric_dtype(X[c])]
    if text and not encode:
        raise Refused(
            f"Feature columns {_names(text)} are not numeric. Tick 'Encode categorical "
            "features' to one-hot encode them, or leave them out of the features.")
    if text:
        X = pd.get_dummies(X, columns=text, dummy_na=False, dtype=float)
    missing = X.isna().sum()
    missing = missing[missing > 0]
    if len(missing):
        counts = ", ".join(f"'{c}' ({n:,} rows)" for c, n in missing.items())
        raise Refused(f"Feature columns have missing values: {counts}. Tick 'Drop rows "
                      "with missing values', or leave the columns out of the features.")
    y = frame[target]
    if y.isna().any():
        raise Refused(f"The target '{target}' has {int(y.isna().sum()):,} missing values; "
                      "tick 'Drop rows with missing values' or choose another target.")
    if len(frame) < 2:
        raise Refused("The data has fewer than two rows; a search needs more.")
    return X.to_numpy(dtype=float), y.to_numpy(), list(X.columns)


def split(X: np.ndarray, y: np.ndarray, how: Split, feature_names=()) -> SearchPlan:
    """Check the data against the estimator; the folds ``GridSearchCV`` would make."""
    if how.classifier:
        _check_classes(y, how)
    elif not np.issubdtype(np.asarray(y).dtype, np.number):
        raise Refused(f"The target is not numeric; {how.name} is a regressor: "
                      "choose a classifier.")
    X_test = y_test = None
    if how.holdout:
        X, X_test, y, y_test = train_test_split(
            X, y, test_size=how.holdout, random_state=how.random_state,
            stratify=y if how.classifier else None)
    if how.classifier:
        _check_classes(y, how)
    elif how.cv > len(y):
        raise Refused(f"CV folds ({how.cv}) is more than the {len(y)} rows searched.")
    folds = list(check_cv(how.cv, y, classifier=how.classifier).split(X, y))
    fold_rows = min(len(train) for train, _ in folds)
    for name, values in how.fold_bounded.items():
        too_big = [v for v in values if isinstance(v, int) and v > fold_rows]
        if too_big:
            raise Refused(
                f"{name}={too_big[0]} is larger than the {fold_rows:,} rows a CV fold "
                f"trains on; use at most {fold_rows:,} (or fewer folds, or more data).")
    return SearchPlan(X, y, folds, X_test, y_test, list(feature_names))


def make_plan(frame: pd.DataFrame, target: str, features: Sequence[str], encode: bool,
              how: dict) -> SearchPlan:
    """The task a search's fits depend on: its arrays and folds, or why not (``how``:
    ``Split.fields()``)."""
    how = Split(**how)
    try:
        X, y, names = arrays(frame, target, features, encode)
        return split(X, y, how, names)
    except Refused as e:
        return SearchPlan(error=str(e))


def overview(plan: SearchPlan, how: dict, params: dict, scoring: str, probe_rows: int,
             cost_exponent: float) -> dict:
    """What the server needs of a plan: its error or its folds, and the seconds one fit
    takes (one fit of ``params`` on ``probe_rows`` of the first fold, none if 0, scaled
    to a fold). ``how``: ``Split.fields()``."""
    how = Split(**how)
    if plan.error:
        return {"error": plan.error}
    per_fit = 0.0
    if probe_rows > 0:
        train = plan.folds[0][0]
        sample = train[:: max(1, len(train) // probe_rows)]
        outcome = fit_and_score(how.estimator, params, plan.X, plan.y, [(sample, sample)], 0,
                                scoring)
        per_fit = (outcome["fit_time"] + outcome["score_time"]) * \
            (len(train) / len(sample)) ** cost_exponent
    return {"error": "", "folds": len(plan.folds), "seconds_per_fit": per_fit}


def fit_fold(plan: SearchPlan, estimator, params: dict, fold: int, scoring: str) -> dict:
    """One (candidate, fold) fit of the search, on the plan where it lies."""
    return fit_and_score(estimator, params, plan.X, plan.y, plan.folds, fold, scoring)


def refit(plan: SearchPlan, estimator, params: dict, scoring: str) -> dict:
    """The best candidate trained on every searched row, scored on the held-out rows."""
    return fit_and_score(estimator, params, plan.X, plan.y, None, None, scoring,
                         plan.X_test, plan.y_test)


def _check_classes(y: np.ndarray, how: Split) -> None:
    if type_of_target(y) == "continuous":
        raise Refused(f"The target looks continuous ({len(np.unique(y)):,} distinct "
                      f"numbers); {how.name} is a classifier: choose a regressor.")
    classes, counts = np.unique(y, return_counts=True)
    classes = classes.tolist()  # plain Python values read better than np.int64(1)
    if len(classes) < 2:
        raise Refused(f"The target has only one class ({classes[0]!r}); "
                      "a classifier needs at least two.")
    smallest = counts.argmin()
    if how.cv > counts[smallest]:
        raise Refused(
            f"CV folds ({how.cv}) is larger than the smallest class: {classes[smallest]!r} "
            f"has {counts[smallest]} rows. Use at most {counts[smallest]} folds.")


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


cloudpickle.register_pickle_by_value(sys.modules[__name__])
