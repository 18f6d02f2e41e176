"""Serving: the programmatic entry mounts the proxy; the embedded cluster dies with the server."""
from __future__ import annotations

import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import psutil
from bokeh.util.token import get_token_payload

from tests.conftest import Process, csrf_field, free_port, http_status, wait_until
from tests.proxy.test_proxy_server import bokeh_token


def script_serve(tmp_path, address: str, port: int, **options) -> Process:
    """``dashboard.server.serve`` run by a script of its own, as a user runs it.

    Not in a thread of the test process: Bokeh's current document is process-wide,
    and a served session's callbacks running beside later tests made their views
    take that session for the page they render in.
    """
    script = ("from dashboard.cluster import ClusterManager\n"
              "from dashboard.server import serve\n"
              f"serve(manager=ClusterManager(address={address!r}), port={port}, "
              f"address='127.0.0.1', **{options!r})\n")
    return Process([sys.executable, "-c", script], tmp_path / "serve.log")


def test_programmatic_serve_mounts_the_proxy(process_cluster, tmp_path):
    port = free_port()
    server = script_serve(tmp_path, process_cluster.address, port)
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # let the test read each Location itself


def test_a_login_retried_under_a_prefix_lands_in_the_app(process_cluster, tmp_path):
    # Panel sends a login without a "next" page (a retry after a wrong password) to its
    # process-wide base URL, which was "/" under a prefix: a 404 outside the app.
    port, prefix = free_port(), "/team/wb"
    server = script_serve(tmp_path, process_cluster.address, port, prefix=prefix,
                          basic_auth="s3cret-pw", cookie_secret="c" * 32)
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)

    def post_login(password: str) -> str:
        with opener.open(f"{root}/login", timeout=10) as form:  # the form, and its cookie
            csrf = csrf_field(form.read().decode())
        data = urllib.parse.urlencode({**csrf, "username": "ana", "password": password}).encode()
        try:
            opener.open(f"{root}/login", data=data, timeout=10)
        except urllib.error.HTTPError as e:
            assert e.code == 302
            return e.headers["Location"]
        raise AssertionError("the login did not redirect")

    root = f"http://127.0.0.1:{port}{prefix}"
    try:
        wait_until(lambda: http_status(f"{root}/login") == 200, 60, "pn.serve")
        assert post_login("wrong").startswith(f"{prefix}/login?error=")
        opener.open(f"{root}/login?error=Invalid", timeout=10)  # the form, shown again
        assert post_login("s3cret-pw") == f"{prefix}/"
        # Logged in, the app's page holds no cookie in its session token (issue 18).
        with opener.open(f"{root}/app", timeout=30) as answer:
            page = answer.read().decode()
        payload = get_token_payload(bokeh_token(page.encode()))
        assert payload["cookies"] == {} and "workbench_identity" in payload
    finally:
        server.stop()
