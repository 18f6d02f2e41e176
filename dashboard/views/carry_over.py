"""A tab's work carried over a reload of the page (the theme switch reloads it).

The browser keeps a random id per tab in sessionStorage (see ``Workspace``). The
server keeps each tab's run history and shown results for a few minutes under
that id and the logged-in user, so a reload of the same tab gets them back while
another tab, browser or user never sees them.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import panel as pn
from cachetools import TTLCache

from ..jobs import Job
from ..session_token import current_user

TAB_ID = re.compile(r"[0-9a-f]{32}")
# Few and short-lived: a reload comes within seconds; results are held meanwhile.
_KEPT: TTLCache = TTLCache(maxsize=256, ttl=600)
_LOCK = threading.Lock()  # sessions of several threads (--num-threads) share it


@dataclass
class Snapshot:
    history: list[Job] = field(default_factory=list)
    shown: dict[str, Job | None] = field(default_factory=dict)
    page: str = ""  # the page's query (see ``page_query``) when last kept


def page_query() -> str:
    """The page's link without the theme: the same after the theme switch's reload,
    different when the tab was sent to another link (whose view must win)."""
    location = pn.state.location
    if location is None:
        return ""
    pairs = parse_qsl((location.search or "").lstrip("?"), keep_blank_values=True)
    return urlencode(sorted(p for p in pairs if p[0] != "theme"))


def key_for(tab_id: str) -> tuple[str, str] | None:
    """The store's key for this session's user and a tab id from the browser."""
    if not isinstance(tab_id, str) or not TAB_ID.fullmatch(tab_id):
        return None  # not an id the page makes: ignored
    return (current_user() or "", tab_id)


def keep(key: tuple[str, str], snapshot: Snapshot) -> None:
    with _LOCK:
        _KEPT[key] = snapshot


def kept(key: tuple[str, str]) -> Snapshot | None:
    with _LOCK:
        return _KEPT.get(key)
