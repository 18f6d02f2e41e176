"""Gathering results through a client that every session shares."""
from __future__ import annotations

import asyncio

from distributed import Client, Future

_GATHERS: set[asyncio.Task] = set()  # gathers whose callers went away (kept from GC)


async def gather(client: Client, futures: list[Future]) -> list:
    """The results of ``futures``; cancelling the caller never cancels the gather itself.

    distributed batches a client's concurrent gathers into one request that they all
    await. A caller cancelled just after that request is created, before it runs,
    cancels it, and the client keeps the cancelled request as the one to join: every
    later gather through that client (every session's) raises CancelledError. So the
    gather runs in a task of its own to its end; Cancel releases the futures, which
    ends a gather still waiting for them.
    """
    return await asyncio.shield(start_gather(client, futures))


def start_gather(client: Client, futures: list[Future]) -> asyncio.Task:
    """The gather of ``futures`` as a task that no caller cancels (await it shielded)."""
    task = asyncio.ensure_future(client.gather(futures))
    _GATHERS.add(task)
    # Nobody may be left to await it: keep asyncio quiet about its outcome.
    task.add_done_callback(lambda t: _GATHERS.discard(t) or t.cancelled() or t.exception())
    return task
