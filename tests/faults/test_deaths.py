"""A ``KilledWorker`` as the client receives it, explained from its public ``last_worker``
and the scheduler's real ``worker-restart-memory`` events (no process is killed here:
``test_memory`` does that end to end)."""
from __future__ import annotations

import pickle
import uuid

from distributed import KilledWorker
from distributed.core import Status
from distributed.scheduler import WorkerState

from dashboard.cluster.deaths import explain_worker_death

MiB = 2**20


def killed(address: str, memory_limit: int) -> BaseException:
    """The scheduler's exception (pickled, as it travels), re-raised by the app's code."""
    worker = WorkerState(address=address, status=Status.closed, pid=0, name=address,
                         memory_limit=memory_limit, local_directory="", nanny=None,
                         server_id=uuid.uuid4().hex)
    exc = pickle.loads(pickle.dumps(KilledWorker("('x', 0)", worker, 0)))
    try:
        try:
            raise exc
        except KilledWorker as e:
            raise RuntimeError("the group-by failed") from e
    except RuntimeError as outer:
        return outer


async def test_a_worker_death_is_explained_from_last_worker_and_memory_events(async_client):
    # Addresses of no real worker: the events logged here can match nothing else.
    hungry, crashed = (f"tcp://192.0.2.1:{uuid.uuid4().int % 60000 + 1024}" for _ in "ab")
    await async_client.log_event("worker-restart-memory", {"worker": hungry, "rss": 500 * MiB})

    sentence = await explain_worker_death(async_client, killed(hungry, 400 * MiB))
    assert sentence.startswith("A worker ran out of memory running this job: it reached "
                               "500.00 MiB, over 95% of its memory limit of 400.00 MiB, "
                               "and was restarted.")

    sentence = await explain_worker_death(async_client, killed(crashed, 300 * MiB))
    assert sentence.startswith("A worker died while running this job, possibly from "
                               "running out of memory (limit of 300.00 MiB per worker).")

    assert await explain_worker_death(async_client, ZeroDivisionError("x")) is None
