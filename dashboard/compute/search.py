"""Model search: a hyper-parameter grid cross-validated on the cluster, fit by fit.

How the work is split: one future per (candidate, fold), not the joblib Dask
backend nor dask-ml. The training data, the held-out split and the fold indices
are scattered once under keys named after the run; every fit task refers to
them. ``distributed.as_completed`` hands back each fit as it finishes, so the
table, the heatmap and the progress fill in live; Cancel is ``client.cancel`` on
the futures (queued fits never start); a fit that raises comes back as its
message and fails only its candidate. The joblib backend hides the futures
inside ``GridSearchCV.fit`` (no per-fit results until the end, no clean cancel)
and dask-ml is not installed and shares work only for pipelines. Folds come
from ``check_cv`` exactly as ``GridSearchCV`` makes them (stratified for
classifiers) and results are assembled the way ``cv_results_`` is, so scores
and the best candidate equal scikit-learn's.
"""
from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from distributed import as_completed
from distributed.client import FutureCancelledError
from sklearn.base import is_classifier
from sklearn.model_selection import GridSearchCV, ParameterGrid, check_cv, train_test_split
from sklearn.utils.multiclass import type_of_target

from ..jobs import JobContext
from .duration import duration
from .estimators import SearchError, check_grid, estimator_kind
from .fits import fit_and_score
from .search_code import grid_search_code
# prepare_data is imported from here by the benchmarks, as before the split.
from .search_data import (check_rows, prepare_data, sample_fraction, setting,  # noqa: F401
                          training_frame)
from .search_results import LocalRun, SearchResults

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


@dataclass
class SearchPlan:
    """A checked search: the data split into search rows, held-out rows and folds."""

    spec: SearchSpec
    X: np.ndarray
    y: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)

    @property
    def candidates(self) -> list[dict]:
        return self.spec.candidates()

    @property
    def n_fits(self) -> int:
        return len(self.candidates) * len(self.folds)


def plan_search(spec: SearchSpec, X: np.ndarray, y: np.ndarray,
                feature_names: Sequence[str] = ()) -> SearchPlan:
    """Check the spec against the data and make the folds ``GridSearchCV`` would make."""
    spec.check()
    kind = spec.kind
    classifier = is_classifier(kind.make())
    if classifier:
        _check_classes(y, spec)
    elif not np.issubdtype(np.asarray(y).dtype, np.number):
        raise SearchError(f"The target is not numeric; {spec.estimator} is a regressor: "
                          "choose a classifier.")
    X_test = y_test = None
    if spec.holdout:
        X, X_test, y, y_test = train_test_split(
            X, y, test_size=spec.holdout, random_state=spec.random_state,
            stratify=y if classifier else None)
    if classifier:
        _check_classes(y, spec)
    elif spec.cv > len(y):
        raise SearchError(f"CV folds ({spec.cv}) is more than the {len(y)} rows searched.")
    folds = list(check_cv(spec.cv, y, classifier=classifier).split(X, y))
    fold_rows = min(len(train) for train, _ in folds)
    for name, values in spec.grid.items():
        if kind.hyper(name).at_most_fold_rows:
            too_big = [v for v in values if isinstance(v, int) and v > fold_rows]
            if too_big:
                raise SearchError(
                    f"{name}={too_big[0]} is larger than the {fold_rows:,} rows a CV fold "
                    f"trains on; use at most {fold_rows:,} (or fewer folds, or more data).")
    return SearchPlan(spec, X, y, folds, X_test, y_test, list(feature_names))


def _check_classes(y: np.ndarray, spec: SearchSpec) -> None:
    target_type = type_of_target(y)
    if target_type == "continuous":
        raise SearchError(f"The target looks continuous ({len(np.unique(y)):,} distinct "
                          f"numbers); {spec.estimator} is a classifier: choose a regressor.")
    classes, counts = np.unique(y, return_counts=True)
    classes = classes.tolist()  # plain Python values read better than np.int64(1)
    if len(classes) < 2:
        raise SearchError(f"The target has only one class ({classes[0]!r}); "
                          "a classifier needs at least two.")
    smallest = counts.argmin()
    if spec.cv > counts[smallest]:
        raise SearchError(
            f"CV folds ({spec.cv}) is larger than the smallest class: {classes[smallest]!r} has "
            f"{counts[smallest]} rows. Use at most {counts[smallest]} folds.")


def estimate_seconds(plan: SearchPlan, threads: int) -> float:
    """Rough wall time on ``threads`` workers: one fit on a sample, scaled to a fold."""
    probe_rows = int(setting("probe-rows", 1000))
    train = plan.folds[0][0]
    sample = train[:: max(1, len(train) // probe_rows)]
    outcome = fit_and_score(plan.spec.kind.make(), plan.candidates[0], plan.X, plan.y,
                            [(sample, sample)], 0, plan.spec.scorer_name)
    per_fit = (outcome["fit_time"] + outcome["score_time"]) * \
        (len(train) / len(sample)) ** plan.spec.kind.cost_exponent
    return per_fit * plan.n_fits / max(1, threads)


def confirmation_question(plan: SearchPlan, seconds: float, threads: int) -> str | None:
    """A question to ask before dispatching a search this large, else None."""
    if plan.n_fits <= setting("confirm-fits", 1000) and seconds <= setting("confirm-seconds", 1800):
        return None
    return (f"{len(plan.candidates):,} candidates × {len(plan.folds)} folds = "
            f"{plan.n_fits:,} fits, roughly {duration(seconds)} on {threads} worker "
            "threads. Run it anyway?")


# Times a search sends its data again after workers holding it died.
RESENDS = 3


async def run_search(ctx: JobContext, plan: SearchPlan,
                     on_update: Callable[[SearchResults], None] | None = None,
                     run_id: str | None = None) -> SearchResults:
    """Every (candidate, fold) fit on the cluster, results as they land, then the refit.

    Every key on the cluster starts with ``search-<run_id>`` (random by default).
    The data is scattered, and Dask cannot recompute scattered data: when the
    workers holding it die, the fits still to run come back cancelled, so the
    data is sent again and those fits resubmitted (up to ``RESENDS`` times).
    """
    spec, candidates = plan.spec, plan.candidates
    results = SearchResults.start(spec, candidates, len(plan.folds))
    client, run = ctx.client, f"search-{run_id or uuid.uuid4().hex[:12]}"
    start = time.perf_counter()
    pending = [(c, f) for c in range(len(candidates)) for f in range(len(plan.folds))]
    ctx.progress(0, results.total)
    for attempt in range(RESENDS + 1):
        prefix = f"{run}-r{attempt}" if attempt else run
        data = await _send(ctx, plan, prefix)
        pending = await _fit(ctx, plan, data, prefix, pending, results, on_update,
                             last=attempt == RESENDS)
        if not pending:
            break
    results.wall_time = time.perf_counter() - start
    if plan.X_test is not None and results.best_index is not None:
        results.refit = await _refit(ctx, plan, data, prefix, results.best_params)
    if on_update is not None:
        on_update(results)
    return results


async def _send(ctx: JobContext, plan: SearchPlan, prefix: str) -> dict:
    shared = {f"{prefix}-{name}": value for name, value in (
        ("X", plan.X), ("y", plan.y), ("folds", plan.folds),
        ("X_test", plan.X_test), ("y_test", plan.y_test)) if value is not None}
    data = await ctx.client.scatter(shared, hash=False)
    ctx.track(data.values())
    return {key[len(prefix) + 1:]: future for key, future in data.items()}


async def _fit(ctx: JobContext, plan: SearchPlan, data: dict, prefix: str,
               pending: list[tuple[int, int]], results: SearchResults, on_update,
               last: bool) -> list[tuple[int, int]]:
    """Submit the ``pending`` fits; record each as it lands. Returns the fits whose data
    was lost with a worker (to send again), unless this is the ``last`` try."""
    client, spec, candidates = ctx.client, plan.spec, plan.candidates
    estimator, scoring = spec.kind.make(), spec.scorer_name
    where, futures, lost = {}, [], []
    for c, f in pending:
        # Candidates in order, so the table and heatmap fill row by row.
        future = client.submit(fit_and_score, estimator, candidates[c], data["X"], data["y"],
                               data["folds"], f, scoring, key=f"{prefix}-fit-{c}-{f}",
                               priority=len(candidates) - c)
        where[future.key] = (c, f)
        futures.append(future)
    ctx.track(futures)
    async for future in as_completed(futures, loop=client.loop):
        c, f = where[future.key]
        try:
            (outcome,) = await ctx.gather([future])
        except FutureCancelledError:
            if client.status != "running":
                raise  # the scheduler is gone: the job fails, saying so
            if not last:
                future.release()
                lost.append((c, f))
                continue
            outcome = {"error": "Its data was lost with the workers holding it.",
                       "fit_time": 0.0, "score_time": 0.0}
        except Exception as e:  # the task could not run
            outcome = {"error": f"{type(e).__name__}: {e}", "fit_time": 0.0, "score_time": 0.0}
        future.release()
        results.record(c, f, outcome)
        ctx.progress(results.done, results.total)
        if on_update is not None:
            on_update(results)
    return lost


async def _refit(ctx: JobContext, plan: SearchPlan, data: dict, prefix: str, params: dict):
    """The best candidate trained on every searched row, scored on the held-out rows."""
    spec = plan.spec
    for attempt in range(RESENDS + 1):
        refit = ctx.client.submit(fit_and_score, spec.kind.make(), params, data["X"],
                                  data["y"], None, None, spec.scorer_name, data["X_test"],
                                  data["y_test"], key=f"{prefix}-refit")
        ctx.track([refit])
        try:
            (result,) = await ctx.gather([refit])
            return result
        except FutureCancelledError:
            if ctx.client.status != "running" or attempt == RESENDS:
                raise
            prefix = f"{prefix}-refit{attempt + 1}"
            data = await _send(ctx, plan, prefix)


class NeedsConfirmation(SearchError):
    """The search is large enough to ask first; the message is the question."""


async def search(ctx: JobContext, ddf, target: str | None, features: Sequence[str],
                 spec: SearchSpec, *, encode: bool = False, dropna: bool = False,
                 rows: int | None = None, rows_estimate: int | None = None,
                 confirmed: bool = False, compare: bool = False,
                 on_update: Callable[[SearchResults], None] | None = None,
                 run_id: str | None = None) -> SearchResults:
    """A whole search as a job's work: load and check the data, ask if huge, fit, compare.

    About ``rows`` rows are searched, a seeded sample when the dataset has more
    (``rows_estimate``); None or 0 searches every row. Every refusal (a bad value,
    bad data, a grid to confirm) is raised before any fit is dispatched.
    """
    spec.check()
    if rows_estimate is None:
        # Unknown (its summary still being read): counted on the cluster, so that the
        # row cap never lets all of a big dataset into the server's memory.
        ctx.stage("Counting the dataset's rows…")
        (rows_estimate,) = await ctx.compute(ddf.shape[0])
        ctx.stage("")
    check_rows(rows, rows_estimate)
    fraction = sample_fraction(rows, rows_estimate)
    (frame,) = await ctx.compute(training_frame(ddf, target, features, fraction, dropna))
    X, y, names = prepare_data(frame, target, features, encode)
    plan = plan_search(spec, X, y, names)
    limit = setting("compare-max-fits", 100)
    if compare and plan.n_fits > limit:
        raise SearchError(f"Compare with local runs in the app's own process, so it is limited "
                          f"to {limit} fits (search.compare-max-fits); this grid has "
                          f"{plan.n_fits:,}.")
    if not confirmed:
        threads = sum((await ctx.client.nthreads()).values())
        seconds = await asyncio.to_thread(estimate_seconds, plan, threads)
        question = confirmation_question(plan, seconds, threads)
        if question:
            raise NeedsConfirmation(question)
    results = await run_search(ctx, plan, on_update, run_id)
    if compare:
        ctx.stage(f"The cluster is done ({results.wall_time:.1f} s). Now scikit-learn fits "
                  f"the same {plan.n_fits} fits in the app's own process (n_jobs=-1)…")
        results.local = await asyncio.to_thread(run_local, plan)
    return results


def run_local(plan: SearchPlan, n_jobs: int = -1) -> LocalRun:
    """The same grid and folds with scikit-learn's own ``GridSearchCV`` in this process."""
    spec = plan.spec
    search = GridSearchCV(spec.kind.make(), {k: list(v) for k, v in spec.grid.items()},
                          cv=plan.folds, scoring=spec.scorer_name, n_jobs=n_jobs, refit=False)
    start = time.perf_counter()
    search.fit(plan.X, plan.y)
    wall = time.perf_counter() - start
    return LocalRun(wall_time=wall, n_jobs=n_jobs, best_params=search.best_params_,
                    best_score=float(search.best_score_))
