"""The scheduler SIGKILLed mid-job: the run fails with a sentence saying the cluster was
lost, the tab keeps the user's choices, the card says disconnected, the app reconnects
by itself when a scheduler comes back at the same address, and Run works again."""
from __future__ import annotations

import asyncio
import time

import dask.config

from dashboard.cluster import ClusterManager
from dashboard.compute.groupby import build, finish, same_result
from dashboard.views import Workbench
from tests.conftest import ProcessCluster
from tests.faults.conftest import FAST_WATCH, record
from tests.faults.test_worker_killed import SlowGroups, frame, until
from tests.views.test_dataset_picker import settled
from tests.views.test_groupby import use

CHOICES = {"group_by": ["k"], "value_columns": ["v"], "agg": "max", "sort": "key",
           "ascending": True, "top_n": 5}


async def test_scheduler_killed_mid_job_then_back_at_the_same_address(tmp_path, catalog):
    cluster = await asyncio.to_thread(ProcessCluster(tmp_path, n_workers=2).start)
    with dask.config.set({**FAST_WATCH, "workbench.connection.timeout": 2}):
        manager = ClusterManager(address=cluster.address)
        await manager.start()
        try:
            await _survive_a_scheduler_restart(manager, cluster, tmp_path)
        finally:
            await manager.close()
            await asyncio.to_thread(cluster.stop)


async def _survive_a_scheduler_restart(manager, cluster, tmp_path):
    app = Workbench(manager=manager)
    view = app.groupby
    await settled(app.store)
    use(view, SlowGroups())
    await settled(app.store)
    view.param.update(CHOICES)
    statuses = []
    manager.param.watch(lambda event: statuses.append(event.new), "status")

    running = asyncio.ensure_future(view.run())
    await until(lambda: view.job is not None and view.job.done >= 1, "the job under way")
    await asyncio.to_thread(cluster.scheduler.kill)
    killed_at = time.monotonic()
    job = await asyncio.wait_for(running, 60)

    # The run fails with a sentence, not a hang; the user's choices are all still there.
    assert job.status == "failed"
    assert view.error.startswith("The Dask cluster was lost while the job ran")
    assert "Your selections are kept; run again once it is back." in view.error
    assert {name: getattr(view, name) for name in CHOICES} == CHOICES
    assert app.store.dataset_name == "slow-groups"
    assert view.busy is False and view.can_run is True  # Run offered again, Cancel not
    # The card says the scheduler is gone.
    await until(lambda: manager.status in ("reconnecting", "disconnected"), "the loss shown")
    assert cluster.address.split("//")[1] in manager.message

    # A scheduler comes back at the same address (its workers with it): the app
    # reconnects on its own, with nothing clicked.
    await asyncio.to_thread(cluster.stop)
    back = ProcessCluster(tmp_path / "back", n_workers=2, port=cluster.port)
    (tmp_path / "back").mkdir()
    try:
        await asyncio.to_thread(back.start)
        up_at = time.monotonic()
        await until(lambda: manager.status == "connected" and manager.n_workers == 2,
                    "the reconnection", 60)
        record("reconnected after the scheduler is back", time.monotonic() - up_at)
        record("scheduler kill to connected again (incl. restart)", time.monotonic() - killed_at)
        assert {"connected", "reconnecting"} <= set(statuses) or \
            {"connected", "disconnected"} <= set(statuses)

        # Run works again, with the right answer, from the kept choices.
        again = await asyncio.wait_for(view.run(), 120)
        assert again.status == "done", again.error
        assert view.error == ""
        expected = finish(build(frame(), view.spec()), view.spec())
        assert same_result(again.result, expected)
    finally:
        await app.store.close()
        await asyncio.to_thread(back.stop)
