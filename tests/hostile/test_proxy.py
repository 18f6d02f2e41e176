"""The dashboard proxy of a real ``panel serve`` under attack, beyond tests/proxy: more
ways to name another host or path (double encoding, backslashes, ``@``, IPv6 literals,
unicode look-alikes, very long paths), every method but GET, and, with ``--basic-auth``,
every route (pages, files, plot sockets, the event stream) refusing an anonymous or
forged client.

A recording upstream (a fake scheduler dashboard that answers 200 to anything) sits
behind the auth server: whatever the allowlist or the login lets through shows up there.
"""
from __future__ import annotations

import asyncio
import http.client
from urllib.parse import urlencode

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketError

from tests.conftest import http_status, login_form, wait_until
from tests.hostile.conftest import tally
from tests.proxy.test_proxy_server import (REFUSED, TIMEOUT, FakeDashboard, login, read_events,
                                           request, ws_connect)

# Request targets that try to reach another host, or a path the allowlist refuses.
SSRF = [
    "/dask/%252e%252e%252finfo/main/workers.html",  # double-encoded ../
    "/dask/%25252e%25252e/info",  # triple
    "/dask/static/%2e%2e%2f%2e%2e%2finfo",
    "/dask/statics/..;/info/main/workers.html",
    "/dask/status/%2e%2e/info/main/workers.html",
    "/dask/%2F%2Fevil.com/status",
    "/dask/%252F%252Fevil.com/status",
    "/dask/\\\\evil.com\\status",
    "/dask/%5C%5Cevil.com%5Cstatus",
    "/dask/status\\..\\info",
    "/dask/https:%2F%2Fevil.com",
    "/dask/user:pass@evil.com/status",
    "/dask/%40evil.com/status",
    "/dask/individual-task-stream@evil.com",
    "/dask/[::1]/status",
    "/dask/[::ffff:127.0.0.1]:8786/",
    "/dask/[fe80::1%25eth0]/status",
    "/dask/0x7f.1:8786/",
    "/dask/2130706433/status",
    "/dask/%EF%BC%8E%EF%BC%8E/info",  # fullwidth dots
    "/dask/%EF%BD%93tatus",  # a look-alike letter
    "/dask/status/" + "%2e%2e/" * 2000,
    "/dask/individual-" + "a" * 100_000,
    "//evil.com/dask/status",
    "http://127.0.0.1@evil.com/dask/status",
    "http://[::1]:8786/dask/status",
]
METHODS = ["HEAD", "TRACE", "PROPFIND", "FOO", "CONNECT"]


def _sent_target(target: str) -> str:
    return target if len(target) < 60 else target[:60] + "..."


def refused_targets(port: int, targets, headers=None) -> list[str]:
    """The targets that were *not* refused with a 4xx free of dashboard content."""
    failures = []
    for target in targets:
        try:
            status, _, body = request(port, target, headers=headers)
        except http.client.RemoteDisconnected:  # the server hung up: refused too
            continue
        if not 400 <= status < 500 or b"bokeh" in body.lower():
            failures.append(f"{_sent_target(target)!r}: {status} {body[:80]!r}")
    return failures


@pytest.fixture(scope="module")
def recorder():
    server = FakeDashboard().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def guarded_app(serve, process_cluster, recorder):
    """``--basic-auth`` on, and the dashboard upstream is the recorder."""
    app = serve("--basic-auth", "s3cret", "--cookie-secret", "y" * 32,
                app_args=("--scheduler", process_cluster.address),
                env={"DASK_WORKBENCH__DASHBOARD_ADDRESS": recorder.url})
    app.cookie = login(app)
    wait_until(lambda: http_status(f"{app.root}/dask/individual-echo",
                                   headers={"Cookie": app.cookie}) == 200, 60,
               "the proxy to the recorder")
    return app


def test_ssrf_targets_are_refused_by_the_real_proxy(proxied_app):
    failures = refused_targets(proxied_app.port, SSRF)
    tally("proxy", len(SSRF), len(SSRF) - len(failures))
    assert failures == []


def test_nothing_hostile_reaches_the_upstream_even_logged_in(guarded_app, recorder):
    recorder.seen.clear()
    targets = SSRF + [t for t, h in REFUSED if not h]
    headers = {"Cookie": guarded_app.cookie}
    failures = refused_targets(guarded_app.port, targets, headers)
    for method in METHODS:
        target = "127.0.0.1:8786" if method == "CONNECT" else "/dask/individual-echo"
        try:
            status = request(guarded_app.port, target, method, headers)[0]
        except http.client.RemoteDisconnected:
            continue
        if status not in (400, 405):
            failures.append(f"{method}: {status}")
    reached = [uri for _, uri, _ in recorder.seen]
    tally("proxy", len(targets) + len(METHODS), len(targets) + len(METHODS) - len(failures))
    assert failures == [] and reached == []


HTTP_ROUTES = ["/app", "/dask/individual-task-stream", "/dask/status",
               "/dask/individual-plots.json", "/dask/statics/individual-cluster-map.html",
               "/dask/statics/css/base.css", "/dask/static/js/anything.js",
               "/dask/individual-echo", "/dask/eventstream"]
WS_ROUTES = ["/dask/individual-task-stream/ws", "/dask/status/ws", "/dask/eventstream",
             "/dask/individual-echo/ws"]
# An unsigned copy of the cookie a login sets, a garbled signature, a wrong password's.
FORGED = ['user="alice"', 'user="2|1:0|10:1700000000|4:user|8:YWxpY2U=|deadbeef"']


async def _ws_refused(port: int, path: str, cookie: str | None) -> bool:
    try:
        conn = await ws_connect(f"ws://127.0.0.1:{port}{path}",
                                origin=f"http://127.0.0.1:{port}", cookie=cookie)
    except (HTTPClientError, WebSocketError) as e:
        return getattr(e, "code", 403) in (401, 403)
    conn.close()
    return False


async def test_with_basic_auth_every_route_refuses_anonymous_and_forged_clients(
        guarded_app, recorder):
    port = guarded_app.port
    csrf, cookie = await asyncio.to_thread(login_form, f"http://127.0.0.1:{port}")
    bad_password = await asyncio.to_thread(
        request, port, "/login", "POST",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        urlencode({**csrf, "username": "alice", "password": "wrong"}))
    assert bad_password[0] == 302  # taken, and refused
    assert bad_password[1].get_all("Set-Cookie") is None  # no cookie for a wrong password
    recorder.seen.clear()
    failures, tried = [], 0
    for cookie in (None, *FORGED):
        headers = {"Cookie": cookie} if cookie else {}
        for path in HTTP_ROUTES:
            tried += 1
            status, response, body = await asyncio.to_thread(request, port, path, "GET", headers)
            # Refused: the login page's redirect, or 401/403; never the page.
            login_redirect = status == 302 and "/login" in response.get("Location", "")
            if not (login_redirect or status in (401, 403)) or b"Bokeh" in body:
                failures.append(f"{path} cookie={cookie}: {status}")
        for path in WS_ROUTES:
            tried += 1
            if not await _ws_refused(port, path, cookie):
                failures.append(f"ws {path} cookie={cookie}")
    tally("proxy", tried, tried - len(failures))
    assert failures == [] and recorder.seen == []

    # The same routes open for the logged-in user: the refusals were the login's doing.
    conn = await ws_connect(f"ws://127.0.0.1:{port}/dask/eventstream",
                            origin=f"http://127.0.0.1:{port}", cookie=guarded_app.cookie)
    try:
        await read_events(conn, lambda events: events or True, timeout=TIMEOUT)
    finally:
        conn.close()
    status = await asyncio.to_thread(http_status, f"{guarded_app.root}/dask/individual-echo",
                                     headers={"Cookie": guarded_app.cookie})
    assert status == 200
