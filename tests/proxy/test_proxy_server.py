"""Attacks on the dashboard proxy of a real ``panel serve`` (see tests/conftest.py).

Requests go out through ``http.client``, which sends the request target exactly as
written (no normalisation of ``..``, ``//``, ``%2e`` or backslashes).
"""
from __future__ import annotations

import asyncio
import http.client
import json
import re
import threading
import time
from http.cookies import SimpleCookie
from urllib.parse import unquote_plus, urlencode

import psutil
import pytest
from bokeh.util.token import get_token_payload
from distributed import Client
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.web import Application, RequestHandler
from tornado.websocket import WebSocketError, websocket_connect

from tests.conftest import free_port, http_status, login_form, wait_until

TIMEOUT = 15  # seconds for any single network wait
FORWARD_NEVER = ("cookie", "authorization", "origin")
HOSTILE_HEADERS = {"Cookie": "user=victim; session=secret", "Origin": "http://evil.example",
                   "Authorization": "Basic dmljdGltOnNlY3JldA=="}


# -- helpers --------------------------------------------------------------------

def request(port: int, target: str, method: str = "GET", headers: dict | None = None,
            body: str | None = None):
    """Send ``target`` verbatim; return (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, target, body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def bokeh_token(html: bytes) -> str:
    match = re.search(rb'"token":\s*"([^"]+)"', html)
    assert match, "no Bokeh session token in the page"
    return match.group(1).decode()


async def ws_connect(url: str, origin: str | None = None, cookie: str | None = None,
                     subprotocols: list[str] | None = None):
    headers = {k: v for k, v in (("Origin", origin), ("Cookie", cookie)) if v}
    req = HTTPRequest(url, headers=headers, connect_timeout=TIMEOUT, request_timeout=TIMEOUT)
    return await asyncio.wait_for(websocket_connect(req, subprotocols=subprotocols), TIMEOUT)


async def read_events(conn, until, timeout: float = 30) -> list[dict]:
    """Read JSON events from ``conn`` until ``until(events)`` holds."""
    events: list[dict] = []

    async def read():
        while not until(events):
            message = await conn.read_message()
            assert message is not None, f"socket closed after {events}"
            events.append(json.loads(message))
        return events
    return await asyncio.wait_for(read(), timeout)


def names(events, name):
    return [e for e in events if e.get("name") == name]


# -- a fake upstream dashboard: records requests, sets cookies, redirects -------

class _FakeDashboard(RequestHandler):
    def initialize(self, seen: list) -> None:
        self.seen = seen

    def prepare(self) -> None:
        self.seen.append((self.request.method, self.request.uri, dict(self.request.headers)))

    def get(self, path: str) -> None:
        if path.startswith("individual-redirect-"):
            # Were the proxy to follow this, the page below would come back with 200.
            self.redirect("/individual-echo", status=int(path.rsplit("-", 1)[1]))
            return
        self.set_cookie("upstream_session", "planted")
        self.add_header("Set-Cookie", "other=planted; Path=/")
        self.write({"path": path, "headers": dict(self.request.headers)})

    post = put = delete = patch = options = get


class FakeDashboard:
    """A tornado server on its own thread and loop, so its handlers run while tests block."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[tuple[str, str, dict]] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self):
        app = Application([(r"/(.*)", _FakeDashboard, {"seen": self.seen})])
        server = app.listen(self.port, address="127.0.0.1")
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.stop()

    def start(self) -> "FakeDashboard":
        self._thread.start()
        assert self._ready.wait(TIMEOUT), "fake dashboard did not start"
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def fake_dashboard():
    server = FakeDashboard().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fake_app(serve, process_cluster, fake_dashboard):
    """The app on the real scheduler, but with its dashboard overridden to the fake one."""
    app = serve(app_args=("--scheduler", process_cluster.address),
                env={"DASK_WORKBENCH__DASHBOARD_ADDRESS": fake_dashboard.url})
    wait_until(lambda: http_status(f"{app.root}/dask/individual-echo") == 200, 60,
               "the proxy to the fake dashboard")
    return app


@pytest.fixture(scope="module")
def auth_app(serve, process_cluster):
    return serve("--basic-auth", "s3cret", "--cookie-secret", "x" * 32,
                 app_args=("--scheduler", process_cluster.address))


# -- allowed pages --------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "individual-task-stream", "individual-plots.json", "statics/individual-cluster-map.html"])
def test_allowed_pages_come_from_the_scheduler(proxied_app, process_cluster, path):
    status, headers, body = request(proxied_app.port, f"/dask/{path}")
    assert status == 200
    _, expected_headers, expected = request(process_cluster.dashboard_port, f"/{path}")
    assert headers["Content-Type"] == expected_headers["Content-Type"]
    if path == "individual-task-stream":  # a fresh Bokeh session each time
        assert b"<title>Dask: TaskStream</title>" in body and bokeh_token(body)
    else:
        assert body == expected


# -- refused paths --------------------------------------------------------------

# Scheduler routes that exist upstream but are not dashboard pages.
SCHEDULER_ROUTES = ["/dask/proxy/8786/127.0.0.1/", "/dask/api/v1/retire_workers",
                    "/dask/info/main/workers.html", "/dask/info", "/dask/jupyter/",
                    "/dask/json/counts.json"]
# (request target, extra headers): each tries to steer the proxy elsewhere.
SSRF = [
    ("/dask/eventstream", {}),  # WebSocket only: plain GET gets 400
    ("/dask/http://evil/", {}),
    ("/dask/http:/evil.com/status", {}),
    ("/dask//evil.com/", {}),
    ("/dask///evil.com/status", {}),
    ("/dask/%2e%2e/%2e%2e/etc/passwd", {}),
    ("/dask/..%2f..%2f", {}),
    ("/dask/../dask/info/main/workers.html", {}),
    ("/dask/./status", {}),
    ("/dask/individual-task-stream/..%2f..%2finfo", {}),
    ("/dask/static/..\\..\\x", {}),
    ("/dask/static/%5c..%5cx", {}),
    ("/dask/@evil.com/", {}),
    ("/dask/evil.com@127.0.0.1/status", {}),
    ("/dask/[::1]:22/", {}),
    ("/dask/127.0.0.1:8786/", {}),
    ("/dask/localhost:22/status", {}),
    ("/dask/static/" + "a" * 10_000, {}),
    ("/dask/%252e%252e/", {}),
    ("/dask/status%00", {}),
    ("/dask/status%0d%0aHost:%20evil.com", {}),
    ("/dask/STATUS", {}),
    ("/dask/%73tatus/ws", {}),
    ("http://evil.com/dask/status", {}),  # absolute-form request target
    ("http://evil.com/dask/info/main/workers.html", {}),
    ("/dask/info/main/workers.html", {"Host": "evil.invalid"}),
    ("/dask/info/main/workers.html", {"X-Forwarded-Host": "evil.invalid"}),
]
REFUSED = [(t, {}) for t in SCHEDULER_ROUTES] + SSRF


def _refused(port: int, cases) -> list[str]:
    """The cases that were not refused with a 4xx."""
    failures = []
    for target, headers in cases:
        status, _, body = request(port, target, headers=headers)
        if not 400 <= status < 500 or b"dask" in body.lower():
            failures.append(f"{target[:80]!r} {headers}: {status} {body[:100]!r}")
    return failures


def test_refused_paths_get_404(proxied_app):
    for target in SCHEDULER_ROUTES:
        assert request(proxied_app.port, target)[0] == 404, target


def test_refused_paths_never_return_scheduler_content(proxied_app, capsys):
    failures = _refused(proxied_app.port, REFUSED)
    with capsys.disabled():
        print(f"\nproxy cases refused: {len(REFUSED) - len(failures)}/{len(REFUSED)}")
    assert not failures


def test_refused_paths_never_reach_upstream(fake_app, fake_dashboard):
    # The fake upstream answers 200 to anything, so only the allowlist stops these.
    fake_dashboard.seen.clear()
    assert not _refused(fake_app.port, REFUSED)
    assert fake_dashboard.seen == []


def test_hostile_host_header_does_not_change_upstream(proxied_app, process_cluster,
                                                      fake_app, fake_dashboard):
    headers = {"Host": "evil.invalid", "X-Forwarded-Host": "evil.invalid"}
    status, _, body = request(proxied_app.port, "/dask/individual-plots.json", headers=headers)
    assert status == 200
    assert body == request(process_cluster.dashboard_port, "/individual-plots.json")[2]
    # And the upstream sees its own address, not the client's Host.
    status, _, body = request(fake_app.port, "/dask/individual-echo", headers=headers)
    assert status == 200
    assert json.loads(body)["headers"]["Host"] == f"127.0.0.1:{fake_dashboard.port}"


# -- methods, headers, redirects -------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_is_relayed(proxied_app, fake_app, fake_dashboard, method):
    assert request(proxied_app.port, "/dask/individual-plots.json", method)[0] == 405
    fake_dashboard.seen.clear()
    assert request(fake_app.port, "/dask/individual-echo", method)[0] == 405
    assert fake_dashboard.seen == []


def test_credentials_not_forwarded_to_scheduler(proxied_app):
    # The scheduler's Bokeh token records the headers and cookies of the request it got.
    status, _, body = request(proxied_app.port, "/dask/individual-task-stream",
                              headers=HOSTILE_HEADERS)
    assert status == 200
    payload = get_token_payload(bokeh_token(body))
    received = {k.lower() for k in payload["headers"]}
    assert "host" in received  # the payload does record headers
    assert not received & set(FORWARD_NEVER)
    assert payload["cookies"] == {}


def test_cookies_stripped_both_ways(fake_app, fake_dashboard):
    status, headers, body = request(fake_app.port, "/dask/individual-echo",
                                    headers=HOSTILE_HEADERS)
    assert status == 200
    assert headers.get_all("Set-Cookie") is None
    received = {k.lower() for k in json.loads(body)["headers"]}
    assert not received & set(FORWARD_NEVER)


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_upstream_redirect_not_followed(fake_app, fake_dashboard, code):
    fake_dashboard.seen.clear()
    status, headers, _ = request(fake_app.port, f"/dask/individual-redirect-{code}")
    assert status == 502 and "Location" not in headers
    assert [uri for _, uri, _ in fake_dashboard.seen] == [f"/individual-redirect-{code}"]


# -- WebSockets -----------------------------------------------------------------

async def test_websocket_origin_checked(proxied_app):
    url = f"ws://127.0.0.1:{proxied_app.port}/dask/individual-task-stream/ws"
    # The page's session token is the socket's credential upstream.
    _, _, body = await asyncio.to_thread(request, proxied_app.port,
                                         "/dask/individual-task-stream")
    protocols = ["bokeh", bokeh_token(body)]
    with pytest.raises(HTTPClientError) as refused:
        await ws_connect(url, origin="http://evil.example", subprotocols=protocols)
    assert refused.value.code == 403

    conn = await ws_connect(url, origin=f"http://127.0.0.1:{proxied_app.port}",
                            subprotocols=protocols)
    try:
        assert await asyncio.wait_for(conn.read_message(), TIMEOUT) is not None
    finally:
        conn.close()


async def test_eventstream_fans_out_to_every_viewer(proxied_app, process_cluster):
    url = f"ws://127.0.0.1:{proxied_app.port}/dask/eventstream"
    origin = f"http://127.0.0.1:{proxied_app.port}"
    viewers = []
    try:
        async with Client(process_cluster.address, asynchronous=True, timeout=TIMEOUT) as client:
            workers = set(await client.nthreads())
            assert len(workers) == 2

            def both_workers(events):
                return {e["worker"] for e in names(events, "add_worker")} >= workers
            # The second viewer joins after the upstream announced the workers.
            for _ in range(2):
                viewers.append(await ws_connect(url, origin=origin))
                await read_events(viewers[-1], both_workers)

            # One upstream plugin, yet both viewers see the computation.
            future = client.submit(sum, [1, 2], pure=False)
            assert await asyncio.wait_for(future, 30) == 3
            await asyncio.gather(*(read_events(v, lambda e: names(e, "transition"))
                                   for v in viewers))

        await viewers[0].write_message(json.dumps({"name": "ping"}))
        await read_events(viewers[0], lambda e: names(e, "pong"))
    finally:
        for viewer in viewers:
            viewer.close()


@pytest.mark.parametrize("path", [
    "info/ws", "proxy/8786/127.0.0.1/ws", "%2e%2e/%2e%2e/ws", "/evil.com/ws", "STATUS/ws",
    "individual-plots.json", "statics/individual-cluster-map.html", "eventstream/ws"])
async def test_websocket_refused_off_the_allowlist(proxied_app, path):
    # Either an HTTP error or (pages and files) a plain, non-upgraded HTTP answer.
    with pytest.raises((HTTPClientError, WebSocketError)) as refused:
        await ws_connect(f"ws://127.0.0.1:{proxied_app.port}/dask/{path}",
                         origin=f"http://127.0.0.1:{proxied_app.port}")
    assert getattr(refused.value, "code", 404) in (400, 404)


# -- --basic-auth ---------------------------------------------------------------

def login(app, user: str = "alice") -> str:
    """Log in through Panel's BasicLoginHandler; return the Cookie header to send."""
    csrf, cookie = login_form(f"http://127.0.0.1:{app.port}")
    status, headers, _ = request(
        app.port, "/login", "POST",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        urlencode({**csrf, "username": user, "password": "s3cret"}))
    assert status == 302, status
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    assert "user" in jar
    return "; ".join(f"{k}={m.value}" for k, m in jar.items() if m.value)


async def test_basic_auth_guards_the_proxy(auth_app):
    port, origin = auth_app.port, f"http://127.0.0.1:{auth_app.port}"
    status, headers, body = request(port, "/dask/individual-task-stream")
    assert status in (302, 401, 403) and b"individual-task-stream" not in body
    if status == 302:
        assert "/login" in headers["Location"]
    for path in ("individual-task-stream/ws", "eventstream"):
        with pytest.raises(HTTPClientError) as refused:
            await ws_connect(f"ws://127.0.0.1:{port}/dask/{path}", origin=origin)
        assert refused.value.code == 403

    cookie = await asyncio.to_thread(login, auth_app)
    # The app's process may still be connecting to the scheduler.
    await asyncio.to_thread(wait_until, lambda: request(
        port, "/dask/individual-task-stream", headers={"Cookie": cookie})[0] == 200,
        60, "the proxied page after login")
    conn = await ws_connect(f"ws://127.0.0.1:{port}/dask/eventstream", origin=origin,
                            cookie=cookie)
    try:
        await read_events(conn, lambda e: names(e, "add_worker"))
    finally:
        conn.close()


async def test_pane_sockets_are_capped_per_user_and_the_others_still_get_theirs(
        serve, process_cluster):
    # One logged-in user opening pane sockets (forged pages, or many tabs) used about a
    # core of the server (issue 18): past the cap the proxy refuses, with 429.
    app = serve("--basic-auth", "s3cret", "--cookie-secret", "y" * 32,
                app_args=("--scheduler", process_cluster.address),
                env={"DASK_WORKBENCH__PROXY__MAX_PANE_SOCKETS_PER_USER": "3"})
    port, origin = app.port, f"http://127.0.0.1:{app.port}"
    url = f"ws://127.0.0.1:{port}/dask/individual-task-stream/ws"

    async def pane(cookie: str):
        _, _, body = await asyncio.to_thread(request, port, "/dask/individual-task-stream",
                                             headers={"Cookie": cookie})
        conn = await ws_connect(url, origin=origin, cookie=cookie,
                                subprotocols=["bokeh", bokeh_token(body)])
        assert await asyncio.wait_for(conn.read_message(), TIMEOUT) is not None
        return conn

    mallory = await asyncio.to_thread(login, app, "mallory")
    await asyncio.to_thread(wait_until, lambda: request(
        port, "/dask/individual-task-stream", headers={"Cookie": mallory})[0] == 200,
        60, "the proxied page after login")
    opened = [await pane(mallory) for _ in range(3)]
    with pytest.raises(HTTPClientError) as refused:
        await pane(mallory)
    assert refused.value.code == 429
    # Another user is not held back by Mallory's panes.
    alice = await pane(await asyncio.to_thread(login, app, "alice"))
    # A closed pane frees its place.
    opened.pop().close()
    await asyncio.sleep(1)
    opened.append(await pane(mallory))
    for conn in (*opened, alice):
        conn.close()


def test_failed_logins_back_off_and_the_login_cookie_is_same_site(serve):
    # 300 wrong passwords used to go through at ~1,450 a second, and the right one
    # worked straight after. Here (--basic-auth) 5 failures in a row make the address
    # wait 1, 2, 4... s; meanwhile no password is checked, not even the right one.
    app = serve("--basic-auth", "s3cret", "--cookie-secret", "y" * 32, ready_path="login")

    csrf, cookie = login_form(f"http://127.0.0.1:{app.port}")

    def attempt(password: str) -> tuple[str, list[str]]:
        status, headers, _ = request(
            app.port, "/login", "POST",
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
            urlencode({**csrf, "username": "alice", "password": password}))
        assert status == 302, status
        return unquote_plus(headers["Location"]), headers.get_all("Set-Cookie") or []

    for _ in range(5):
        where, cookies = attempt("wrong")
        assert "Invalid username or password" in where and not cookies
    where, _ = attempt("wrong")
    assert "Too many failed logins from your address: try again in 1 s." in where
    where, cookies = attempt("s3cret")  # refused unchecked: the backoff holds
    assert "Too many failed logins" in where and not cookies
    time.sleep(1.2)
    where, cookies = attempt("s3cret")
    assert "error" not in where
    user = [c for c in cookies if c.startswith("user=")]
    assert user and "SameSite=Lax" in user[0] and "HttpOnly" in user[0]
    # A success clears the count: one wrong password is told as such again.
    where, _ = attempt("wrong")
    assert "Invalid username or password" in where


def test_a_login_form_posted_from_another_site_is_refused(serve):
    # Login CSRF: a page elsewhere posting the form (with the attacker's password)
    # would log the visitor in as the attacker. Only our own page's form is taken.
    app = serve("--basic-auth", "s3cret", "--cookie-secret", "z" * 32, ready_path="login")
    form = {"username": "mallory", "password": "s3cret"}
    csrf, cookie = login_form(f"http://127.0.0.1:{app.port}")
    for headers, fields in (({}, form),  # no token at all
                            ({}, {**csrf, **form}),  # a token, but not the visitor's cookie
                            ({"Cookie": "_xsrf=2|forged|0|0"}, {**csrf, **form})):
        status, answer, _ = request(
            app.port, "/login", "POST",
            {"Content-Type": "application/x-www-form-urlencoded", **headers}, urlencode(fields))
        assert status == 403 and not answer.get_all("Set-Cookie"), (headers, status)
    status, answer, _ = request(
        app.port, "/login", "POST",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        urlencode({**csrf, **form}))
    assert status == 302 and any(c.startswith("user=") for c in answer.get_all("Set-Cookie"))


def test_a_pane_asked_for_before_any_page_reaches_the_given_scheduler(serve, process_cluster):
    # The panes' proxy read the app's --args only once a first page ran the app: a pane
    # asked for before (a reloaded pane, a bookmarked one) started a LocalCluster of its
    # own in the server, which never answered as the given scheduler's dashboard.
    app = serve(app_args=("--scheduler", process_cluster.address),
                ready_path="static/extensions/panel/css/loading.css")
    wait_until(lambda: http_status(f"{app.root}/dask/individual-plots.json") == 200, 60,
               "the proxied dashboard, before any page")
    server = psutil.Process(app.process.proc.pid)
    assert server.children(recursive=True) == []  # no cluster (no workers) of its own
