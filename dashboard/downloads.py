"""Result downloads streamed over HTTP by the app's own server.

Panel's ``FileDownload`` sends a file's whole content through the session's WebSocket,
built on the server's event loop: a 427 MB CSV blocked every user's loop for 19 s. A
view offers its result here instead and links to it; the CSV is written in slices on a
worker thread and sent as it is written. Links are random, expire, and answer only
the user who asked (when users log in); served with the app's own auth.
"""
from __future__ import annotations

import asyncio
import secrets
import threading
from dataclasses import dataclass

import pandas as pd
from bokeh.server.views.auth_request_handler import AuthRequestHandler
from cachetools import TTLCache
from tornado.web import HTTPError, authenticated

from .logins import LiveLoginMixin

ROUTE = "download"
SLICE_ROWS = 100_000  # rows written per slice: the loop is free between slices
_OFFERS: TTLCache = TTLCache(maxsize=1000, ttl=3600)
_BY_SESSION: dict[str, set[str]] = {}  # a session's tokens, withdrawn when it ends
_LOCK = threading.Lock()  # sessions of several threads share it


@dataclass
class Offer:
    frame: pd.DataFrame
    filename: str
    owner: str  # the login that asked; "" when the server has none


def offer(frame: pd.DataFrame, filename: str, owner: str | None,
          session: str | None = None) -> str:
    """Keep ``frame`` for download as CSV, until the link expires or ``session`` ends;
    its link's token."""
    token = secrets.token_urlsafe(24)
    with _LOCK:
        _OFFERS[token] = Offer(frame, filename, owner or "")
        if session is not None:
            _BY_SESSION.setdefault(session, set()).add(token)
    return token


def withdraw(session: str) -> None:
    """``session`` ended: its links answer no more, and the server lets their results
    go (an hour of a closed tab's large results would be every user's memory)."""
    with _LOCK:
        for token in _BY_SESSION.pop(session, ()):
            _OFFERS.pop(token, None)


class DownloadHandler(LiveLoginMixin, AuthRequestHandler):
    """GET ``<prefix>/download/<token>``: the offered result as CSV, streamed."""

    SUPPORTED_METHODS = ("GET",)

    @authenticated
    async def get(self, token: str) -> None:
        with _LOCK:
            found = _OFFERS.get(token)
        user = self.current_user
        user = user.decode("utf-8", "replace") if isinstance(user, bytes) else str(user or "")
        if found is None or (found.owner and found.owner != user):
            raise HTTPError(404)  # unknown, expired, or someone else's: all look the same
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in found.filename)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{safe}"')
        self.set_header("Cache-Control", "no-store")
        frame = found.frame
        for start in range(0, max(len(frame), 1), SLICE_ROWS):
            part = frame.iloc[start:start + SLICE_ROWS]
            self.write(await asyncio.to_thread(part.to_csv, header=start == 0))
            await self.flush()


def routes() -> list[tuple]:
    return [(rf"/{ROUTE}/([A-Za-z0-9_-]{{16,64}})", DownloadHandler)]
