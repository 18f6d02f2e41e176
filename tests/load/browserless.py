"""A browser tab without the browser: a Bokeh client session of the served app.

``bokeh.client.pull_session`` opens a real server session (the app builds its
Workbench for it, as for a browser) and keeps a copy of the document that the
server patches. Each session runs its own IO loop in a thread of its own,
handling the server's patches as they come, like a page does; the test reads the
document and clicks buttons through that loop.
"""
from __future__ import annotations

import importlib
import pkgutil
import threading
import time
import urllib.request
from concurrent.futures import Future
from urllib.parse import urlencode

import bokeh.client.connection
import pandas as pd
import panel.models
from bokeh.client import ClientSession, pull_session
from bokeh.client.util import websocket_url_for_server_url
from bokeh.util.token import get_session_id
from bokeh.core.serialization import UnknownReferenceError
from bokeh.events import ButtonClick, DocumentReady
from bokeh.models import Button

# The server's patches name Panel's models; the client must know all of them.
for _module in pkgutil.iter_modules(panel.models.__path__):
    importlib.import_module(f"panel.models.{_module.name}")
from panel.models.tabulator import DataTabulator  # noqa: E402

# The app's own ESM component sends its params as a Bokeh data model that Panel makes
# when the component is first rendered: render one here so the client knows it too.
import panel as _pn  # noqa: E402
from dashboard.views.workspace import Workspace as _Workspace  # noqa: E402
from tests.proxy.test_proxy_server import bokeh_token  # noqa: E402
_Workspace(work=_pn.pane.Markdown(""), panes=_pn.pane.Markdown("")).get_root()


# A logged-in tab sends its login cookie with the session's WebSocket, as a browser
# does; Bokeh's client has no option for headers, so its connect gets them here.
_COOKIE = threading.local()
_plain_connect = bokeh.client.connection.websocket_connect


def _connect_with_cookie(request, **kwargs):
    cookie = getattr(_COOKIE, "value", None)
    if cookie:
        request.headers["Cookie"] = cookie
    return _plain_connect(request, **kwargs)


bokeh.client.connection.websocket_connect = _connect_with_cookie


class _PageSession(ClientSession):
    """A session the app's page made (its token names the login), not one of the
    client's own making."""

    def __init__(self, token: str, **kwargs):
        self._page_token = token
        super().__init__(session_id=get_session_id(token), **kwargs)

    @property
    def token(self) -> str:
        return self._page_token


def _page_session(url: str, query: dict[str, str], cookie: str) -> ClientSession:
    """Open the page as a logged-in browser does (``cookie``), then its session."""
    request = urllib.request.Request(f"{url}?{urlencode(query)}", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=60) as response:
        html = response.read()
    token = bokeh_token(html)  # fails on a page that opened no session (the login form)
    _COOKIE.value = cookie
    session = _PageSession(token,
                           websocket_url=websocket_url_for_server_url(url), arguments=query)
    session.pull()
    return session


class BrowserlessSession:
    """One session of the app at ``url``, opened with ``query`` as a shared link's (as
    the login whose ``cookie`` is given, if any)."""

    RESYNC_AFTER = 20.0  # seconds of waiting before fetching a fresh copy

    def __init__(self, url: str, query: dict[str, str], timeout: float = 120,
                 cookie: str | None = None):
        self.url, self.timeout, self.cookie = url, timeout, cookie
        self._connect(query=query)
        self.id = self.session.id
        self.call(lambda: self.session.document.callbacks.send_event(DocumentReady()))

    def _connect(self, **how) -> None:
        self.stale = False
        opened: Future = Future()
        self._thread = threading.Thread(target=self._run, args=(opened, how), daemon=True)
        self._thread.start()
        self.session = opened.result(self.timeout)
        self.loop = self.session._connection.io_loop

    def _run(self, opened: Future, how: dict) -> None:
        try:
            if "query" in how and self.cookie:
                session = _page_session(self.url, how["query"], self.cookie)
            elif "query" in how:
                session = pull_session(url=self.url, arguments=how["query"])
            elif self.cookie:  # the same page's session again, with its token
                _COOKIE.value = self.cookie
                session = _PageSession(self.session.token,
                                       websocket_url=websocket_url_for_server_url(self.url))
                session.pull()
            else:
                session = pull_session(url=self.url, session_id=how["session_id"])
        except BaseException as e:
            opened.set_exception(e)
            return
        handle_patch = session._handle_patch

        def handle(message):
            # Bokeh's Python client drops server messages that arrive while it
            # waits for the pulled document; a later patch naming a model from
            # one of them cannot apply. The copy is stale: ``resync`` fetches it anew.
            try:
                handle_patch(message)
            except UnknownReferenceError:
                self.stale = True
        session._handle_patch = handle
        opened.set_result(session)
        session._connection.loop_until_closed()  # handles patches until closed

    def resync(self) -> None:
        """A fresh copy of this same server session's document (a second connection
        first, so the session never has none; then the stale one closes)."""
        old_session, old_thread = self.session, self._thread
        self._connect(session_id=self.id)
        old_session._connection.io_loop.add_callback(old_session.close)
        old_thread.join(30)

    def call(self, function, timeout: float = 30):
        """``function()`` run on the session's loop (where the document is updated)."""
        done: Future = Future()

        def run():
            try:
                done.set_result(function())
            except BaseException as e:
                done.set_exception(e)
        self.loop.add_callback(run)
        return done.result(timeout)

    def wait_for(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        fresh = time.monotonic()
        while time.monotonic() < deadline:
            # A copy that saw nothing new for a while may have missed a patch too.
            if self.stale or time.monotonic() - fresh > self.RESYNC_AFTER:
                self.resync()
                fresh = time.monotonic()
            result = self.call(predicate)
            if result is not None and result is not False:
                return result
            time.sleep(0.1)
        raise TimeoutError(f"Timed out after {timeout}s waiting for {what}")

    def button(self, label: str) -> Button | None:
        """The enabled button with ``label``, or None (call on the loop)."""
        for button in self.session.document.select({"type": Button}):
            if button.label == label and not button.disabled:
                return button
        return None

    def click(self, label: str, timeout: float = 120) -> None:
        self.wait_for(lambda: self.button(label), timeout, f"an enabled {label!r} button")
        self.call(lambda: self.session.document.callbacks.send_event(
            ButtonClick(self.button(label))))

    def table(self, css_class: str) -> pd.DataFrame | None:
        """The rows a Tabulator with ``css_class`` shows, as a frame (call on the loop)."""
        for model in self.session.document.select({"type": DataTabulator}):
            if css_class in model.css_classes:
                data = dict(model.source.data)
                data.pop("index", None)
                return pd.DataFrame({k: list(v) for k, v in data.items()})
        return None

    def texts(self, *css_classes: str) -> list[str]:
        """Texts of the markup panes with any of ``css_classes`` (call on the loop)."""
        return [str(m.text) for m in self.session.document.models
                if getattr(m, "text", None) and set(css_classes) & set(m.css_classes)]

    def close(self) -> None:
        """Close the tab: the server destroys the session after its unused lifetime."""
        if self._thread.is_alive():
            self.loop.add_callback(self.session.close)
        self._thread.join(30)
