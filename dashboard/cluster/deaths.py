"""Why a worker died under a job, as a sentence: out of memory, or (maybe) not.

Dask raises ``KilledWorker`` when the workers running a task keep dying
(``distributed.scheduler.allowed-failures``). A nanny that restarts its worker
for exceeding the memory limit logs a ``worker-restart-memory`` event on the
scheduler naming the worker, so the client can tell a memory kill from a crash.
"""
from __future__ import annotations

import asyncio

import dask.config
from dask.utils import format_bytes
from distributed import Client

ADVICE = ("Try a smaller dataset or tighter filters, more workers (or more memory per "
          "worker), or the data as Parquet so that only the columns used are read.")


def killed_worker(exc: BaseException) -> BaseException | None:
    """The ``KilledWorker`` in ``exc``'s chain, by class name (it may come re-raised)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if any(cls.__name__ == "KilledWorker" for cls in type(exc).__mro__):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _worker(exc: BaseException):
    """The last worker that died running the task: ``KilledWorker.last_worker``, the
    scheduler's record of it (address, memory limit...)."""
    return getattr(exc, "last_worker", None)


def _address(exc: BaseException) -> str | None:
    return getattr(_worker(exc), "address", None)


async def explain_worker_death(client: Client, exc: BaseException) -> str | None:
    """A sentence for a job that failed because its workers died, else None."""
    killed = killed_worker(exc)
    if killed is None:
        return None
    address = _address(killed)
    rss = None
    for attempt in range(2):  # the nanny's event can trail the worker's death a little
        try:
            events = await client.get_events("worker-restart-memory")
        except Exception:  # an old scheduler, or it went away: say what we can
            events = ()
        rss = next((msg.get("rss") for _, msg in reversed(events)
                    if isinstance(msg, dict) and msg.get("worker") == address), None)
        if rss is not None or attempt:
            break
        await asyncio.sleep(0.5)
    limit = getattr(_worker(killed), "memory_limit", None) or await _limit_per_worker(client)
    each = f" of {format_bytes(limit)}" if limit else ""
    if rss is not None:
        share = dask.config.get("distributed.worker.memory.terminate", 0.95) or 0.95
        return (f"A worker ran out of memory running this job: it reached "
                f"{format_bytes(rss)}, over {share:.0%} of its memory limit{each}, and was "
                f"restarted. {ADVICE}")
    where = f" (limit{each} per worker)" if limit else ""
    return (f"A worker died while running this job, possibly from running out of "
            f"memory{where}. {ADVICE}")


async def _limit_per_worker(client: Client, patience: float = 3.0) -> int | None:
    """Memory limit of one worker; waits a little for a nanny to bring one back when the
    dead worker was the only one."""
    for _ in range(int(patience / 0.25) + 1):
        try:
            info = await client.scheduler.identity(n_workers=0)
        except Exception:
            return None
        workers = info.get("n_workers") or 0
        if workers:
            return int(info.get("total_memory", 0) / workers) or None
        await asyncio.sleep(0.25)
    return None
