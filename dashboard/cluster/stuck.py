"""Workers left running work nobody wants: restarted, so Cancel frees the cluster too.

Releasing a job's futures makes the scheduler forget its tasks at once, but a
task already running on a worker thread cannot be interrupted: the worker marks
it "cancelled" and its thread stays busy until the function returns, and the
scheduler, which has forgotten the task, keeps sending that worker new work. A
``time.sleep(600)`` (or a read from a hung file system) would hold the thread,
and every task queued behind it, for ten minutes. So after a grace period any
worker still executing a cancelled task is restarted by its nanny.
"""
from __future__ import annotations

import asyncio
import logging

from distributed import Client

from .. import config

log = logging.getLogger(__name__)
_CHECKS: set[asyncio.Task] = set()  # pending checks, kept from garbage collection


async def stuck_workers(client: Client) -> list[str]:
    """Workers with a thread still busy on a task the scheduler has forgotten."""
    def abandoned(dask_worker) -> int:
        # Defined here so it is pickled by value: workers need not have this package.
        return sum(ts.state == "cancelled" for ts in dask_worker.state.executing)

    counts = await client.run(abandoned, on_error="return")
    return sorted(w for w, n in counts.items() if isinstance(n, int) and n)


async def restart_stuck_workers(client: Client, grace: float, tries: int = 3) -> list[str]:
    """After ``grace`` seconds, restart the workers still running abandoned tasks; look
    again after each restart (one that timed out, a worker just told of the cancel)."""
    restarted = []
    for _ in range(tries):
        await asyncio.sleep(grace)
        if client.status != "running":
            break
        workers = await stuck_workers(client)
        if not workers:
            break
        log.warning("Restarting %s: still running cancelled tasks %.0f s after Cancel",
                    ", ".join(workers), grace)
        outcome = await client.restart_workers(workers, raise_for_error=False)
        restarted += [w for w, status in outcome.items() if status == "OK"]
    return restarted


def free_stuck_workers_later(client: Client, owned: bool) -> None:
    """Check (in the background) for workers stuck on work just cancelled.

    ``owned``: the app started this cluster. A shared cluster's workers also run
    other people's work (and their cancelled tasks look the same), so they are
    restarted only when ``jobs.restart-stuck-workers`` is ``always``.
    """
    grace = config.get("jobs.restart-stuck-after")
    policy = config.get("jobs.restart-stuck-workers", "owned")
    if grace is None or grace < 0 or policy == "never" or (policy == "owned" and not owned):
        return

    async def check():
        try:
            await restart_stuck_workers(client, grace)
        except Exception:  # workers without a nanny, the cluster gone: nothing to do
            log.info("Could not restart workers stuck on cancelled tasks", exc_info=True)

    task = asyncio.ensure_future(check())
    _CHECKS.add(task)
    task.add_done_callback(_CHECKS.discard)
