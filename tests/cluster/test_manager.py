"""The cluster manager against real clusters: embedded, separate-process, factory-made."""
from __future__ import annotations

import asyncio
import os
import time

import dask.config
import pytest
from distributed import Client
from distributed.security import Security

from dashboard.cluster import ClusterManager, ClusterUnavailable
from dashboard.cluster.manager import dashboard_base
from dashboard.cluster.plots import individual_plots
from tests.conftest import ProcessCluster, free_port


async def wait_for(predicate, timeout: float, what: str):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"Timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def nannies(client) -> set[str]:
    """The nanny addresses of the scheduler's workers."""
    info = await client.scheduler.identity()
    return {worker["nanny"] for worker in info["workers"].values()}


async def test_embedded_local_cluster_starts_computes_and_scales():
    manager = ClusterManager(cluster_kwargs={"n_workers": 1})
    try:
        await manager.start()
        assert manager.status == "connected"
        assert manager.n_workers == 1 and manager.n_threads == 1
        assert manager.scalable
        assert manager.dashboard_url.startswith("http://127.0.0.1:")
        client = await manager.get_client()
        assert await client.submit(sum, [1, 2, 3]) == 6

        await manager.scale(2)
        await wait_for(lambda: manager.n_workers == 2, 30, "a second worker")
        await manager.adapt(1, 2)
        assert manager.adaptive
        with pytest.raises(ValueError, match="above the maximum"):
            await manager.adapt(3, 1)
    finally:
        await manager.close()
    assert manager.cluster is None


async def test_workers_the_local_cluster_closes_after_a_restart_come_back():
    # LocalCluster closes a worker's nanny when, lost-worker-timeout after that worker
    # left, it is away again: here, 0.2 s after a restart, while its nanny restarts it.
    # Without the app starting it again, the card stays at 0 workers for good.
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "200ms",
                          "workbench.connection.check-interval": 0.2}):
        manager = ClusterManager(cluster_kwargs={"n_workers": 1})
        try:
            await manager.start()
            client = await manager.get_client()
            before = await nannies(client)
            await client.restart_workers(list(await client.run(lambda: 0)),
                                         raise_for_error=False, timeout=5)
            # The cluster closed that worker's nanny; a new nanny's worker computes. (Not
            # the card at 0 workers first: the app may start it again before it shows 0.)
            deadline = asyncio.get_running_loop().time() + 60
            while not ((now := await nannies(client)) and not now & before):
                assert asyncio.get_running_loop().time() < deadline, "no worker came back"
                await asyncio.sleep(0.2)
            assert await client.submit(sum, [1, 2, 3]) == 6
            await wait_for(lambda: manager.n_workers == 1, 30, "the card to show it")
        finally:
            await manager.close()


async def test_start_is_shared_by_concurrent_callers():
    manager = ClusterManager(cluster_kwargs={"n_workers": 1})
    try:
        await asyncio.gather(*(manager.start() for _ in range(5)))
        assert manager.cluster is not None
        assert manager.status == "connected"
    finally:
        await manager.close()


async def test_existing_scheduler_from_dask_config(process_cluster):
    # Users who set DASK_SCHEDULER_ADDRESS need no setting of ours.
    with dask.config.set({"scheduler-address": process_cluster.address}):
        manager = ClusterManager()
        await manager.start()
    try:
        assert manager.cluster is None and not manager.scalable
        assert manager.scheduler_address == process_cluster.address
        assert manager.n_workers == process_cluster.n_workers
        assert manager.dashboard_url == process_cluster.dashboard_url
        with pytest.raises(ClusterUnavailable, match="managed elsewhere"):
            await manager.scale(3)
        plots = await individual_plots(manager.dashboard_url)
        assert plots["Task Stream"] == "individual-task-stream"
        assert plots["Cluster Map"] == "statics/individual-cluster-map.html"
    finally:
        await manager.close()


async def test_a_given_asynchronous_client_is_used_and_left_open(async_client, local_cluster):
    # A notebook's own client on this loop: the app computes through it, never closes it.
    manager = ClusterManager(client=async_client)
    await manager.start()
    try:
        assert await manager.get_client() is async_client
        assert manager.scheduler_address == local_cluster.scheduler_address
        assert manager.n_workers == 2 and not manager.scalable
    finally:
        await manager.close()
    assert async_client.status == "running"
    assert await async_client.submit(sum, [1, 2, 3]) == 6


async def test_a_given_synchronous_client_gets_a_sibling_on_this_loop(local_cluster):
    # The usual notebook Client() runs on a thread of its own, where awaiting fails: the
    # app opens its own asynchronous client to the same scheduler and closes only that one.
    from distributed import Client
    given = await asyncio.to_thread(Client, local_cluster.scheduler_address)
    try:
        manager = ClusterManager(client=given)
        await manager.start()
        own = await manager.get_client()
        assert own is not given
        assert own.scheduler.address == given.scheduler.address
        assert await own.submit(sum, [1, 2]) == 3
        await manager.close()
        assert own.status == "closed" and given.status == "running"
        assert await asyncio.to_thread(lambda: given.submit(sum, [2, 2]).result()) == 4
    finally:
        await asyncio.to_thread(given.close)


async def test_factory_config_builds_the_cluster():
    # The dask-labextension style factory: any cluster class by module and name.
    factory = {"module": "distributed", "class": "LocalCluster", "args": [],
               "kwargs": {"n_workers": 1, "processes": False, "dashboard_address": ":0"}}
    with dask.config.set({"workbench.cluster.factory": factory}):
        manager = ClusterManager()
        await manager.start()
    try:
        assert type(manager.cluster).__name__ == "LocalCluster"
        assert manager.n_workers == 1
    finally:
        await manager.close()


async def test_unreachable_scheduler_is_reported_then_reconnected(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    with dask.config.set({"workbench.connection.timeout": 1,
                          "workbench.connection.check-interval": 0.5}):
        manager = ClusterManager(address=address)
        await manager.start()
        try:
            # The app still opens and says why it has no cluster.
            assert manager.status == "disconnected"
            assert address in manager.message
            with pytest.raises(ClusterUnavailable, match="Cannot reach"):
                await manager.get_client()

            cluster = ProcessCluster(tmp_path, n_workers=1, port=port)
            await asyncio.to_thread(cluster.start)
            try:
                await wait_for(lambda: manager.status == "connected", 30, "reconnection")
                client = await manager.get_client()
                assert await client.submit(sum, [2, 3]) == 5

                # Scheduler dies: the card says so; it comes back: we reconnect.
                await asyncio.to_thread(cluster.scheduler.kill)
                await wait_for(lambda: manager.status != "connected", 30, "loss detected")
                await asyncio.to_thread(cluster.stop)
                cluster = ProcessCluster(tmp_path, n_workers=1, port=port)
                await asyncio.to_thread(cluster.start)
                await wait_for(lambda: manager.status == "connected" and manager.n_workers == 1,
                               60, "reconnection after restart")
                client = await manager.get_client()
                assert await client.submit(sum, [4, 5]) == 9
            finally:
                await asyncio.to_thread(cluster.stop)
        finally:
            await manager.close()


@pytest.mark.parametrize("link, base", [
    ("http://127.0.0.1:8787/status", "http://127.0.0.1:8787/"),
    ("/user/ana/proxy/8787/status", "/user/ana/proxy/8787/"),
    ("http://host:8787/status?x=1", "http://host:8787/"),
    ("http://host:8787", "http://host:8787/"),
    ("", ""),
])
def test_dashboard_base(link, base):
    assert dashboard_base(link) == base


async def test_a_hosted_embedded_cluster_lets_in_only_the_apps_own_client():
    # On a shared host any local account can reach 127.0.0.1: without credentials it
    # could run code as the server (run_on_scheduler). Hosted, the cluster speaks TLS.
    with dask.config.set({"workbench.hosted": True}):
        manager = ClusterManager(cluster_kwargs={"n_workers": 1})
        try:
            await manager.start()
            assert manager.scheduler_address.startswith("tls://127.0.0.1:")
            client = await manager.get_client()
            assert await client.submit(sum, [1, 2, 3]) == 6  # the app's work runs
            with pytest.raises((OSError, TimeoutError)):
                async with Client(manager.scheduler_address.replace("tls://", "tcp://"),
                                  asynchronous=True, timeout=3) as stranger:
                    await stranger.run_on_scheduler(os.getpid)
            # TLS with a certificate of one's own is refused too: only the app's is known.
            with pytest.raises((OSError, TimeoutError)):
                async with Client(manager.scheduler_address, asynchronous=True, timeout=3,
                                  security=Security.temporary()) as stranger:
                    await stranger.run_on_scheduler(os.getpid)
        finally:
            await manager.close()


async def test_a_scheduler_that_requires_tls_is_reached_with_dasks_tls_settings(tmp_path):
    # A team's scheduler with TLS (issue 18): the app connects with the certificate the
    # README says to set, distributed.comm.tls.*, as any dask client does.
    credentials = Security.temporary()
    files = {"ca": credentials.tls_ca_file, "cert": credentials.tls_client_cert,
             "key": credentials.tls_client_key}
    for name, pem in files.items():
        (tmp_path / f"{name}.pem").write_text(pem)
    tls = {name: tmp_path / f"{name}.pem" for name in files}
    cluster = await asyncio.to_thread(ProcessCluster(tmp_path, n_workers=1, tls=tls).start)
    try:
        settings = {"distributed.comm.tls.ca-file": str(tls["ca"]),
                    "distributed.comm.tls.client.cert": str(tls["cert"]),
                    "distributed.comm.tls.client.key": str(tls["key"])}
        with dask.config.set(settings):
            manager = ClusterManager(address=cluster.address)
            try:
                await manager.start()
                assert manager.status == "connected" and manager.n_workers == 1
                client = await manager.get_client()
                assert await client.submit(sum, [1, 2, 3]) == 6
            finally:
                await manager.close()
        # Without those settings it is not reached, and the card says what to set.
        manager = ClusterManager(address=cluster.address)
        try:
            await manager.start()
            assert manager.status == "disconnected"
            assert "distributed.comm.tls" in manager.message, manager.message
        finally:
            await manager.close()
    finally:
        await asyncio.to_thread(cluster.stop)


async def test_a_gather_probe_cut_short_leaves_nothing_on_the_cluster(manager, monkeypatch):
    # The probe that tells a client that can no longer gather times out on a slow
    # cluster. A scatter cut short once its data reached a worker left that key on the
    # scheduler for good (seen in a full run: one "int-…" key, for ever).
    client = manager.client
    before = set(await client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks)))
    for timeout in [0.001 * 1.5 ** i for i in range(16)]:  # 1 ms to ~0.4 s: every moment
        monkeypatch.setattr(ClusterManager, "PROBE_TIMEOUT", timeout)
        assert await manager._can_gather(client)
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        left = set(await client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.tasks))) - before
        if not left:
            break
        assert asyncio.get_running_loop().time() < deadline, f"left on the scheduler: {left}"
        await asyncio.sleep(0.1)


async def test_closing_while_a_probe_waits_on_busy_workers_leaves_nothing(local_cluster,
                                                                          async_client):
    # A client closed while its scatter is on the way leaves the scattered key on the
    # scheduler for good (the scheduler registers it for the client that just left).
    # Seen in CI: one "int-…" key for ever after a test's manager closed mid-probe.
    before = set(await async_client.run_on_scheduler(
        lambda dask_scheduler: list(dask_scheduler.tasks)))
    with dask.config.set({"workbench.connection.check-interval": 0.5}):
        manager = ClusterManager(address=local_cluster.scheduler_address)
        await manager.start()
        try:
            await asyncio.sleep(0.2)  # the probe made on connecting is done
            # Each worker's event loop then held, as a busy worker's would be: the
            # probe of the first check (at 0.5 s) waits on it with its data on the way.
            busy = asyncio.ensure_future(async_client.run(time.sleep, 1.5))
            await asyncio.sleep(0.7)
        finally:
            await manager.close()
    await busy
    deadline = asyncio.get_running_loop().time() + 10
    while left := set(await async_client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.tasks))) - before:
        assert asyncio.get_running_loop().time() < deadline, f"left on the scheduler: {left}"
        await asyncio.sleep(0.1)
