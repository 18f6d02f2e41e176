"""The one result cache and its one rule for work in flight: computed once, awaited by
every caller meanwhile, kept afterwards, least recently used dropped first."""
from __future__ import annotations

import asyncio

import cachetools
import dask.config
import pytest

from dashboard.cache import CACHE, ResultCache


class Counted:
    """A computation that says how often it ran and waits until released."""

    def __init__(self, value="result", error: Exception | None = None):
        self.value, self.error = value, error
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self):
        self.runs += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.value


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


async def test_callers_meanwhile_share_one_run_and_later_ones_the_kept_value():
    cache, compute = ResultCache(4), Counted()
    waiting = [asyncio.ensure_future(cache.once("k", compute)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert compute.runs == 1 and cache.in_flight() == 1
    compute.release.set()
    assert await asyncio.gather(*waiting) == ["result"] * 5
    assert cache.in_flight() == 0

    assert await cache.once("k", compute) == "result"
    assert compute.runs == 1
    other = Counted("other")
    other.release.set()
    assert await cache.once("k2", other) == "other" and other.runs == 1


async def test_with_no_size_work_in_flight_is_still_shared():
    cache, compute = ResultCache(0), Counted()
    waiting = [asyncio.ensure_future(cache.once("k", compute)) for _ in range(3)]
    await asyncio.sleep(0.01)
    compute.release.set()
    assert await asyncio.gather(*waiting) == ["result"] * 3 and compute.runs == 1
    again = Counted("again")
    again.release.set()
    assert await cache.once("k", again) == "again"  # nothing was kept


async def test_a_failure_reaches_every_caller_and_is_not_kept():
    cache, failing = ResultCache(4), Counted(error=ZeroDivisionError("boom"))
    waiting = [asyncio.ensure_future(cache.once("k", failing)) for _ in range(3)]
    await asyncio.sleep(0.01)
    failing.release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert [type(o) for o in outcomes] == [ZeroDivisionError] * 3 and failing.runs == 1
    assert "k" not in cache and cache.in_flight() == 0

    retry = Counted("fixed")
    retry.release.set()
    assert await cache.once("k", retry) == "fixed"


async def test_a_cancelled_caller_leaves_the_run_to_the_others():
    cache, compute = ResultCache(4), Counted()
    mine = asyncio.ensure_future(cache.once("k", compute))
    theirs = asyncio.ensure_future(cache.once("k", compute))
    await asyncio.sleep(0.01)
    mine.cancel()
    with pytest.raises(asyncio.CancelledError):
        await mine
    compute.release.set()
    assert await theirs == "result" and compute.runs == 1
    assert cache.get("k") == "result"


async def test_a_run_whose_callers_all_left_is_still_kept():
    cache, compute = ResultCache(4), Counted()
    caller = asyncio.ensure_future(cache.once("k", compute))
    await asyncio.sleep(0.01)
    caller.cancel()
    compute.release.set()
    while cache.in_flight():
        await asyncio.sleep(0.01)
    assert cache.get("k") == "result" and compute.runs == 1
