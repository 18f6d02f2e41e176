"""Tornado handlers that serve the scheduler dashboard through the app's own port.

Every handler:
- takes its upstream from the cluster manager (the configured scheduler), never
  from the request;
- asks the app's auth provider for a user, so ``--basic-auth`` and OAuth guard
  these routes exactly as they guard the app;
- forwards no Cookie, Authorization or Origin upstream and no Set-Cookie back.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from urllib.parse import quote, urlparse

from bokeh.server.util import check_allowlist
from bokeh.server.views.auth_request_handler import AuthRequestHandler
from bokeh.settings import settings
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.web import HTTPError, authenticated
from tornado.websocket import WebSocketClosedError, WebSocketHandler, websocket_connect

from .. import config
from ..cluster import ClusterManager
from ..logins import LiveLoginMixin
from .allowlist import http_allowed, websocket_allowed
from .eventstream import EventstreamFanout

log = logging.getLogger(__name__)

# Response headers worth passing back; everything else (Set-Cookie first) is dropped.
_RESPONSE_HEADERS = ("Content-Type", "Cache-Control", "ETag", "Last-Modified", "Expires")
_START_TIMEOUT = 120  # seconds: a first request may arrive while the cluster starts
_MAX_WS_MESSAGE = 20 * 1024 * 1024  # Bokeh's own default
# Open pane sockets by user ("" without a login): each is a live Bokeh session on the
# scheduler's dashboard, which for an embedded cluster runs in this very process.
_OPEN: Counter = Counter()


class _ProxyBase(LiveLoginMixin, AuthRequestHandler):
    def initialize(self, manager: ClusterManager) -> None:
        self.manager = manager

    async def upstream(self) -> str:
        """http://host:port of the configured scheduler's dashboard."""
        try:
            await asyncio.wait_for(self.manager.start(), _START_TIMEOUT)
        except Exception:
            raise HTTPError(503, reason="Dask cluster is not available") from None
        if not self.manager.dashboard_url:
            raise HTTPError(503, reason="Dask dashboard is not available")
        return self.manager.dashboard_url


class DashboardHTTPHandler(_ProxyBase):
    """GET-only relay of dashboard pages and their static files."""

    SUPPORTED_METHODS = ("GET",)

    @authenticated
    async def get(self, path: str) -> None:
        if not http_allowed(path):
            raise HTTPError(404)
        url = f"{await self.upstream()}/{quote(path, safe='/@+~')}"
        request = HTTPRequest(url, follow_redirects=False, request_timeout=30)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as e:  # refused, closed mid-answer, timed out
            log.warning("Dashboard upstream %s unreachable: %s", url, e)
            raise HTTPError(502, reason="Dask dashboard is not reachable") from None
        if 300 <= response.code < 400:
            raise HTTPError(502, reason="Dask dashboard did not answer")
        self.set_status(response.code)
        for name in _RESPONSE_HEADERS:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        self.finish(relative_static(response.body, response.headers.get("Content-Type", "")))


class _WebSocketBase(_ProxyBase, WebSocketHandler):
    def check_origin(self, origin: str) -> bool:
        # The same rule as the app's own Bokeh socket (--allow-websocket-origin).
        allowed = settings.allowed_ws_origin() or self.application.websocket_origins
        return check_allowlist(urlparse(origin).netloc.lower(), allowed)

    async def get(self, *args, **kwargs):
        # Checked before the upgrade: an anonymous or refused client never gets a socket.
        if not self.current_user:
            raise HTTPError(403)
        if not websocket_allowed(args[0]):
            raise HTTPError(404)
        user = self._user()
        if (_OPEN[user] >= config.get("proxy.max-pane-sockets-per-user")
                or sum(_OPEN.values()) >= config.get("proxy.max-pane-sockets")):
            # One user's open panes (or forged ones) must not take the server's loop.
            raise HTTPError(429, reason="Too many dashboard panes open")
        _OPEN[user] += 1
        self._counted = user
        try:
            return await super().get(*args, **kwargs)
        except BaseException:
            self._release()
            raise

    def _user(self) -> str:
        user = self.current_user
        if isinstance(user, bytes):
            return user.decode("utf-8", "replace")
        return "" if user is True else str(user)

    def _release(self) -> None:
        """Count this socket as closed (once)."""
        user = getattr(self, "_counted", None)
        if user is not None:
            self._counted = None
            _OPEN[user] -= 1
            if _OPEN[user] <= 0:
                del _OPEN[user]

    def on_connection_close(self) -> None:
        self._release()
        super().on_connection_close()

    async def upstream_ws(self) -> str:
        return websocket_url(await self.upstream())


def relative_static(body: bytes, content_type: str) -> bytes:
    """A dashboard page's scripts named from its server's root made relative to the page.

    A scheduler in the app's process (the embedded cluster) renders its pages with the
    Bokeh extensions Panel registered there, and names Panel's script ``/static/…``:
    outside the proxy, and under ``--prefix`` outside the app (a 404). Every other
    resource of those pages is already relative (``static/js/bokeh.min.js``).
    """
    if not content_type.startswith("text/html"):
        return body
    return body.replace(b'src="/static/', b'src="static/')


def websocket_url(http_url: str) -> str:
    """``http://host:port`` -> ``ws://host:port`` (and https -> wss)."""
    return "ws" + http_url[len("http"):]


class DashboardWebSocketHandler(_WebSocketBase):
    """Relays a Bokeh plot's WebSocket to the scheduler's Bokeh server."""

    def initialize(self, manager: ClusterManager) -> None:
        super().initialize(manager)
        self._subprotocols: list[str] = []
        self._upstream = None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        # Bokeh sends ["bokeh", <session token>]; the token must reach upstream.
        self._subprotocols = list(subprotocols)
        return subprotocols[0] if subprotocols else None

    async def open(self, path: str) -> None:
        url = f"{await self.upstream_ws()}/{path}"
        try:
            self._upstream = await websocket_connect(
                url, subprotocols=self._subprotocols or None,
                on_message_callback=self._from_upstream, max_message_size=_MAX_WS_MESSAGE)
        except (OSError, HTTPClientError) as e:
            log.warning("Dashboard websocket %s refused: %s", url, e)
            self.close(1011, "Dask dashboard is not reachable")

    def _from_upstream(self, message: str | bytes | None) -> None:
        if message is None:
            self.close()
            return
        try:
            self.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            pass

    async def on_message(self, message: str | bytes) -> None:
        if self._upstream is not None:
            await self._upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        self._release()
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None


class EventstreamHandler(_WebSocketBase):
    """The cluster map's event stream, shared by every viewer through one upstream."""

    def initialize(self, manager: ClusterManager, fanout: EventstreamFanout) -> None:
        super().initialize(manager)
        self.fanout = fanout

    async def open(self, path: str) -> None:
        await self.upstream()  # the cluster is up before the stream is relayed
        self.fanout.subscribe(self)

    def on_message(self, message: str | bytes) -> None:
        self.fanout.on_client_message(self, message)

    def on_close(self) -> None:
        self._release()
        self.fanout.unsubscribe(self)
