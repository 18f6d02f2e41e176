"""The embedded cluster: LocalCluster's workers, with its scheduler in a process of its own.

In the app's process the scheduler and its dashboard (a Bokeh server) shared the web
server's interpreter: every pane a user opened was drawn on it, and the performance
report was drawn with a Bokeh that ``panel serve`` patches (its ``save`` does nothing
there). In its own process it is like any other scheduler the app connects to.

distributed's ``SubprocessCluster`` (experimental) does this, but it never reads its
scheduler's stderr after start: after about 250 client connections the INFO lines fill
the pipe and the scheduler blocks in its log handler (reproduced with 2026.8.0). Here
the scheduler's log goes where the server's goes.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile

import dask.config
from distributed import Nanny, SpecCluster
from distributed.deploy.spec import ProcessInterface

START_TIMEOUT = 60  # seconds for the scheduler to write its address

log = logging.getLogger(__name__)


def inherited_config() -> dict[str, str]:
    """This process's dask config for a child's environment, as dask's own launchers
    pass it: settings made with ``dask.config.set`` (a notebook's, a test's) hold there
    too, as they did for a scheduler in this process."""
    try:
        return {"DASK_INTERNAL_INHERIT_CONFIG": dask.config.serialize(dask.config.global_config)}
    except (TypeError, ValueError) as e:  # a value JSON cannot carry: files and env only
        log.warning("The scheduler gets the config files only, not settings made here: %s", e)
        return {}


class SchedulerProcess(ProcessInterface):
    """``dask scheduler`` in a child process, for ``SpecCluster``'s scheduler spec."""

    def __init__(self, host: str = "127.0.0.1", dashboard_address: str = "127.0.0.1:0"):
        super().__init__()
        self.host, self.dashboard_address = host, dashboard_address
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        folder = tempfile.mkdtemp(prefix="dask-workbench-")
        scheduler_file = os.path.join(folder, "scheduler.json")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "distributed.cli.dask_scheduler",
            "--host", self.host, "--port", "0", "--scheduler-file", scheduler_file,
            "--dashboard-address", self.dashboard_address,
            "--preload", "dashboard.cluster.ends_with_app",
            env={**os.environ, **inherited_config()})
        try:
            self.address = await self._address(scheduler_file)
        except BaseException:
            await self.close()
            raise
        finally:
            if os.path.exists(scheduler_file):
                os.unlink(scheduler_file)
            os.rmdir(folder)
        await super().start()

    async def _address(self, scheduler_file: str) -> str:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"The Dask scheduler exited (code {self.process.returncode}) "
                                   "before it started: see the server's log.")
            try:
                with open(scheduler_file, encoding="utf-8") as f:
                    return json.load(f)["address"]
            except (OSError, ValueError, KeyError):
                await asyncio.sleep(0.1)
        raise TimeoutError(f"The Dask scheduler did not start within {START_TIMEOUT} s.")

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        await super().close()


def embedded_cluster(n_workers: int, threads_per_worker: int, memory_limit="auto",
                     host: str = "127.0.0.1",
                     dashboard_address: str = "127.0.0.1:0") -> SpecCluster:
    """A cluster of ``n_workers`` nannies (as ``LocalCluster`` makes them: scale, adapt
    and restarts work alike) and a scheduler in its own process."""
    worker = {"cls": Nanny, "options": {
        "host": host, "nthreads": threads_per_worker, "memory_limit": memory_limit,
        "dashboard": False, "silence_logs": logging.WARN}}
    return SpecCluster(
        scheduler={"cls": SchedulerProcess,
                   "options": {"host": host, "dashboard_address": dashboard_address}},
        workers={i: worker for i in range(n_workers)}, worker=worker,
        silence_logs=logging.WARN, name="Workbench")
