"""Buttons clicked faster than anyone clicks: a script can send a Run's click thousands
of times a minute, and each click used to cost the server a Run's checks (and the
cluster a job) while every other session waited on the same event loop."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from .. import config


class Paced:
    """Lets an action go at most once per ``jobs.min-interval``: a click that comes
    sooner waits for its turn, and clicks meanwhile join it (it acts on the form as it
    is when it goes, so the last click's choices are the ones run)."""

    def __init__(self) -> None:
        self._last = float("-inf")
        self._waiting = False

    async def __call__(self, action: Callable[[], Awaitable]) -> None:
        if self._waiting:
            return  # joins the click that waits
        wait = self._last + (config.get("jobs.min-interval") or 0) - time.monotonic()
        if wait > 0:
            self._waiting = True
            try:
                await asyncio.sleep(wait)
            finally:
                self._waiting = False
        self._last = time.monotonic()
        await action()
