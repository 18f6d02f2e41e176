"""Model search: a hyper-parameter grid cross-validated fit by fit, as plain pieces.

``SearchSpec`` says what to search; ``lazy_plan`` is the search's rows, held-out
split and folds as one lazy task (a refusal is its ``error``); the fits are
``search_plan.fit_fold`` on that plan, one task per (candidate, fold), run by
the tab's job (``work.search``). Folds come from ``check_cv`` exactly as
``GridSearchCV`` makes them (stratified for classifiers) and results are
assembled the way ``cv_results_`` is, so scores and the best candidate equal
scikit-learn's. Not the joblib Dask backend nor dask-ml: the first hides the
futures inside ``GridSearchCV.fit`` (no per-fit results until the end, no clean
cancel), the second is not installed and shares work only for pipelines.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dask
import numpy as np
from dask.delayed import Delayed
from sklearn.base import is_classifier
from sklearn.model_selection import GridSearchCV, ParameterGrid

from .by_value import ByValue
from .duration import duration
from .estimators import SearchError, check_grid, estimator_kind
from .search_code import grid_search_code
from .search_data import setting, training_frame
from .search_plan import Refused, SearchPlan, Split, make_plan, split
from .search_results import LocalRun

_MAKE_PLAN = ByValue(make_plan)  # its code pickled once per process

SEED_SMALL_GRID = {"C": [0.001, 10.0], "kernel": ["rbf", "poly"]}
SEED_LARGE_GRID = {"C": [0.001, 0.1, 1.0, 2.5, 5.0, 10.0], "kernel": ["rbf", "poly", "linear"],
                   "shrinking": [True, False]}
SCORINGS = {
    "classification": ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc_ovr", "neg_log_loss"],
    "regression": ["r2", "neg_mean_squared_error", "neg_mean_absolute_error"],
}


@dataclass(frozen=True)
class SearchSpec:
    """What to search: the estimator, its grid, the folds, the score, the held-out share."""

    estimator: str = "SVC"
    grid: Mapping[str, Sequence] = field(default_factory=lambda: dict(SEED_SMALL_GRID))
    cv: int = 2
    scoring: str | None = None  # None: the estimator's own score (accuracy, R²)
    holdout: float = 0.0  # share of rows kept out of the search to score the refit
    random_state: int = 0

    @property
    def scorer_name(self) -> str:
        return self.scoring or ("accuracy" if self.kind.task == "classification" else "r2")

    @property
    def kind(self):
        return estimator_kind(self.estimator)

    def candidates(self) -> list[dict]:
        """In ``GridSearchCV``'s order (``ParameterGrid``)."""
        return list(ParameterGrid({k: list(v) for k, v in self.grid.items() if len(v)}))

    def n_candidates(self) -> int:
        """How many candidates the grid makes, without listing them."""
        return math.prod(len(v) for v in self.grid.values() if len(v))

    def check(self) -> None:
        """Everything that can be checked without the data."""
        kind = self.kind
        check_grid(self.estimator, self.grid)
        # Above this even listing the candidates (and asking about them) ties up the server.
        limit = setting("max-candidates", 100_000)
        if self.n_candidates() > limit:
            sizes = " × ".join(f"{len(v)} {k}" for k, v in self.grid.items() if len(v))
            raise SearchError(f"This grid makes {self.n_candidates():,} candidates ({sizes}); "
                              f"at most {limit:,} can be searched here. Give fewer values.")
        if not 2 <= int(self.cv) <= 100:
            raise SearchError(f"CV folds must be between 2 and 100; got {self.cv}.")
        if self.scoring is not None and self.scoring not in SCORINGS[kind.task]:
            raise SearchError(f"Scoring '{self.scoring}' does not fit a {kind.task} estimator; "
                              f"use one of {', '.join(SCORINGS[kind.task])}.")
        if not 0 <= self.holdout <= 0.5:
            raise SearchError(f"The held-out share must be between 0 and 0.5; got {self.holdout}.")

    def code(self) -> str:
        """The search as one scikit-learn call (``search_code`` writes all of it)."""
        return grid_search_code(self)


def split_for(spec: SearchSpec) -> Split:
    """How ``spec`` splits the rows: what a worker needs to make the plan."""
    kind = spec.kind
    return Split(estimator=kind.make(), name=spec.estimator,
                 classifier=is_classifier(kind.make()), cv=int(spec.cv), holdout=spec.holdout,
                 random_state=spec.random_state,
                 fold_bounded={name: list(values) for name, values in spec.grid.items()
                               if kind.hyper(name).at_most_fold_rows})


def plan_search(spec: SearchSpec, X: np.ndarray, y: np.ndarray,
                feature_names: Sequence[str] = ()) -> SearchPlan:
    """The plan made here from arrays at hand (the reference in tests, Compare with local)."""
    spec.check()
    try:
        return split(X, y, split_for(spec), feature_names)
    except Refused as e:
        raise SearchError(str(e)) from None


def lazy_plan(ddf, target: str | None, features: Sequence[str], spec: SearchSpec, *,
              fraction: float | None = None, dropna: bool = False, encode: bool = False,
              key: str | None = None) -> Delayed:
    """The search's plan as one lazy task, made on the worker that reads its rows.

    Computed (or persisted), it stays on the cluster: every fit refers to it, and
    a worker that dies with it is followed by Dask making it again. A refusal is
    the plan's ``error``. ``plan.compute()`` brings it to a notebook.
    """
    frame = training_frame(ddf, target, features, fraction, dropna)
    return dask.delayed(_MAKE_PLAN, pure=True)(
        frame, target, [f for f in features if f != target], encode,
        split_for(spec).fields(),
        dask_key_name=key)


def confirmation_question(n_candidates: int, n_folds: int, seconds: float,
                          threads: int) -> str | None:
    """A question to ask before dispatching a search this large, else None."""
    n_fits = n_candidates * n_folds
    if n_fits <= setting("confirm-fits", 1000) and seconds <= setting("confirm-seconds", 1800):
        return None
    return (f"{n_candidates:,} candidates × {n_folds} folds = {n_fits:,} fits, roughly "
            f"{duration(seconds)} on {threads} worker threads. Run it anyway?")


class NeedsConfirmation(SearchError):
    """The search is large enough to ask first; the message is the question."""


def run_local(spec: SearchSpec, plan: SearchPlan, n_jobs: int = -1) -> LocalRun:
    """The same grid and folds with scikit-learn's own ``GridSearchCV`` in this process."""
    search = GridSearchCV(spec.kind.make(), {k: list(v) for k, v in spec.grid.items()},
                          cv=plan.folds, scoring=spec.scorer_name, n_jobs=n_jobs, refit=False)
    start = time.perf_counter()
    search.fit(plan.X, plan.y)
    wall = time.perf_counter() - start
    return LocalRun(wall_time=wall, n_jobs=n_jobs, best_params=search.best_params_,
                    best_score=float(search.best_score_))
