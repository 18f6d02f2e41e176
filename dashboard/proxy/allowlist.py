"""Which scheduler-dashboard paths the proxy serves: an allowlist, nothing else.

Paths are checked after tornado has percent-decoded them, so ``%2e%2e`` arrives
here as ``..`` and is refused like the literal. Only plain path characters are
accepted, which rules out ``..`` segments, ``//host``, ``:``, ``\\`` and ``%``
in a single rule. Static file names may hold ``@`` and ``^`` (Panel's bundled
``notyf@3``, ``es-module-shims@^1.10.0``); they are never the first character of
the path and the upstream host is fixed, so they cannot name another host.
"""
from __future__ import annotations

import re

# Full-page Bokeh apps of the scheduler dashboard (distributed.dashboard.scheduler).
MAIN_PAGES = (
    "status", "workers", "tasks", "system", "profile", "profile-server", "graph",
    "groups", "gpu", "exceptions", "counters", "events", "hardware", "shuffle",
    "stealing",
)
_NAME = r"[a-z0-9][a-z0-9-]*"
_FILE = r"[A-Za-z0-9_][A-Za-z0-9_.@^+~-]*"
_PAGE = rf"(?:individual-{_NAME}|{'|'.join(re.escape(p) for p in MAIN_PAGES)})"
_MAX_LENGTH = 256

_HTTP = re.compile(
    rf"{_PAGE}|individual-plots\.json|statics?/(?:{_FILE}/)*{_FILE}", re.ASCII)
_WEBSOCKET = re.compile(rf"{_PAGE}/ws|eventstream", re.ASCII)


def _allowed(pattern: re.Pattern, path: str) -> bool:
    if len(path) > _MAX_LENGTH or not pattern.fullmatch(path):
        return False
    return ".." not in path.split("/")


def http_allowed(path: str) -> bool:
    """Whether ``path`` (below the proxy's mount point) may be fetched over HTTP."""
    return _allowed(_HTTP, path)


def websocket_allowed(path: str) -> bool:
    """Whether ``path`` (below the proxy's mount point) may be opened as a WebSocket."""
    return _allowed(_WEBSOCKET, path)
