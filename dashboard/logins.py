"""Logins that a logout ends, on every route.

Panel's login cookie is a signed user name, valid for ``oauth_expiry`` days; its
``/logout`` only asks the browser to forget it, so a copy taken before logging out
kept working on every route for a day. Each password login here also gets a signed
``wb_login`` cookie naming that login. ``/logout`` records the login as ended; the
proxied panes and the downloads then refuse it, and the app's page shows only a way
back to the login form. A login cookie without one (from before this check) is sent
to log in again: the check fails closed.

Ended logins are kept in ``<data-dir>/ended-logins`` until their cookies expire, so
a restart, or another process of ``--num-procs``, still refuses them.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

import panel as pn
from panel.auth import LogoutHandler
from panel.config import config as panel_config
from tornado.web import decode_signed_value

from . import config

COOKIE = "wb_login"
# Set with the routes when password login is on (see login_limit.login_routes).
LOGIN_ENDPOINT = "/login"
PASSWORD_LOGIN = False
_LOCK = threading.Lock()
_ended: dict[str, float] = {}  # login id -> when its cookies expire (epoch seconds)
_read: tuple[float, int] | None = None  # the file's (mtime, size) when last read


def _file() -> Path:
    return config.data_dir() / "ended-logins"


def cookie_path() -> str:
    """Where the login cookies apply: Panel's ``--cookie-path`` if given, else the app's
    prefix (``/team/wb/``), so other apps on the same host never receive them."""
    configured = panel_config.cookie_path
    return configured if configured not in (None, "", "/") else pn.state.base_url


def lifetime() -> float:
    """Seconds a login cookie stays valid."""
    return float(panel_config.oauth_expiry) * 86400


def new_login() -> str:
    return secrets.token_urlsafe(18)


def end(login: str) -> None:
    """Record ``login`` as ended, here and for every process sharing the data folder."""
    expires = time.time() + lifetime()
    with _LOCK:
        _ended[login] = expires
        path = _file()
        path.parent.mkdir(parents=True, exist_ok=True)
        # One short write: an atomic append. The leading newline ends a line a crash
        # may have cut short, which would otherwise swallow this one.
        with open(path, "a", encoding="ascii") as f:
            f.write(f"\n{login} {expires:.0f}\n")


def _refresh() -> None:
    """Read the file again if another process (or a restart) changed it."""
    global _read
    try:
        stat = os.stat(_file())
    except FileNotFoundError:
        return
    if _read == (stat.st_mtime, stat.st_size):
        return
    now, ended = time.time(), {}
    with open(_file(), encoding="ascii", errors="replace") as f:
        for line in f:
            login, _, expires = line.partition(" ")
            try:
                if float(expires) > now:  # an expired cookie opens nothing anyway
                    ended[login] = float(expires)
            except ValueError:
                continue  # a line cut short by a crash: the rest still count
    _ended.clear()
    _ended.update(ended)
    _read = (stat.st_mtime, stat.st_size)


def login_of(signed: str | bytes | None) -> str | None:
    """The login a signed ``wb_login`` cookie names; None if it is missing or forged."""
    if not signed or not panel_config.cookie_secret:
        return None
    login = decode_signed_value(panel_config.cookie_secret, COOKIE, signed,
                                max_age_days=panel_config.oauth_expiry)
    return None if login is None else login.decode("ascii", "replace")


def is_live(signed: str | bytes | None) -> bool:
    """Whether the signed ``wb_login`` cookie names a login that has not ended."""
    login = login_of(signed)
    if login is None:
        return False
    with _LOCK:
        _refresh()
        return login not in _ended


def page_allowed() -> bool:
    """Whether this session's page may show the app: no password login, or a login no
    logout has ended. (Not Panel's ``authorize_callback``: with it set, Panel 1.9
    skips Bokeh's check of signed session ids, and a made-up id opened a session.)"""
    from .session_token import current_user, login_cookie_live

    return not PASSWORD_LOGIN or current_user() == "guest" or login_cookie_live()


def ended_page() -> pn.viewable.Viewable:
    """What a page opened with an ended login shows: a way back to the login form, which
    the page then follows."""
    url = login_url()

    def go_to_login() -> None:
        location = pn.state.location
        if location is not None:
            location.reload = True  # Panel's Location then navigates on a new path
            location.param.update(pathname=url, search="", hash="")
    pn.state.onload(go_to_login)
    return pn.pane.Markdown(f"This login has ended (logged out). [Log in again]({url}).",
                            css_classes=["login-ended"])


def login_url() -> str:
    return f"{pn.state.base_url.rstrip('/')}{LOGIN_ENDPOINT}"


class LiveLoginMixin:
    """For the app's own Tornado routes (panes, downloads): a login a logout ended is
    no login."""

    def get_current_user(self):
        user = super().get_current_user()
        if user and PASSWORD_LOGIN and not is_live(self.get_cookie(COOKIE)):
            return None
        return user


class EndingLogoutHandler(LogoutHandler):
    """Panel's logout, which also ends the login for good (and forgets its cookie)."""

    def get(self):
        login = login_of(self.get_cookie(COOKIE))
        if login is not None:
            end(login)
        for name in ("user", "id_token", COOKIE):  # Panel clears its own at "/" only
            self.clear_cookie(name, path=cookie_path())
        super().get()
