"""The one result cache: kept results, least recently used dropped first. (Work in
flight is shared by the job path: tests/test_jobs.py and the picker's tests.)"""
from __future__ import annotations

import cachetools
import dask.config

from dashboard.cache import CACHE, ResultCache


def test_the_shared_cache_is_a_cachetools_lru_sized_by_the_config():
    assert isinstance(CACHE, cachetools.LRUCache)
    assert CACHE.maxsize == dask.config.get("workbench.jobs.cache-size") == 64


def test_least_recently_used_goes_first_and_a_read_counts_as_use():
    cache = ResultCache(2)
    cache.put("a", 1, {"rows": 1})
    cache.put("b", 2, {})
    assert cache.get("a") == (1, {"rows": 1})  # "a" is now the most recent
    cache.put("c", 3, {})
    assert cache.get("b") is None and cache.get("a") == (1, {"rows": 1})
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None


def test_no_key_or_no_size_keeps_nothing():
    cache = ResultCache(2)
    cache.put(None, 1, {})
    assert len(cache) == 0 and cache.get(None) is None
    off = ResultCache(0)  # workbench.jobs.cache-size: 0
    off.put("a", 1, {})
    assert len(off) == 0 and off.get("a") is None
