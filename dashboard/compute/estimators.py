"""Estimators model search offers, their main hyper-parameters, and reading grid values.

The grid editor hands over structured values: a list for choices and booleans,
text for numbers. Text is read token by token (numbers with ``float()``, ranges
such as ``logspace(-3, 1, 5)`` by a regular expression), never evaluated. Every
value is then checked against the estimator's own ``_parameter_constraints``, so
the messages are scikit-learn's and stay right as scikit-learn changes.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC, SVR
from sklearn.utils._param_validation import Hidden, InvalidParameterError, StrOptions

from ..jobs import JobError
from .groupby import is_number_dtype

# A range may not expand past this: a typo like logspace(-3, 3, 50000) is refused.
MAX_RANGE = 1000

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_RANGE = re.compile(rf"^(logspace|linspace|range)\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*"
                    rf"(?:,\s*({_NUMBER})\s*)?\)$")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# Commas inside a range's parentheses do not separate values.
_TOKENS = re.compile(r"\w+\s*\([^)]*\)|[^,]+")
_CONSTANTS = {"None": None, "True": True, "False": False}


class SearchError(JobError):
    """The search cannot run as asked; the message is a sentence for the user."""


@dataclass(frozen=True)
class Hyper:
    """One hyper-parameter the grid editor lists.

    ``kind`` picks the editor: ``real``/``integer`` (text of numbers and ranges),
    ``mixed`` (text of numbers and words, like SVC's gamma), ``choice`` (the
    estimator's own string options) or ``boolean``.
    """

    name: str
    kind: str
    default: str | tuple = ""
    exclude: tuple[str, ...] = ()
    # Values above the rows a CV fold trains on fail every fit (n_neighbors).
    at_most_fold_rows: bool = False


@dataclass(frozen=True)
class EstimatorKind:
    """An estimator class, the fixed settings it starts from and its main hyper-parameters."""

    name: str
    cls: type
    task: str  # "classification" or "regression"
    hypers: tuple[Hyper, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    # How a fit's time grows with rows, for estimates: measured from 500 to 5,000 rows of
    # the seed's data, kernel SVMs grow as rows^1.5-1.8; the others no faster than rows.
    cost_exponent: float = 1.0

    def make(self) -> BaseEstimator:
        return self.cls(**self.fixed)

    def unsearched(self, name: str) -> Any:
        """The value every candidate has for ``name`` when the grid leaves it out:
        the fixed setting, else scikit-learn's default."""
        return self.make().get_params()[name]

    def hyper(self, name: str) -> Hyper:
        for hyper in self.hypers:
            if hyper.name == name:
                return hyper
        known = ", ".join(h.name for h in self.hypers)
        raise SearchError(f"{self.name} has no grid parameter '{name}' (it has {known}).")

    def choices(self, name: str) -> list:
        """The values a choice or boolean parameter may take, from sklearn's constraints."""
        hyper = self.hyper(name)
        if hyper.kind == "boolean":
            return [True, False]
        options: set[str] = set()
        for constraint in self.cls._parameter_constraints.get(name, []):
            if isinstance(constraint, StrOptions) and not isinstance(constraint, Hidden):
                options |= constraint.options - constraint.deprecated
        return sorted(options - set(hyper.exclude))

    def code(self) -> str:
        """The estimator as constructed for every candidate, fixed settings included."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.fixed.items())
        return f"{self.name}({args})"


_FOREST = (Hyper("n_estimators", "integer", "50, 100"), Hyper("max_depth", "integer", "None, 8"),
           Hyper("min_samples_leaf", "integer"), Hyper("max_features", "mixed"))
_BOOSTING = (Hyper("n_estimators", "integer", "50, 100"), Hyper("learning_rate", "real", "0.05, 0.2"),
             Hyper("max_depth", "integer", "3"), Hyper("subsample", "real"))
_NEIGHBORS = (Hyper("n_neighbors", "integer", "5, 15, 45", at_most_fold_rows=True),
              Hyper("weights", "choice", ("uniform", "distance")), Hyper("p", "real"))

ESTIMATORS: dict[str, EstimatorKind] = {kind.name: kind for kind in (
    # The seed's estimator and settings: the default grid is the seed's small grid.
    EstimatorKind("SVC", SVC, "classification", (
        Hyper("C", "real", "0.001, 10.0"), Hyper("kernel", "choice", ("rbf", "poly"),
                                                  exclude=("precomputed",)),
        Hyper("shrinking", "boolean"), Hyper("gamma", "mixed"), Hyper("degree", "integer"),
    ), fixed={"gamma": "auto", "probability": True, "random_state": 0}, cost_exponent=1.6),
    EstimatorKind("LogisticRegression", LogisticRegression, "classification", (
        Hyper("C", "real", "logspace(-3, 2, 6)"), Hyper("l1_ratio", "real"),
        Hyper("solver", "choice"), Hyper("class_weight", "choice"),
    ), fixed={"max_iter": 1000}),
    EstimatorKind("RandomForestClassifier", RandomForestClassifier, "classification",
                  (*_FOREST, Hyper("criterion", "choice")), fixed={"random_state": 0}),
    EstimatorKind("GradientBoostingClassifier", GradientBoostingClassifier, "classification",
                  _BOOSTING, fixed={"random_state": 0}),
    EstimatorKind("KNeighborsClassifier", KNeighborsClassifier, "classification", _NEIGHBORS),
    EstimatorKind("SVR", SVR, "regression", (
        Hyper("C", "real", "0.1, 1, 10"), Hyper("kernel", "choice", ("rbf",),
                                                 exclude=("precomputed",)),
        Hyper("epsilon", "real"), Hyper("gamma", "mixed"),
    ), cost_exponent=1.6),
    EstimatorKind("Ridge", Ridge, "regression", (
        Hyper("alpha", "real", "logspace(-3, 3, 7)"), Hyper("fit_intercept", "boolean"),
        Hyper("solver", "choice"),
    )),
    EstimatorKind("RandomForestRegressor", RandomForestRegressor, "regression", _FOREST,
                  fixed={"random_state": 0}),
    EstimatorKind("GradientBoostingRegressor", GradientBoostingRegressor, "regression",
                  _BOOSTING, fixed={"random_state": 0}),
    EstimatorKind("KNeighborsRegressor", KNeighborsRegressor, "regression", _NEIGHBORS),
)}

CLASSIFIERS = [name for name, kind in ESTIMATORS.items() if kind.task == "classification"]
REGRESSORS = [name for name, kind in ESTIMATORS.items() if kind.task == "regression"]
# What a fresh search uses. A forest for classes: no scale troubles it, where the seed
# grid's poly SVC never converges on raw columns (C=10, degree 3, values up to 16).
# Ridge for numbers: it fits a sample of any dataset in a blink, where SVR on raw
# columns (minutes since midnight, miles) can take minutes. The seed's data, on a
# unit scale, gets the seed's SVC (see the Model search tab).
DEFAULT_ESTIMATOR = {"classification": "RandomForestClassifier", "regression": "Ridge"}


def target_task(dtype: str, sample: Sequence = ()) -> str:
    """What a target column asks for, from its dtype and a few of its values.

    Text, categories and booleans are classes; floats are measurements. Integers
    are classes when the sample repeats a value (codes such as 0/1, a few labels),
    else counts or measurements (flight numbers, distances).
    """
    if not is_number_dtype(dtype):
        return "classification"
    if pd.api.types.is_integer_dtype(pd.api.types.pandas_dtype(dtype)):
        values = [v for v in sample if not pd.isna(v)]
        if values and len(set(values)) < len(values):
            return "classification"
    return "regression"


def default_estimator(dtype: str, sample: Sequence = ()) -> str:
    """The estimator a fresh search uses for a target of ``dtype`` whose first values
    are ``sample``."""
    return DEFAULT_ESTIMATOR[target_task(dtype, sample)]


def estimator_kind(name: str) -> EstimatorKind:
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise SearchError(f"Unknown estimator '{name}'; choose one of "
                          f"{', '.join(ESTIMATORS)}.") from None


def _number(text: str, hyper: Hyper) -> float | int:
    value = float(text)
    if hyper.kind == "integer" and value.is_integer():
        return int(value)
    if hyper.kind == "real" or not re.fullmatch(r"[+-]?\d+", text):
        return value
    return int(value)


def _expand_range(match: re.Match, hyper: Hyper) -> list:
    func, a, b, n = match.groups()
    if func == "range":
        start, stop, step = float(a), float(b), float(n) if n else 1.0
        if not all(x.is_integer() for x in (start, stop, step)) or step == 0:
            raise SearchError(f"{hyper.name}: range() takes whole numbers and a non-zero "
                              f"step, as in range(1, 10, 2); got '{match.group(0)}'.")
        values = range(int(start), int(stop), int(step))  # sized before it is listed
        count = len(values)
    else:
        if n is None or not float(n).is_integer() or float(n) < 1:
            raise SearchError(f"{hyper.name}: {func}(start, stop, count) needs a whole "
                              f"count of values, as in {func}(-3, 1, 5); got '{match.group(0)}'.")
        count = int(float(n))
    # Counted first: range(0, 10**12) or linspace(0, 1, 1e12) must not be built to be refused.
    if count > MAX_RANGE:
        raise SearchError(f"{hyper.name}: '{match.group(0)}' gives {count:,} values; "
                          f"a range may give at most {MAX_RANGE}.")
    values = list(values) if func == "range" else \
        getattr(np, func)(float(a), float(b), count).tolist()
    if hyper.kind == "integer":
        # logspace(1, 3, 5) for n_estimators: whole numbers, each once.
        values = list(dict.fromkeys(int(round(v)) for v in values))
    elif hyper.kind == "real":
        values = [float(v) for v in values]
    return values


def parse_entry(hyper: Hyper, entry: str | Sequence) -> list:
    """The values one grid entry stands for: a list as given, or text read token by token."""
    if not isinstance(entry, str):
        return [_CONSTANTS.get(v, v) if isinstance(v, str) else v for v in entry]
    values: list = []
    for token in (t.strip() for t in _TOKENS.findall(entry)):
        if not token:
            continue
        if token in _CONSTANTS:
            values.append(_CONSTANTS[token])
        elif re.fullmatch(_NUMBER, token):
            values.append(_number(token, hyper))
        elif (match := _RANGE.match(token)) is not None:
            values.extend(_expand_range(match, hyper))
        elif _WORD.match(token) and hyper.kind not in ("real", "integer"):
            values.append(token)
        else:
            raise SearchError(
                f"{hyper.name}: cannot read '{token}'. Enter numbers separated by commas, "
                "None, True/False, or a range such as logspace(-3, 1, 5), linspace(0, 1, 5) "
                "or range(1, 10, 2).")
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        raise SearchError(f"{hyper.name}: values must be finite numbers.")
    return list(dict.fromkeys(values)) if all(_hashable(v) for v in values) else values


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def parse_grid(estimator: str, entries: Mapping[str, str | Sequence]) -> dict[str, list]:
    """The grid from the editor's entries; parameters left empty are not searched."""
    kind = estimator_kind(estimator)
    grid = {}
    for name, entry in entries.items():
        values = parse_entry(kind.hyper(name), entry)
        if values:
            grid[name] = values
    return grid


def check_grid(estimator: str, grid: Mapping[str, Sequence]) -> None:
    """Every value against the estimator's own constraints; an empty grid is refused."""
    kind = estimator_kind(estimator)
    if not any(len(values) for values in grid.values()):
        raise SearchError("The grid is empty: enter at least one value for one parameter "
                          f"of {kind.name}.")
    for name, values in grid.items():
        kind.hyper(name)
        for value in values:
            candidate = kind.make().set_params(**{name: value})
            try:
                candidate._validate_params()
            except InvalidParameterError as e:
                raise SearchError(f"{kind.name} cannot take {name}={value!r}: {e}") from None
