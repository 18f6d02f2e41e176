"""The one result cache, and the one rule for sharing work in flight.

Every session shares one client, so the same work asked for twice (two pages
opening on the default dataset, a Run repeated) should reach the cluster once.
Results live in one least-recently-used cache (``cachetools``); work still
running is shared by ``ResultCache.once``: the first caller starts it, every
other caller with the same key awaits that same future. Keys are tokens of what
was computed: a dataset's ``cache_token()`` (which follows its files' size and
modification time) plus the query. Only small results are kept (pandas frames,
scores, a few rows), never data on the cluster, so the cache costs server memory only.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from cachetools import LRUCache

from . import config

T = TypeVar("T")
_MISSING = object()


class ResultCache(LRUCache):
    """Results by key, the least recently used dropped first; shared by every session.

    A size of 0 keeps nothing (work in flight is still shared).
    """

    def __init__(self, size: int):
        super().__init__(maxsize=max(int(size), 0))
        # By (event loop, key): a task belongs to the loop that runs it.
        self._in_flight: dict[tuple[asyncio.AbstractEventLoop, Hashable], asyncio.Task] = {}

    def put(self, key: Hashable | None, result: Any, stats: dict) -> None:
        """Keep a job's ``(result, stats)``; ``get`` returns that pair. A None key keeps nothing."""
        self.keep(key, (result, stats))

    def keep(self, key: Hashable | None, value: Any) -> None:
        if key is not None and self.maxsize > 0:
            self[key] = value

    async def once(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The value for ``key``: kept, else from the run of ``compute`` already in
        flight, else from a new run, which is kept.

        The run is a task of its own: a caller that is cancelled stops waiting but
        never cancels the run others wait on. A failure reaches every caller
        waiting and is not kept, so the next call tries again.
        """
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        loop = asyncio.get_running_loop()
        task = self._in_flight.get((loop, key))
        if task is None:
            task = self._in_flight[loop, key] = loop.create_task(self._run(key, compute))
            task.add_done_callback(lambda done: self._landed(loop, key, done))
        return await asyncio.shield(task)

    async def _run(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        value = await compute()
        self.keep(key, value)
        return value

    def _landed(self, loop, key: Hashable, task: asyncio.Task) -> None:
        if self._in_flight.get((loop, key)) is task:
            del self._in_flight[loop, key]
        if not task.cancelled():
            task.exception()  # every waiter may have gone: never "exception never retrieved"

    def in_flight(self) -> int:
        """How many runs are being shared right now (for tests and diagnostics)."""
        return len(self._in_flight)


CACHE = ResultCache(config.get("jobs.cache-size"))
