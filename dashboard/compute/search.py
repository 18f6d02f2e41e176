"""Model search: a hyper-parameter grid cross-validated on the cluster, fit by fit.

How the work is split: one future per (candidate, fold), not the joblib Dask
backend nor dask-ml. The training data, the held-out split and the fold indices
are made by one task on the worker that reads the rows (``search_plan``), under a
key named after the run; every fit task refers to it, so the data goes from
workers to workers, never through the server. ``distributed.as_completed`` hands back each fit as it finishes, so the
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

import dask
import numpy as np
from dask.delayed import Delayed
from distributed import Future, as_completed
from distributed.client import FutureCancelledError
from sklearn.base import is_classifier
from sklearn.model_selection import GridSearchCV, ParameterGrid

from ..jobs import JobContext
from .duration import duration
from .estimators import SearchError, check_grid, estimator_kind
from .search_code import grid_search_code
# prepare_data is imported from here by the benchmarks, as before the split.
from .search_data import (check_rows, prepare_data, sample_fraction, setting,  # noqa: F401
                          training_frame)
from .search_plan import (Refused, SearchPlan, Split, fit_fold, make_plan, overview, refit,
                          split)
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
    return dask.delayed(make_plan, pure=True)(
        frame, target, [f for f in features if f != target], encode, split_for(spec),
        dask_key_name=key)


def confirmation_question(n_candidates: int, n_folds: int, seconds: float,
                          threads: int) -> str | None:
    """A question to ask before dispatching a search this large, else None."""
    n_fits = n_candidates * n_folds
    if n_fits <= setting("confirm-fits", 1000) and seconds <= setting("confirm-seconds", 1800):
        return None
    return (f"{n_candidates:,} candidates × {n_folds} folds = {n_fits:,} fits, roughly "
            f"{duration(seconds)} on {threads} worker threads. Run it anyway?")


async def run_search(ctx: JobContext, plan: Future, spec: SearchSpec, n_folds: int,
                     on_update: Callable[[SearchResults], None] | None = None,
                     run: str = "search") -> SearchResults:
    """Every (candidate, fold) fit on the cluster, results as they land, then the refit.

    ``plan`` is the future of the plan on the cluster; every key starts with ``run``.
    """
    candidates = spec.candidates()
    results = SearchResults.start(spec, candidates, n_folds)
    client, estimator, scoring = ctx.client, spec.kind.make(), spec.scorer_name
    start = time.perf_counter()
    ctx.progress(0, results.total)
    where, futures = {}, []
    for c, params in enumerate(candidates):
        for f in range(n_folds):
            # Candidates in order, so the table and heatmap fill row by row.
            future = client.submit(fit_fold, plan, estimator, params, f, scoring,
                                   key=f"{run}-fit-{c}-{f}", priority=len(candidates) - c)
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
            outcome = {"error": "The cluster dropped this fit.", "fit_time": 0.0,
                       "score_time": 0.0}
        except Exception as e:  # the task could not run
            outcome = {"error": f"{type(e).__name__}: {e}", "fit_time": 0.0, "score_time": 0.0}
        future.release()
        results.record(c, f, outcome)
        ctx.progress(results.done, results.total)
        if on_update is not None:
            on_update(results)
    results.wall_time = time.perf_counter() - start
    if spec.holdout and results.best_index is not None:
        best = client.submit(refit, plan, estimator, results.best_params, scoring,
                             key=f"{run}-refit")
        ctx.track([best])
        (results.refit,) = await ctx.gather([best])
    if on_update is not None:
        on_update(results)
    return results


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
    client, run = ctx.client, f"search-{run_id or uuid.uuid4().hex[:12]}"
    how, candidates = split_for(spec), spec.candidates()
    ctx.stage("Reading the rows to search…")
    (plan,) = client.compute([lazy_plan(ddf, target, features, spec, fraction=fraction,
                                        dropna=dropna, encode=encode, key=f"{run}-plan")])
    ctx.track([plan])
    probe_rows = 0 if confirmed else int(setting("probe-rows", 1000))
    look = client.submit(overview, plan, how, candidates[0], spec.scorer_name, probe_rows,
                         spec.kind.cost_exponent, key=f"{run}-overview")
    ctx.track([look])
    (seen,) = await ctx.gather([look])
    ctx.stage("")
    if seen["error"]:
        raise SearchError(seen["error"])
    n_folds = seen["folds"]
    limit = setting("compare-max-fits", 100)
    if compare and len(candidates) * n_folds > limit:
        raise SearchError(f"Compare with local runs in the app's own process, so it is limited "
                          f"to {limit} fits (search.compare-max-fits); this grid has "
                          f"{len(candidates) * n_folds:,}.")
    if not confirmed:
        threads = sum((await client.nthreads()).values())
        seconds = seen["seconds_per_fit"] * len(candidates) * n_folds / max(1, threads)
        question = confirmation_question(len(candidates), n_folds, seconds, threads)
        if question:
            raise NeedsConfirmation(question)
    results = await run_search(ctx, plan, spec, n_folds, on_update, run)
    if compare:
        ctx.stage(f"The cluster is done ({results.wall_time:.1f} s). Now scikit-learn fits "
                  f"the same {results.total} fits in the app's own process (n_jobs=-1)…")
        (here,) = await ctx.gather([plan])  # only the rows searched, within max-rows
        results.local = await asyncio.to_thread(run_local, spec, here)
    return results


def run_local(spec: SearchSpec, plan: SearchPlan, n_jobs: int = -1) -> LocalRun:
    """The same grid and folds with scikit-learn's own ``GridSearchCV`` in this process."""
    search = GridSearchCV(spec.kind.make(), {k: list(v) for k, v in spec.grid.items()},
                          cv=plan.folds, scoring=spec.scorer_name, n_jobs=n_jobs, refit=False)
    start = time.perf_counter()
    search.fit(plan.X, plan.y)
    wall = time.perf_counter() - start
    return LocalRun(wall_time=wall, n_jobs=n_jobs, best_params=search.best_params_,
                    best_score=float(search.best_score_))
