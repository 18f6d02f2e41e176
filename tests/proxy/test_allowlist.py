"""Unit tests of the proxy's path allowlist (paths arrive already percent-decoded)."""
import pytest

from dashboard.proxy.allowlist import http_allowed, websocket_allowed

HTTP_ALLOWED = [
    "individual-task-stream",
    "individual-plots.json",
    "status",
    "workers",
    "statics/individual-cluster-map.html",
    "statics/js/anime.min.js",
    "static/js/bokeh.min.js",
    "static/extensions/panel/bundled/notificationarea/notyf@3/notyf.min.js",
]

WS_ALLOWED = ["individual-task-stream/ws", "status/ws", "eventstream"]

REFUSED = [
    # Scheduler routes outside the dashboard: its proxy, API, info pages, jupyter.
    "proxy/8786", "proxy/8786/127.0.0.1/", "api/v1/retire_workers", "api/v1/adaptive_target",
    "info/main/workers.html", "info", "jupyter/", "jupyter/api/kernels", "json/counts.json",
    "health", "metrics", "sitemap.json",
    # Empty, traversal and dot segments, literal or as they look once decoded.
    "", ".", "..", "../etc/passwd", "static/../../x", "statics/./x", "statics/..",
    "static/js/../../../etc/passwd", "individual-task-stream/../../info",
    "static/%2e%2e/x", "static/%2E%2E/x", "%2e%2e/%2e%2e/etc/passwd", "static/..%2fx",
    "static/%252e%252e/x", "static/%00.js",
    # Anything that could name another host or scheme.
    "//evil.com/x", "/status", "http://evil.com/", "https:/evil.com", "@evil.com",
    "evil.com@127.0.0.1/status", "127.0.0.1:22/", "127.0.0.1:8786/", "[::1]/x", "[::1]:22/",
    "localhost:8787/status",
    # Backslashes, whitespace, control characters, trailing slashes.
    "static\\..\\..\\x", "static/js\\bokeh.min.js", "\\\\evil.com\\x", "status\n",
    "status\r\nHost: evil", "status ", " status", "status\x00", "status/", "static/",
    "individual-task-stream/",
    # Query/fragment characters never reach the path, so they are refused in it.
    "status?x=1", "status#x",
    # Case and look-alike tricks: the page names are lowercase ASCII only.
    "STATUS", "Status", "Individual-task-stream", "INDIVIDUAL-PLOTS.JSON", "STATIC/js/x.js",
    "Statics/individual-cluster-map.html", "\u0455tatus", "individual-task-\u017ftream",
    "ｓtatus",
    # Too long, even if made of allowed characters.
    "static/" + "a" * 5000,
    "static/" + "a/" * 200 + "x.js",
]


@pytest.mark.parametrize("path", HTTP_ALLOWED)
def test_http_allowed(path):
    assert http_allowed(path)


@pytest.mark.parametrize("path", WS_ALLOWED)
def test_websocket_allowed(path):
    assert websocket_allowed(path)


@pytest.mark.parametrize("path", REFUSED)
def test_refused_everywhere(path):
    assert not http_allowed(path)
    assert not websocket_allowed(path)


# The event stream is a WebSocket only; plain HTTP gets nothing from it.
@pytest.mark.parametrize("path", ["eventstream", "individual-task-stream/ws", "status/ws"])
def test_websocket_paths_refused_over_http(path):
    assert not http_allowed(path)


# WebSockets open only on a page's /ws and the event stream, never on pages or files.
@pytest.mark.parametrize("path", [
    *HTTP_ALLOWED, "individual-task-stream/ws/x", "statics/ws", "static/ws",
    "eventstream/ws", "ws", "/ws", "../ws", "proxy/8786/ws", "INDIVIDUAL-TASK-STREAM/ws",
    "individual-task-stream/WS", "EVENTSTREAM", "eventstream/", "eventstream/../status/ws",
])
def test_websocket_refused_on_other_paths(path):
    assert not websocket_allowed(path)


def test_length_limit_is_a_boundary():
    # Long-but-sane static paths still pass; only the oversize ones are refused.
    assert http_allowed("static/" + "a" * 200 + ".js")
    assert not http_allowed("static/" + "a" * 300 + ".js")
