"""The one result cache; work in flight is shared by the job path (``jobs.SharedCompute``).

Every session shares one client, so the same work asked for twice (two pages
opening on the default dataset, a Run repeated) should reach the cluster once.
Finished results live in one least-recently-used cache (``cachetools``); a
compute still running is joined by whoever asks for the same graph meanwhile.
Keys are tokens of what was computed: a dataset's ``cache_token()`` (which
follows its files' size and modification time) plus the query. Only small
results are kept (pandas frames, scores, a few rows), never data on the
cluster, so the cache costs server memory only.
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cachetools import LRUCache

from . import config


class ResultCache(LRUCache):
    """Results by key, the least recently used dropped first; shared by every session.

    A size of 0 keeps nothing.
    """

    def __init__(self, size: int):
        super().__init__(maxsize=max(int(size), 0))

    def put(self, key: Hashable | None, result: Any, stats: dict) -> None:
        """Keep a job's ``(result, stats)``; ``get`` returns that pair. A None key keeps nothing."""
        if key is not None and self.maxsize > 0:
            self[key] = (result, stats)


CACHE = ResultCache(config.get("jobs.cache-size"))
