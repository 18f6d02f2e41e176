"""Figure 8, one client per session or one shared: what 50 sessions would cost.

Issue 15 asks to measure the alternatives before choosing how sessions are kept
apart. Both are measured on the bench's cluster, in this process (the server's
place): connecting 50 asynchronous clients one after another, the memory they
take here and on the scheduler, the scheduler's CPU while they sit idle, and 50
small group-bys at once through 50 clients against the same through the one
shared client (the app's way, whose gathers are never cancelled mid-flight).
"""
from __future__ import annotations

import asyncio
import os
import time

import dask.dataframe as dd
import psutil
from distributed import Client

from .harness import Bench, Row, median, spread

SESSIONS = 50


def _scheduler_usage(dask_scheduler=None) -> tuple[float, float]:
    """The scheduler process's (CPU seconds so far, RSS in MB)."""
    me = psutil.Process(os.getpid())
    times = me.cpu_times()
    return times.user + times.system, me.memory_info().rss / 2**20


async def _idle_cpu(client: Client, seconds: float = 5.0) -> float:
    """The scheduler's CPU use, as a share of one core, over ``seconds`` of no work."""
    before, _ = await client.run_on_scheduler(_scheduler_usage)
    await asyncio.sleep(seconds)
    after, _ = await client.run_on_scheduler(_scheduler_usage)
    return (after - before) / seconds


def _query(n: int):
    frame = dd.from_dict({"k": [i % 7 for i in range(2_000)], "v": range(2_000)},
                         npartitions=4)
    return (frame.v + n).groupby(frame.k).mean()  # each session's own graph


async def _at_once(clients: list[Client]) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(c.compute(_query(n)) for n, c in
                           enumerate(clients * (SESSIONS // len(clients)))))
    return time.perf_counter() - start


async def run(bench: Bench) -> list[Row | str]:
    shared = bench.manager.client
    address = bench.manager.scheduler_address
    here = psutil.Process()
    idle_shared = await _idle_cpu(shared)
    _, scheduler_before = await shared.run_on_scheduler(_scheduler_usage)
    rss_before = here.memory_info().rss / 2**20
    connects, clients = [], []
    try:
        for _ in range(SESSIONS):
            start = time.perf_counter()
            clients.append(await Client(address, asynchronous=True, set_as_default=False))
            connects.append(time.perf_counter() - start)
        rss_per = (here.memory_info().rss / 2**20 - rss_before) / SESSIONS
        _, scheduler_after = await shared.run_on_scheduler(_scheduler_usage)
        idle_many = await _idle_cpu(shared)
        many = [await _at_once(clients) for _ in range(bench.size.runs)]
        one = [await _at_once([shared]) for _ in range(bench.size.runs)]
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    scheduler_per = (scheduler_after - scheduler_before) / SESSIONS
    return [
        Row("8a", f"{SESSIONS} small group-bys at once, a client per session",
            median(many), "s", "the same through one shared client", median(one),
            note=f"{spread(many)}; shared {spread(one)}"),
        Row("8b", f"Connecting a client (one of {SESSIONS}, one after another)",
            median(connects), "s", note=spread(connects)),
        Row("8c", "Memory per client: server process / scheduler", round(rss_per, 2), "MB",
            note=f"scheduler {scheduler_per:.2f} MB per client (RSS over {SESSIONS} clients)"),
        Row("8d", f"Scheduler CPU while idle, {SESSIONS} clients connected", idle_many, "%",
            "one client", idle_shared),
    ]
