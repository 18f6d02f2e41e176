"""The job path on one shared client: a cancelled job never breaks another's (issue 15).

distributed batches a client's concurrent gathers into one request. A caller
cancelled after that request is created but before it runs leaves it cancelled
as the one every later gather joins: every session's work then failed with
"The Dask cluster was lost" until the server restarted.
"""
from __future__ import annotations

import asyncio

import pytest
from dask import delayed
from distributed import Client, LocalCluster

from dashboard.cluster.gathering import gather
from dashboard.jobs import Job, JobRunner


@pytest.fixture(scope="module")
def cluster():
    # In-process: nothing here kills a worker.
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as cluster:
        yield cluster


async def cancel_after(coroutine, steps: int) -> None:
    """Start ``coroutine`` and cancel it after ``steps`` turns of the loop."""
    task = asyncio.ensure_future(coroutine)
    for _ in range(steps):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def still_computes(client: Client) -> int:
    future = client.submit(lambda x: x * 2, 21, pure=False)
    (result,) = await asyncio.wait_for(gather(client, [future]), 30)
    return result


@pytest.mark.parametrize("steps", range(8))  # every moment of a gather's start
async def test_a_gather_cancelled_at_any_moment_leaves_the_client_working(cluster, steps):
    async with Client(cluster.scheduler_address, asynchronous=True) as client:
        future = client.submit(lambda x: x + 1, steps, pure=False)
        await asyncio.sleep(0.2)  # done: the gather goes straight to the request
        await cancel_after(gather(client, [future]), steps)
        assert await still_computes(client) == 42


async def test_cancels_and_closes_of_many_sessions_leave_the_others_working(manager):
    """Sessions (runners) on the server's one client cancel and close mid-job, at
    every moment of their jobs; a neighbour's jobs on that client still answer."""
    def work(seed: int):
        async def run(ctx):
            # Quick: its gather starts within a few turns, where the cancels land.
            (total,) = await ctx.compute(delayed(sum)([seed, 400]))
            return total
        return run

    neighbour = JobRunner(manager=manager)
    for round_ in range(60):  # cancelled after 0, 1, 2... turns of the loop
        runners = [JobRunner(manager=manager) for _ in range(6)]
        jobs = [asyncio.ensure_future(r.run(Job(kind="groupby"), work(round_ * 10 + i)))
                for i, r in enumerate(runners)]
        for _ in range(round_):
            await asyncio.sleep(0)
        await asyncio.gather(*(r.cancel("groupby") for r in runners[::2]),
                             *(r.close() for r in runners[1::2]))
        await asyncio.gather(*jobs)
        job = await neighbour.run(Job(kind="groupby"), work(1000 + round_))
        assert (job.status, job.result) == ("done", 1400 + round_), job.error


async def test_work_asked_for_after_the_session_closed_never_reaches_the_cluster(manager):
    """A closed tab's watchers and pending callbacks may still ask for work (filling a
    filter's choices after the page went): it is refused, not run for minutes."""
    runner = JobRunner(manager=manager)
    await runner.close()
    asked = []

    async def work(ctx):
        asked.append(ctx)
        return await ctx.compute(delayed(sum)([1, 2]))

    job = await runner.run(Job(kind="choices"), work)
    assert (job.status, job.error) == ("cancelled", "The session closed.")
    assert asked == []


async def poison(client: Client) -> bool:
    """Cancel plain ``client.gather`` calls at each early moment until one leaves the
    client unable to gather (distributed's own behaviour); True once it is."""
    for steps in range(10):
        future = client.submit(lambda x: x + 1, steps, pure=False)
        await asyncio.sleep(0.2)
        await cancel_after(client.gather([future]), steps)
        try:
            await asyncio.wait_for(client.gather([future]), 5)
        except asyncio.CancelledError:
            return True
    return False


async def test_the_health_check_replaces_a_client_that_cannot_gather(manager):
    broken = manager.client
    if not await poison(broken):
        pytest.skip("this distributed no longer leaves a cancelled gather behind")
    # The app notices on its own (within a few checks) and connects a new client...
    deadline = asyncio.get_running_loop().time() + 30
    while manager.client is broken or manager.client is None:
        assert asyncio.get_running_loop().time() < deadline, "the broken client was kept"
        await asyncio.sleep(0.1)
    # ...on which every session's jobs run again.
    job = await JobRunner(manager=manager).run(
        Job(kind="groupby"), lambda ctx: ctx.compute(delayed(sum)([1, 2])))
    assert (job.status, job.result) == ("done", [3]), job.error


async def test_a_result_over_the_cap_stays_on_the_cluster_and_says_its_size(manager):
    """A result bigger than workbench.jobs.max-result-bytes is never brought into the
    server (whose memory every user shares); the user reads how big it was."""
    import dask.config
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd

    from dashboard.compute.groupby import GroupBySpec
    from dashboard.work.groupby import run_query

    frame = pd.DataFrame({"k": np.arange(200_000), "v": np.ones(200_000)})
    ddf = dd.from_pandas(frame, npartitions=4)
    spec = GroupBySpec(keys=("k",), values=("v",), agg="sum")
    runner = JobRunner(manager=manager)
    with dask.config.set({"workbench.jobs.max-result-bytes": 1_000_000}):
        job = await runner.run(Job(kind="groupby"), lambda ctx: run_query(ctx, ddf, spec))
    assert job.status == "failed" and job.result is None
    assert job.error.startswith("The result is ") and "MiB, more than this server brings " \
        "back (0.95 MiB, workbench.jobs.max-result-bytes)" in job.error, job.error
    # Under the default cap the same query answers in full.
    job = await runner.run(Job(kind="groupby"), lambda ctx: run_query(ctx, ddf, spec))
    assert job.status == "done" and len(job.result) == 200_000



async def test_hosted_a_users_runs_share_one_limit_across_their_sessions(manager):
    """Hosted, one login's sessions (tabs) share jobs.max-running-per-user: past it a
    run gets a sentence and reaches no worker; another login runs meanwhile; a run that
    ends (or is cancelled) gives its place back. Page essentials are not counted."""
    import dask.config
    from distributed import Event

    release = Event("slow-run", client=manager.client)

    async def slow(ctx):
        def wait(name):
            from distributed import Event
            return Event(name).wait(60)
        return await ctx.compute(delayed(wait, pure=False)("slow-run"))

    async def quick(ctx):
        return await ctx.compute(delayed(sum)([1, 2]))

    with dask.config.set({"workbench.hosted": True, "workbench.jobs.max-running-per-user": 1}):
        tab_1, tab_2 = JobRunner(manager=manager, user="ana"), JobRunner(manager=manager,
                                                                           user="ana")
        ben = JobRunner(manager=manager, user="ben")
        first = asyncio.ensure_future(tab_1.run(Job(kind="search"), slow))
        while tab_1.running("search") is None or tab_1.running("search").status != "running":
            await asyncio.sleep(0.05)
        refused = await tab_2.run(Job(kind="groupby"), quick)
        assert refused.status == "failed"
        assert refused.error.startswith("You have 1 run going already")
        essential = await tab_2.run(Job(kind="summary"), quick, counted=False)
        assert (essential.status, essential.result) == ("done", [3])
        assert (await ben.run(Job(kind="groupby"), quick)).status == "done"
        await release.set()
        assert (await first).status == "done"
        again = await tab_2.run(Job(kind="groupby"), quick)
        assert (again.status, again.result) == ("done", [3]), again.error
        # Cancelled, a run gives its place back too.
        await release.clear()
        going = asyncio.ensure_future(tab_1.run(Job(kind="search"), slow))
        while tab_1.running("search") is None:
            await asyncio.sleep(0.05)
        await tab_1.cancel("search")
        await going
        assert (await tab_2.run(Job(kind="groupby"), quick)).status == "done"
    await release.set()
