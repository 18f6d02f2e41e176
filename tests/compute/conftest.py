"""Fixtures for compute tests: a session's job runner on the shared LocalCluster."""
from __future__ import annotations

import pytest

from dashboard.cluster import ClusterManager
from dashboard.jobs import JobRunner


@pytest.fixture
async def runner(local_cluster):
    """A JobRunner, as a browser session holds one, connected to ``local_cluster``."""
    manager = ClusterManager(address=local_cluster.scheduler_address)
    await manager.start()
    yield JobRunner(manager=manager)
    await manager.close()
