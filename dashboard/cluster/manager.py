"""One cluster and one asynchronous client per server process, shared by every session.

The manager starts (or connects to) the cluster, keeps an ``asynchronous=True``
client on the running event loop, watches it, and reconnects when the scheduler
comes back. Its params are the cluster card's model; it never imports Panel.
"""
from __future__ import annotations

import asyncio
import atexit
import logging
from typing import Any

import dask.config
import param
from distributed import Client
from distributed.comm import get_address_host

from .. import config
from .factory import make_cluster
from .gathering import gather

log = logging.getLogger(__name__)


class ClusterUnavailable(RuntimeError):
    """The scheduler cannot be reached; the message is meant for the user."""


class ClusterManager(param.Parameterized):
    """Process-wide connection to a Dask cluster."""

    PROBE_TIMEOUT = 10.0  # seconds for each step of the gather probe (see _can_gather)

    status = param.Selector(
        default="idle", objects=["idle", "starting", "connected", "reconnecting", "disconnected"],
        doc="Connection state shown on the cluster card.")
    message = param.String(default="", doc="A sentence for the user about the status.")
    scheduler_address = param.String(default="", doc="Address of the scheduler in use.")
    dashboard_url = param.String(default="", doc=(
        "http://host:port of the scheduler's dashboard as the server reaches it: "
        "the proxy's only upstream."))
    dashboard_link = param.String(default="", doc=(
        "Base URL of the dashboard as a browser reaches it directly, from "
        "distributed.dashboard.link (used in notebooks and without the proxy)."))
    n_workers = param.Integer(default=0, doc="Workers connected.")
    n_threads = param.Integer(default=0, doc="Threads over all workers.")
    memory_limit = param.Integer(default=0, doc="Bytes of memory limit over all workers.")
    scalable = param.Boolean(default=False, doc="Whether the app owns a cluster it can scale.")
    adaptive = param.Boolean(default=False, doc="Whether adaptive scaling is on.")

    def __init__(self, address: str | None = None, cluster_kwargs: dict | None = None,
                 client: Client | None = None, **params):
        """Connect to ``address``, or the cluster of ``client`` (a notebook's own), or start
        one from ``cluster_kwargs`` and the config. A given client is never closed here."""
        super().__init__(**params)
        self._address = address or (client.scheduler.address if client is not None else None)
        self._given_client = client
        self._cluster_kwargs = cluster_kwargs or {}
        self.cluster = None
        self.client: Client | None = None
        self._started: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # where the client lives
        self._watcher: asyncio.Task | None = None
        self._probe: asyncio.Task | None = None  # the gather probe in flight, if any
        self._scatters: set[asyncio.Future] = set()  # the probes' scatters on their way
        self._seen_workers: set = set()  # names of the owned cluster's workers so far
        self._closed = False

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Start or connect once; later calls wait for the first one."""
        if self._started is None:
            self._loop = asyncio.get_running_loop()
            self._started = asyncio.ensure_future(self._start())
        await self.on_client_loop(self._wait_started())

    async def _wait_started(self) -> None:
        await asyncio.shield(self._started)

    async def on_client_loop(self, coroutine):
        """Await ``coroutine`` on the loop the client lives on, from any loop.

        An asynchronous client works only on its own loop. JupyterLab 4.6 sends a
        widget's messages to an ipykernel subshell, a thread with a loop of its own,
        so a notebook's Run arrives on another loop than the cell that connected.
        """
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop():
            return await coroutine
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # the caller went away: so does its work
            raise

    async def _start(self) -> None:
        self.status = "starting"
        address = self._address or config.scheduler_address()
        if address:
            self.scheduler_address = address
            self.message = f"Connecting to the scheduler at {address}…"
        else:
            self.message = "Starting a local Dask cluster…"
            try:
                # Cluster start-up blocks (processes spawn), so it runs off the loop.
                self.cluster = await asyncio.to_thread(make_cluster, **self._cluster_kwargs)
            except Exception as e:
                self._started = None  # let a later call try again
                self.status = "disconnected"
                self.message = f"Could not start the Dask cluster: {e}"
                raise ClusterUnavailable(self.message) from e
            atexit.register(self._close_cluster)
            self.scheduler_address = self.cluster.scheduler_address
            self.scalable = hasattr(self.cluster, "scale")
        await self._connect()
        self._watcher = asyncio.ensure_future(self._watch())

    async def close(self) -> None:
        """Close the client and, if this manager started it, the cluster."""
        self._closed = True
        if self._watcher is not None:
            self._watcher.cancel()
        # A client that leaves while its scatter is on the way leaves that key on the
        # scheduler for good (the scheduler files it under the client that left).
        if self._scatters:
            await asyncio.wait(self._scatters, timeout=self.PROBE_TIMEOUT)
        if self._probe is not None:
            self._probe.cancel()
        if self.client is not None and self.client is not self._given_client:
            await self.client.close()
        await asyncio.to_thread(self._close_cluster)
        self.status = "idle"

    def _close_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    # -- connection --------------------------------------------------------

    async def get_client(self) -> Client:
        """The shared asynchronous client, or ClusterUnavailable with a clear message."""
        await self.start()
        if self.client is None or self.client.status != "running":
            raise ClusterUnavailable(self.message or "The Dask cluster is not connected.")
        return self.client

    async def _connect(self) -> None:
        if self._usable(self._given_client):
            self.client = self._given_client
            await self._refresh()
            return
        timeout = config.get("connection.timeout")
        # Read as the client connects, for its own message log only (see workbench.yaml).
        log_length = {"distributed.admin.low-level-log-length":
                      config.get("connection.message-log-length")}
        try:
            with dask.config.set(log_length):
                # The embedded cluster's own certificate when it has one; else dask's
                # configured security (distributed.comm.tls.*) for a TLS scheduler.
                client = await Client(self.scheduler_address, asynchronous=True,
                                      timeout=timeout, set_as_default=False,
                                      security=getattr(self.cluster, "security", None))
        except (OSError, TimeoutError) as e:
            self.status = "disconnected"
            self.message = (f"Cannot reach the Dask scheduler at {self.scheduler_address} "
                            f"({type(e).__name__}). Retrying…")
            return
        except TypeError as e:
            if "TLS" not in str(e):
                raise
            # distributed says this when a tls:// address meets no TLS settings.
            self.status = "disconnected"
            self.message = (f"The Dask scheduler at {self.scheduler_address} requires TLS: "
                            "set distributed.comm.tls.ca-file, .client.cert and .client.key "
                            "in dask's config. Retrying…")
            return
        self.client = client
        await self._refresh()

    @staticmethod
    def _usable(client: Client | None) -> bool:
        """Whether a given client can be the app's own: every call here is awaited on the
        running loop, so it must be asynchronous on that loop. A notebook's usual
        synchronous client runs on a thread of its own: the app then opens its own
        asynchronous client to the same scheduler and leaves the given one alone."""
        # Client.asynchronous: made asynchronous=True, and its loop is this thread's.
        return client is not None and client.status == "running" and client.asynchronous

    async def _watch(self) -> None:
        interval = config.get("connection.check-interval")
        while not self._closed:
            await asyncio.sleep(interval)
            try:
                if self.client is None or self.client.status in ("closed", "closing"):
                    await self._connect()
                else:
                    await self._refresh()
            except Exception:  # the watcher must outlive any single failure
                log.exception("Cluster health check failed")

    async def _refresh(self) -> None:
        client = self.client
        if client is None:
            return
        if client.status != "running":
            self.status = "reconnecting"
            self.message = (f"Lost the scheduler at {self.scheduler_address}; "
                            "reconnecting…")
            return
        # Asked afresh (totals only, cheap): the client's own cached identity lags by
        # up to its refresh interval, so a worker restarted by its nanny within that
        # time would never show as gone. (Not the scheduler's "all" event topic:
        # some of its events cannot be serialised and break the subscriber's comm.)
        try:
            info = await client.scheduler.identity(n_workers=0)
        except OSError:
            return  # the scheduler went away: the next check says so
        if client is not self.client or client.status != "running":
            return
        self.param.update(
            status="connected",
            message=f"Connected to {self.scheduler_address}",
            n_workers=info.get("n_workers", 0),
            n_threads=info.get("total_threads", 0),
            memory_limit=info.get("total_memory", 0),
            dashboard_url=self._dashboard_url(info),
            dashboard_link=dashboard_base(client.dashboard_link or ""),
        )
        # The gather probe beside the watch, not in it: a probe waiting on a worker just
        # killed must not hold back the next count (the card would miss a worker that
        # left and came back meanwhile).
        if info.get("n_workers") and (self._probe is None or self._probe.done()):
            self._probe = asyncio.ensure_future(self._probe_gather(client))
        await self._reopen_dropped_workers()

    async def _reopen_dropped_workers(self) -> None:
        """Start again the owned cluster's workers it closed by mistake.

        A ``SpecCluster`` (``LocalCluster``) closes a worker's nanny when, 15 s
        (``distributed.deploy.lost-worker-timeout``) after that worker left once, it is
        away again: a nanny restarting its worker at that moment (after a Cancel of a
        stuck task, or a memory kill) is closed for good, and the cluster keeps one
        worker less. ``scale`` to the same size starts the missing ones again.
        """
        cluster = self.cluster
        spec = getattr(cluster, "worker_spec", None)
        if spec is None or self.adaptive:  # not a SpecCluster; adapt re-scales by itself
            return
        try:
            present, wanted = set(dict(cluster.workers)), set(dict(spec))
        except RuntimeError:  # changed by the cluster's own thread meanwhile: next check
            return
        dropped = (wanted - present) & self._seen_workers
        self._seen_workers |= present
        if dropped:
            log.warning("The local cluster closed worker(s) %s; starting them again",
                        ", ".join(map(str, sorted(dropped, key=str))))
            await asyncio.to_thread(cluster.scale, len(wanted))

    async def _probe_gather(self, client: Client) -> None:
        try:
            if not await self._can_gather(client) and client is self.client:
                await self._replace(client)
        except Exception:  # like the watcher: outlive any single failure
            log.exception("Cluster gather probe failed")

    async def _can_gather(self, client: Client) -> bool:
        """Whether ``client`` still brings data back: a client whose shared gather
        request was cancelled fails every gather, for every session, while the
        scheduler answers ``identity`` as ever. Scattered data, not a task: the probe
        stays out of the task stream."""
        try:
            # Never cut short: a scatter cancelled once its data reached a worker
            # leaves its key on the scheduler for good. A slow one is let go when done.
            scatter = asyncio.ensure_future(client.scatter([0], hash=False))
            self._scatters.add(scatter)
            scatter.add_done_callback(self._scatters.discard)
            await asyncio.wait([scatter], timeout=ClusterManager.PROBE_TIMEOUT)
            if not scatter.done():
                scatter.add_done_callback(_release_scattered)
                return True
            [probe] = scatter.result()
            try:
                await asyncio.wait_for(gather(client, [probe]), ClusterManager.PROBE_TIMEOUT)
            finally:
                probe.release()
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                if not scatter.done():
                    scatter.add_done_callback(_release_scattered)
                raise  # our own watcher is being stopped
            return False
        except Exception:  # slow or gone: the next checks tell, not this probe
            return True
        return True

    async def _replace(self, broken: Client) -> None:
        """Swap a client that cannot gather for a new one to the same scheduler."""
        log.warning("The Dask client cannot gather any more; connecting a new one")
        self.client = None
        if broken is self._given_client:
            self._given_client = None  # a notebook's own client: left to its owner
        else:
            await broken.close()
        await self._connect()

    def _dashboard_url(self, info: dict[str, Any]) -> str:
        configured = config.get("dashboard-address")
        if configured:
            return configured.rstrip("/")
        port = info.get("services", {}).get("dashboard")
        if not port:
            return ""
        host = get_address_host(self.scheduler_address)
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{port}"

    # -- scaling -----------------------------------------------------------

    async def scale(self, n: int) -> None:
        """Scale an owned cluster to ``n`` workers (turns adaptive off)."""
        self._require_scalable(n)
        await asyncio.to_thread(self.cluster.scale, n)
        self.adaptive = False

    async def adapt(self, minimum: int, maximum: int) -> None:
        """Let an owned cluster scale itself between ``minimum`` and ``maximum`` workers."""
        self._require_scalable(minimum, maximum)
        if minimum > maximum:
            raise ValueError(f"Minimum workers ({minimum}) is above the maximum ({maximum}).")
        await asyncio.to_thread(self.cluster.adapt, minimum=minimum, maximum=maximum)
        self.adaptive = True

    def _require_scalable(self, *workers: int) -> None:
        if not self.scalable or self.cluster is None:
            raise ClusterUnavailable(
                "This cluster is managed elsewhere; scale it with its own tools.")
        most = config.get("cluster.max-workers")
        if most is not None and max(workers, default=0) > most:
            raise ValueError(f"At most {most} workers here (workbench.cluster.max-workers).")


def may_scale(user: str | None) -> bool:
    """Whether ``user`` may resize the app's own cluster: anyone locally; when hosted,
    only the users named in workbench.cluster.scale-users."""
    if not config.hosted():
        return True
    return bool(user) and user in (config.get("cluster.scale-users") or [])


def dashboard_base(link: str) -> str:
    """Base of a dashboard link: ``.../proxy/8787/status`` -> ``.../proxy/8787/``."""
    if not link:
        return ""
    base = link.split("?", 1)[0]
    if base.endswith("/status"):
        base = base[: -len("status")]
    return base if base.endswith("/") else base + "/"


_manager: ClusterManager | None = None


def get_manager() -> ClusterManager:
    """The process-wide manager every session and the proxy share."""
    global _manager
    if _manager is None:
        _manager = ClusterManager()
    return _manager


def _release_scattered(scatter: asyncio.Future) -> None:
    """Let go of a scatter's futures once it is done (see ``_can_gather``)."""
    if not scatter.cancelled() and scatter.exception() is None:
        for future in scatter.result():
            future.release()
