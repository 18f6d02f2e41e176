"""What every hostile case checks, whatever the tab: the user was told in a sentence, and
nothing is left looking busy."""
from __future__ import annotations

import asyncio

import dask.config
import pytest_asyncio

from dashboard.cluster import ClusterManager
from dashboard.jobs import CACHE
from dashboard.store import SessionStore
from dashboard.views import DatasetPicker
from dashboard.views.notify import plain


async def until(predicate, what: str, timeout: float = 90) -> None:
    """Poll ``predicate`` on the loop (jobs run on it) until true, failing after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(local_cluster, tmp_path_factory):
    """One browser session's worth of app, shared by a module's cases: the cluster
    connection, the session's store (on the flights, with its job runner) and its picker."""
    catalog = tmp_path_factory.mktemp("catalog") / "catalog.yml"
    with dask.config.set({"workbench.datasets.catalog": str(catalog)}):
        manager = ClusterManager(address=local_cluster.scheduler_address)
        await manager.start()
        CACHE.clear()
        store = SessionStore(manager=manager)
        picker = DatasetPicker(store=store)
        await until(lambda: store.summary is not None and not store.loading, "the flights")
        yield picker, store
        await store.close()
        await manager.close()


def told(notices, sentence: str) -> str:
    """The notice that says ``sentence`` (as the page shows it, markup escaped)."""
    shown = [n.message for n in notices.notifications]
    for message in shown:
        if plain(sentence) in message:
            return message
    raise AssertionError(f"no notice says {sentence!r}; notices: {shown}")


def not_busy(view) -> None:
    """No job left running and the tab not busy: its buttons usable again but Cancel, which
    has nothing to stop (the buttons follow ``busy`` and ``can_run``; tests/views checks it)."""
    assert view.job is None or view.job.status != "running", view.job.status
    assert view.busy is False
    if "can_run" in view.param:
        assert view.can_run is True
