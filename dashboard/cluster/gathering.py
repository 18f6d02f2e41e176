"""Gathering results through a client that every session shares."""
from __future__ import annotations

import asyncio

from dask.utils import format_bytes
from distributed import Client, Future, as_completed

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


class ResultTooLarge(Exception):
    """A result bigger than the server brings back; the message is for the user."""


def start_gather(client: Client, futures: list[Future],
                 max_bytes: int | None = None) -> asyncio.Task:
    """The gather of ``futures`` as a task that no caller cancels (await it shielded).

    With ``max_bytes``, the results' sizes are asked of the scheduler once they are
    computed, and a bigger result stays on the cluster: ``ResultTooLarge``.
    """
    task = asyncio.ensure_future(_bounded_gather(client, futures, max_bytes))
    _GATHERS.add(task)
    # Nobody may be left to await it: keep asyncio quiet about its outcome.
    task.add_done_callback(lambda t: _GATHERS.discard(t) or t.cancelled() or t.exception())
    return task


async def _bounded_gather(client: Client, futures: list[Future], max_bytes: int | None):
    if max_bytes:
        # The client's loop given: as_completed otherwise looks for a default client.
        async for _ in as_completed(futures, loop=client.loop):  # computed or failed
            pass
        if any(future.status != "finished" for future in futures):
            # Failed, or released (a cancelled job): the gather says which. Their keys
            # may be gone, and the scheduler logs an error for a size asked of them.
            return await client.gather(futures)
        sizes = await client.nbytes(keys=[f.key for f in futures], summary=False)
        size = sum(sizes.values())
        if size > max_bytes:
            raise ResultTooLarge(
                f"The result is {format_bytes(size)}, more than this server brings back "
                f"({format_bytes(max_bytes)}, workbench.jobs.max-result-bytes). Ask for a "
                "smaller one: fewer groups (other keys, a filter) or fewer rows.")
    return await client.gather(futures)
