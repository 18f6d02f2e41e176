"""Scheduler preload: the embedded cluster's scheduler ends when the app's process does.

Run as ``dask scheduler --preload dashboard.cluster.ends_with_app`` by the app. A
server stopped normally closes its cluster; one killed outright cannot, and its
scheduler would be left running on its port. Orphaned, a process gets a new parent.
"""
from __future__ import annotations

import asyncio
import os

from tornado.ioloop import PeriodicCallback

CHECK_MS = 1000


def dask_setup(scheduler) -> None:
    parent = os.getppid()

    def check() -> None:
        if os.getppid() != parent:
            watch.stop()
            asyncio.ensure_future(scheduler.close(reason="the app's process ended"))

    watch = PeriodicCallback(check, CHECK_MS)
    watch.start()
