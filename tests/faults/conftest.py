"""Faults: real processes killed or starved mid-job; the summary line the README quotes.

Every test in this folder is one fault the app must survive (a parametrized
run counts once per run). At the end of the session the terminal summary
prints ``faults survived: passed/total`` and the figures the tests measured
(seconds until a killed worker is back, until the app reconnects).
"""
from __future__ import annotations

import os
import signal
import time

import dask.config
import pytest

from dashboard.cluster import ClusterManager
from dashboard.jobs import CACHE
from tests.conftest import ProcessCluster

# The card follows the cluster closely, so a worker that leaves for ~2 s is seen leaving.
FAST_WATCH = {"workbench.connection.check-interval": 0.1}

_outcomes = {"survived": 0, "total": 0}
FIGURES: dict[str, list[float]] = {}


def record(figure: str, seconds: float) -> None:
    """A duration worth quoting (e.g. "worker back"), shown in the summary as min–max."""
    FIGURES.setdefault(figure, []).append(seconds)


def _ours(report) -> bool:
    return "tests/faults/" in report.nodeid.replace(os.sep, "/")


def pytest_runtest_logreport(report):
    if not _ours(report) or report.skipped:
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        _outcomes["total"] += 1
        _outcomes["survived"] += report.passed


def pytest_terminal_summary(terminalreporter):
    if not _outcomes["total"]:
        return
    figures = "".join(f" · {name} {min(v):.1f}–{max(v):.1f} s (n={len(v)})"
                      for name, v in FIGURES.items())
    terminalreporter.write_line(
        f"faults survived: {_outcomes['survived']}/{_outcomes['total']}{figures}")


@pytest.fixture(scope="module")
def nanny_cluster(tmp_path_factory) -> ProcessCluster:
    """``dask scheduler`` and two ``dask worker`` processes, each under a nanny that
    restarts it when it dies."""
    cluster = ProcessCluster(tmp_path_factory.mktemp("faults"), n_workers=2).start()
    yield cluster
    cluster.stop()


@pytest.fixture
async def fault_manager(nanny_cluster, catalog):
    """The app's cluster connection, watching closely; an empty result cache."""
    CACHE.clear()
    with dask.config.set(FAST_WATCH):
        manager = ClusterManager(address=nanny_cluster.address)
        await manager.start()
        yield manager
        await manager.close()


async def worker_pids(manager) -> dict[str, int]:
    """Worker address -> pid of the worker process (not its nanny)."""
    return await manager.client.run(os.getpid)


def kill(pid: int) -> float:
    """SIGKILL one process (a worker: its nanny starts a new one); returns when it was sent."""
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()
