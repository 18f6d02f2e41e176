"""A job's live task count: distributed's ``Progress`` plugin on the scheduler, read
through ``run_on_scheduler`` (public APIs only) while the job's compute runs."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from distributed import Client, Future
from distributed.diagnostics.progress import Progress

if TYPE_CHECKING:
    from .jobs import Job

log = logging.getLogger(__name__)


async def feed_progress(client: Client, futures: list[Future], job: Job,
                        gathered: asyncio.Future, interval: float = 0.2,
                        setup_timeout: float = 5.0) -> None:
    """Feed ``job``'s tasks done over all from distributed's ``Progress`` plugin,
    counted on the scheduler and read through ``run_on_scheduler`` (public APIs only),
    until the compute is ``gathered``: a late count must not overwrite what the job
    reports next (a search's fits done, after loading its rows).

    Holding ``futures`` till then keeps their keys alive for the setup. The setup
    waits (bounded: a job may finish or be cancelled before its keys all exist) for
    the keys, then walks their dependencies once. The plugin removes itself when the
    keys are done, fail or are forgotten; a job that ends first removes it here.
    The functions are closures so that they travel by value: the scheduler need not
    have this package installed.
    """
    keys = [future.key for future in futures]
    # A name of its own: two jobs of one graph must not share (and stop) one plugin.
    name = f"workbench-progress-{uuid.uuid4().hex}"

    async def setup(dask_scheduler, keys, name, timeout):
        deadline = time.monotonic() + timeout
        while not set(keys).issubset(dask_scheduler.tasks):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        await Progress(keys, dask_scheduler, complete=True, name=name).setup()
        return True

    def read(dask_scheduler, name):
        progress = dask_scheduler.plugins.get(name)
        return None if progress is None else (len(progress.all_keys), len(progress.keys))

    def remove(dask_scheduler, name):
        if name in dask_scheduler.plugins:
            dask_scheduler.remove_plugin(name=name)

    def over():
        return job.finished or gathered.done()

    # A quick job is done before a count could show: it costs the scheduler nothing.
    await asyncio.wait([gathered], timeout=interval / 2)
    if over():
        return
    try:
        if not await client.run_on_scheduler(setup, keys=keys, name=name,
                                             timeout=setup_timeout):
            return
        while not over():
            counts = await client.run_on_scheduler(read, name=name)
            if counts is None:
                return  # finished, failed or forgotten: the job says which
            total, remaining = counts
            if total and not over():
                job.update(total=total, done=total - remaining)
            await asyncio.sleep(interval)
        await client.run_on_scheduler(remove, name=name)
    except Exception as e:  # the scheduler or client went away: the job reports that
        log.debug("progress feed of %s stopped: %r", job.title, e)
