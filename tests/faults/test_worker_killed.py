"""A worker process SIGKILLed in the middle of a group-by and of a model search.

Dask recomputes what the dead worker held, the nanny starts a new worker, and
the job finishes with the same answer pandas and scikit-learn give; the
cluster card's worker count drops and comes back. Ten runs of each.
"""
from __future__ import annotations

import asyncio
import time

import dask.dataframe as dd
import numpy as np
import pandas as pd
import param
import pytest
from sklearn.model_selection import GridSearchCV

from dashboard.compute.groupby import build, finish, same_result
from dashboard.compute.search import plan_search
from dashboard.datasets import Dataset
from dashboard.store import SessionStore
from dashboard.views.model_search import ModelSearchView
from tests.compute.test_search import assert_same_as_sklearn
from tests.faults.conftest import kill, record, worker_pids
from tests.faults.tasks import slow
from tests.views.test_dataset_picker import settled
from tests.views.test_groupby import open_tab, use

RUNS = 10


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(9)
    return pd.DataFrame({"k": rng.choice(list("abcdefgh"), 4000),
                         "v": rng.normal(size=4000)})


class SlowGroups(Dataset):
    """Twelve partitions of 0.3 s each: a job of a few seconds on two workers."""
    kind = "slow-groups"
    name = param.String(default="slow-groups")

    def to_dask(self):
        return dd.from_pandas(frame(), npartitions=12).map_partitions(slow)


async def until(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)


def watch_workers(manager) -> list[tuple[float, int]]:
    """Every worker count the cluster card is given, in order, with when."""
    seen = [(time.monotonic(), manager.n_workers)]
    manager.param.watch(lambda event: seen.append((time.monotonic(), event.new)), "n_workers")
    return seen


async def kill_a_worker_then_wait(manager, job, run: int, done) -> float:
    """Kill one worker (alternating) once ``done()`` says work has landed; the time sent."""
    await until(lambda: done() or job.finished, "work landing before the kill")
    assert not job.finished, "the job ended before the kill could land"
    pids = await worker_pids(manager)
    victim = sorted(pids)[run % len(pids)]
    return kill(pids[victim])


async def back_to_two(manager, seen: list[tuple[float, int]], killed_at: float) -> None:
    """The card showed the worker leave, then come back (its nanny started a new one)."""
    await until(lambda: manager.n_workers == 2 and any(n < 2 for _, n in seen),
                "the worker back", 60)
    counts = [n for _, n in seen]
    assert min(counts) == 1 and counts[-1] == 2
    left = next(t for t, n in seen if n < 2)
    back = next(t for t, n in seen if t > left and n == 2)
    record("worker gone from the card", left - killed_at)
    record("worker back on the card", back - killed_at)


@pytest.mark.parametrize("run", range(RUNS))
async def test_worker_killed_mid_groupby_gives_the_right_result(fault_manager, run):
    manager = fault_manager
    await until(lambda: manager.n_workers == 2, "two workers")
    view = await open_tab(manager)
    use(view, SlowGroups())
    await settled(view.store)
    view.param.update(group_by=["k"], value_columns=["v"], agg="sum")
    seen = watch_workers(manager)
    running = asyncio.ensure_future(view.run(use_cache=False))
    await until(lambda: view.job is not None, "the job")
    job = view.job
    # The kill lands at a different point of each run: after 1 to 5 tasks.
    killed_at = await kill_a_worker_then_wait(manager, job, run, lambda: job.done >= 1 + run % 5)
    assert (await running).status == "done", job.error
    record("group-by finished after kill", time.monotonic() - killed_at)
    expected = finish(build(frame(), view.spec()), view.spec())
    assert same_result(job.result, expected)
    assert view.error == "" and view.busy is False and view.can_run is True
    await back_to_two(manager, seen, killed_at)


@pytest.fixture
async def search_view(fault_manager):
    picker = SessionStore(manager=fault_manager)
    picker.dataset_name = "classification"
    picker.dataset.n_samples = 2000
    await until(lambda: picker.summary is not None and not picker.loading
                and picker.summary.rows_estimate == 2000, "the summary")
    view = ModelSearchView(store=picker)
    await until(lambda: view.target == "y", "the target")
    view.param.update(estimator="SVC", cv=2, scoring="accuracy", holdout=0.0)
    view.grid.param.update(C="0.1, 10.0", kernel=["rbf", "poly"])
    yield view
    await view.store.jobs.close()


@pytest.mark.parametrize("run", range(RUNS))
async def test_worker_killed_mid_search_gives_sklearns_result(fault_manager, search_view, run):
    manager, view = fault_manager, search_view
    await until(lambda: manager.n_workers == 2, "two workers")
    seen = watch_workers(manager)
    running = asyncio.ensure_future(view.run())
    await until(lambda: view.job is not None, "the job")
    job = view.job
    # Right after the fits are sent (before any worker fetched the data from another),
    # or after 1 or 2 fits landed.
    fits = 2 * 2 * 2
    landed = run % 3
    killed_at = await kill_a_worker_then_wait(
        manager, job, run, lambda: job.total == fits and (
            landed == 0 or view.results is not None and view.results.done >= landed))
    assert (await running).status == "done", job.error
    record("search finished after kill", time.monotonic() - killed_at)
    results = job.result
    assert results.errors == {} and results.complete
    X, y = view.store.dataset.arrays()
    spec = view.spec()
    plan = plan_search(spec, X, y)
    expected = GridSearchCV(spec.kind.make(), dict(spec.grid), cv=2,
                            scoring="accuracy").fit(plan.X, plan.y)
    assert_same_as_sklearn(results, expected)
    assert view.error == "" and view.busy is False
    await back_to_two(manager, seen, killed_at)
