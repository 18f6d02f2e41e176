"""Fixtures for compute tests: a session's job runner on the shared LocalCluster."""
from __future__ import annotations

import pytest

from dashboard.jobs import JobRunner


@pytest.fixture
def runner(manager):
    """A JobRunner, as a browser session holds one, connected to ``local_cluster``."""
    return JobRunner(manager=manager)
