"""Shared fixtures: real Dask clusters, a real ``panel serve``, a real Chromium."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
SERVE_TIMEOUT = 90  # seconds for a server (and its LocalCluster) to come up


# Tiers, by folder: `python -m pytest -m "not (ui or faults or load or benchmark)"`
# runs the fast tier alone; CI runs everything.
TIERS = {"ui": "tests/ui/", "faults": "tests/faults/", "load": "tests/load/",
         "benchmark": "tests/benchmarks/"}


def pytest_collection_modifyitems(items):
    for item in items:
        path = str(item.fspath).replace(os.sep, "/")
        for marker, folder in TIERS.items():
            if folder in path:
                item.add_marker(getattr(pytest.mark, marker))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as e:  # keep polling: the thing may not be up yet
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"Timed out after {timeout}s waiting for {what} (last error: {last_error})")


def csrf_field(html: str) -> dict[str, str]:
    """The login form's CSRF field, as a browser posts it back."""
    match = re.search(r'name="_xsrf" value="([^"]+)"', html)
    assert match, "the login form has no CSRF field"
    return {"_xsrf": match.group(1)}


def login_form(root: str) -> tuple[dict[str, str], str]:
    """What opening ``<root>/login`` gives a browser: the form's CSRF field, and the
    Cookie header that must come back with it."""
    with urllib.request.urlopen(f"{root}/login", timeout=30) as response:
        html = response.read().decode()
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    return csrf_field(html), f"_xsrf={jar['_xsrf'].value}"


def http_status(url: str, timeout: float = 5, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


class Process:
    """A child process with its output in a log file, stopped at teardown."""

    def __init__(self, args: list[str], log: Path, env: dict | None = None):
        self.args = args
        self.log = log
        self._file = open(log, "wb")
        self.proc = subprocess.Popen(
            args, stdout=self._file, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, **(env or {})}, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._file.close()


@pytest.fixture(autouse=True)
def bokeh_current_document():
    """Each test ends with Bokeh's current-document stack as it found it.

    The stack is one list for the whole process: an in-process server stopped in
    the middle of a session's callback leaves that session's document on it, and
    views built by later tests would take it for the page they render in.
    """
    from bokeh.io import doc
    before = list(doc._PATCHED_CURDOCS)
    yield
    doc._PATCHED_CURDOCS[:] = before


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class ProcessCluster:
    """``dask scheduler`` and ``dask worker`` as separate processes on 127.0.0.1."""

    def __init__(self, logdir: Path, n_workers: int = 2, port: int | None = None,
                 tls: dict[str, Path] | None = None):
        self.logdir = logdir
        self.port = port or free_port()
        self.dashboard_port = free_port()
        # tls: {"ca": ..., "cert": ..., "key": ...} files: the cluster then speaks TLS only.
        self.tls_args = [] if tls is None else [
            "--tls-ca-file", str(tls["ca"]), "--tls-cert", str(tls["cert"]),
            "--tls-key", str(tls["key"])]
        self.address = f"{'tls' if tls else 'tcp'}://127.0.0.1:{self.port}"
        self.dashboard_url = f"http://127.0.0.1:{self.dashboard_port}"
        self.n_workers = n_workers
        self.scheduler: Process | None = None
        self.workers: list[Process] = []

    def start_scheduler(self) -> None:
        self.scheduler = Process(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(self.port), "--dashboard-address", f"127.0.0.1:{self.dashboard_port}",
             *self.tls_args, *(["--protocol", "tls"] if self.tls_args else [])],
            self.logdir / f"scheduler-{self.port}.log")
        wait_until(lambda: http_status(f"{self.dashboard_url}/health") == 200, 60,
                   "the dask scheduler")

    def start_workers(self) -> None:
        for i in range(self.n_workers):
            self.workers.append(Process(
                [sys.executable, "-m", "distributed.cli.dask_worker", self.address,
                 "--nthreads", "1", "--memory-limit", "2GiB", "--host", "127.0.0.1",
                 "--name", f"worker-{i}", "--no-dashboard", *self.tls_args],
                self.logdir / f"worker-{self.port}-{i}.log"))

    def wait_for_workers(self, n: int | None = None) -> None:
        import json
        n = self.n_workers if n is None else n

        def ready():
            with urllib.request.urlopen(f"{self.dashboard_url}/json/counts.json", timeout=5) as r:
                return json.load(r)["workers"] >= n
        wait_until(ready, 60, f"{n} dask workers")

    def start(self) -> "ProcessCluster":
        self.start_scheduler()
        self.start_workers()
        self.wait_for_workers()
        return self

    def stop(self) -> None:
        for p in self.workers:
            p.stop()
        self.workers = []
        if self.scheduler:
            self.scheduler.stop()


@pytest.fixture(scope="session")
def process_cluster(tmp_path_factory) -> ProcessCluster:
    cluster = ProcessCluster(tmp_path_factory.mktemp("process-cluster")).start()
    yield cluster
    cluster.stop()


class App:
    """``panel serve dashboard/app`` in a child process."""

    def __init__(self, logdir: Path, *serve_args: str, plugin: bool = True,
                 app_args: tuple[str, ...] = (), env: dict | None = None,
                 prefix: str = ""):
        self.port = free_port()
        self.prefix = prefix.strip("/")
        args = [sys.executable, "-m", "panel", "serve", "dashboard/app",
                "--port", str(self.port), "--address", "127.0.0.1",
                "--allow-websocket-origin", f"127.0.0.1:{self.port}",
                "--allow-websocket-origin", f"localhost:{self.port}", *serve_args]
        if plugin:
            args += ["--plugins", "dashboard.proxy.plugin"]
        if self.prefix:
            args += ["--prefix", f"/{self.prefix}"]
        if app_args:
            args += ["--args", *app_args]
        self.process = Process(args, logdir / f"panel-{self.port}.log", env=env)
        self.root = f"http://127.0.0.1:{self.port}" + (f"/{self.prefix}" if self.prefix else "")
        self.url = f"{self.root}/app"

    def wait_ready(self, path: str = "app") -> "App":
        def up():
            if self.process.proc.poll() is not None:
                raise RuntimeError(f"panel serve exited:\n{self.process.output()[-3000:]}")
            return http_status(f"{self.root}/{path}") in (200, 302)
        wait_until(up, SERVE_TIMEOUT, f"panel serve at {self.root}/{path}")
        return self

    def stop(self) -> None:
        self.process.stop()


def serving(tmp_path_factory):
    """Factory: start a ``panel serve`` with the given options; all stopped when done."""
    apps: list[App] = []

    def start(*serve_args, ready_path="app", **kwargs) -> App:
        app = App(tmp_path_factory.mktemp("serve"), *serve_args, **kwargs)
        apps.append(app)
        return app.wait_ready(ready_path)

    yield start
    for app in apps:
        app.stop()


# A module's apps (and the clusters they embed) stop with its last test, so an idle
# server never shares the machine with the next module's.
serve = pytest.fixture(scope="module", name="serve")(serving)
serve_for_session = pytest.fixture(scope="session", name="serve_for_session")(serving)


@pytest.fixture(scope="session")
def proxied_app(serve_for_session, process_cluster) -> App:
    """The app with the proxy plugin, on the separate-process cluster."""
    app = serve_for_session(app_args=("--scheduler", process_cluster.address))
    # The proxy answers once the app's process has connected to the scheduler.
    wait_until(lambda: http_status(f"{app.root}/dask/individual-plots.json") == 200, 60,
               "the proxied dashboard")
    return app


@pytest.fixture(scope="session")
def local_cluster():
    """A real LocalCluster with worker processes, shared by the tests that compute."""
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture
async def async_client(local_cluster):
    """An asynchronous client on the test's loop, as the app holds one on Panel's."""
    from distributed import Client
    async with Client(local_cluster.scheduler_address, asynchronous=True) as client:
        yield client


@pytest.fixture
async def manager(local_cluster):
    """The app's cluster connection (as a server process holds one) to ``local_cluster``."""
    from dashboard.cluster import ClusterManager
    manager = ClusterManager(address=local_cluster.scheduler_address)
    await manager.start()
    yield manager
    await manager.close()


@pytest.fixture
def catalog(tmp_path):
    """An empty catalog file of the test's own."""
    import dask.config
    path = tmp_path / "catalog.yml"
    with dask.config.set({"workbench.datasets.catalog": str(path)}):
        yield path
