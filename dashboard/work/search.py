"""The Model search tab's job: the plan made on the workers, every fit as it lands, the refit.

How the work is split: one future per (candidate, fold), not the joblib Dask
backend nor dask-ml. The rows, the held-out split and the fold indices are made
by one task on the worker that reads them (``compute.search.lazy_plan``) and
every fit refers to it, so the data goes from workers to workers, never through
the server. ``distributed.as_completed`` hands back each fit as it finishes, so
the table, the heatmap and the progress fill in live; Cancel releases the
futures (queued fits never start); a fit that raises comes back as its message
and fails only its candidate.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence

from distributed import Future, as_completed
from distributed.client import FutureCancelledError

from ..compute.estimators import SearchError
from ..compute.search import (NeedsConfirmation, SearchSpec, confirmation_question, lazy_plan,
                              run_local, split_for)
from ..compute.search_data import check_rows, sample_fraction, setting
from ..compute.by_value import ByValue
from ..compute.search_plan import fit_fold, overview, refit
from ..compute.search_results import SearchResults
from ..jobs import JobContext


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
        # row cap holds even then (it fails closed).
        ctx.stage("Counting the dataset's rows…")
        (rows_estimate,) = await ctx.compute(ddf.shape[0])
        ctx.stage("")
    check_rows(rows, rows_estimate)
    fraction = sample_fraction(rows, rows_estimate)
    client, run = ctx.client, f"search-{run_id or uuid.uuid4().hex[:12]}"
    candidates = spec.candidates()
    ctx.stage("Reading the rows to search…")
    (plan,) = client.compute([lazy_plan(ddf, target, features, spec, fraction=fraction,
                                        dropna=dropna, encode=encode, key=f"{run}-plan")])
    ctx.track([plan])
    probe_rows = 0 if confirmed else int(setting("probe-rows", 1000))
    look = client.submit(OVERVIEW, plan, split_for(spec).fields(), candidates[0],
                         spec.scorer_name, probe_rows, spec.kind.cost_exponent,
                         key=f"{run}-overview")
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


# Each pickled once per process (see ByValue).
FIT, OVERVIEW, REFIT = ByValue(fit_fold), ByValue(overview), ByValue(refit)


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
            future = client.submit(FIT, plan, estimator, params, f, scoring,
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
        best = client.submit(REFIT, plan, estimator, results.best_params, scoring,
                             key=f"{run}-refit")
        ctx.track([best])
        (results.refit,) = await ctx.gather([best])
    if on_update is not None:
        on_update(results)
    return results
