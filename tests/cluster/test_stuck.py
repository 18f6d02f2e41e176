"""Whose workers a Cancel may restart: the policy alone (the restart itself is in tests/faults)."""
from __future__ import annotations

import dask.config
import pytest

from dashboard.cluster import stuck


class NoClient:
    status = "running"


@pytest.mark.parametrize("policy, owned, checks", [
    ("owned", True, True),    # the embedded cluster: the app's own workers
    ("owned", False, False),  # a shared scheduler: other people's work runs there too
    ("always", False, True),
    ("never", True, False),
])
async def test_restarting_stuck_workers_follows_the_policy(policy, owned, checks):
    with dask.config.set({"workbench.jobs.restart-stuck-workers": policy,
                          "workbench.jobs.restart-stuck-after": 600}):
        stuck.free_stuck_workers_later(NoClient(), owned=owned)
    try:
        assert bool(stuck._CHECKS) is checks
    finally:
        for task in stuck._CHECKS:
            task.cancel()
        stuck._CHECKS.clear()
