"""Serving: the programmatic entry mounts the proxy; the embedded cluster dies with the server."""
from __future__ import annotations

import psutil

from dashboard.cluster import ClusterManager
from dashboard.server import serve
from tests.conftest import free_port, http_status, wait_until


def test_programmatic_serve_mounts_the_proxy(process_cluster):
    port = free_port()
    server = serve(manager=ClusterManager(address=process_cluster.address), port=port,
                   address="127.0.0.1", threaded=True)
    try:
        root = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_status(f"{root}/app") == 200, 60, "pn.serve")
        assert http_status(f"{root}/dask/individual-task-stream") == 200
        assert http_status(f"{root}/dask/api/v1/retire_workers") == 404
    finally:
        server.stop()


def test_embedded_cluster_closes_with_the_server(serve):
    app = serve()
    # The first proxied request starts the embedded cluster.
    wait_until(lambda: http_status(f"{app.root}/dask/individual-plots.json") == 200, 90,
               "the embedded cluster")
    server = psutil.Process(app.process.proc.pid)
    workers = server.children(recursive=True)
    assert len(workers) >= 2  # nannies and their worker processes
    app.process.proc.terminate()  # what Ctrl-C / a service manager does
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == [], f"worker processes outlived the server: {alive}"
