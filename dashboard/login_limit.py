"""Panel's password login with a per-client backoff and stricter cookies.

``--basic-auth`` checks every password it is sent, as fast as it is sent: 300 wrong
ones went through at about 1,450 a second, and the right one worked straight
after. Here a client (its address) that failed ``login.free-attempts`` times in a
row waits 1, 2, 4… seconds (at most ``login.max-wait``) before a password of its
is checked again, right or wrong; a success clears its count. The login cookies
get ``SameSite=Lax``, ``Secure`` when the page came over HTTPS, and the app's prefix
as their path. The form carries Tornado's CSRF token: a form posted from another
site is refused (403).

The plugin mounts this handler on Panel's login route when basic auth is on; its
routes come before the auth provider's, so Tornado picks this one.
"""
from __future__ import annotations

import json
import math
import re
import time

import tornado.escape
from cachetools import TTLCache
from panel.auth import BasicLoginHandler
from panel.config import config as panel_config
from panel.io.state import state
from panel.util import base64url_encode

from . import config, logins

# Clients with failures, forgotten an hour after their last one (bounded: an attacker
# with many addresses cannot grow it without end).
_FAILURES: TTLCache = TTLCache(maxsize=100_000, ttl=3600)


def wait_for(client: str, now: float | None = None) -> float:
    """Seconds ``client`` must still wait before a password of its is checked."""
    failures, last = _FAILURES.get(client, (0, 0.0))
    free = int(config.get("login.free-attempts"))
    if failures < free:
        return 0.0
    backoff = min(2.0 ** (failures - free), float(config.get("login.max-wait")))
    return max(0.0, last + backoff - (time.monotonic() if now is None else now))


def failed(client: str) -> None:
    failures, _ = _FAILURES.get(client, (0, 0.0))
    _FAILURES[client] = (failures + 1, time.monotonic())


def succeeded(client: str) -> None:
    _FAILURES.pop(client, None)


class LimitedLoginHandler(BasicLoginHandler):
    """Panel's ``BasicLoginHandler``, refusing a client in its backoff unchecked, and a
    form not sent from its own page (login CSRF)."""

    logged_in = False

    def write(self, chunk):
        if isinstance(chunk, str) and "<form" in chunk:
            # Panel's form carries no CSRF token: a page elsewhere could post it, logging
            # the visitor in as the attacker. Tornado's token goes in (and its cookie).
            chunk = re.sub(r"(<form\b[^>]*>)", lambda m: m.group(1) + self.xsrf_form_html(),
                           chunk, count=1)
        super().write(chunk)

    def post(self):
        self.check_xsrf_cookie()  # 403 unless the form came from our own login page
        client = self.request.remote_ip
        wait = wait_for(client)
        if wait > 0:
            self.set_header("Retry-After", str(math.ceil(wait)))
            message = (f"Too many failed logins from your address: try again in "
                       f"{math.ceil(wait)} s.")
            self.redirect(self.request.path + "?error=" + tornado.escape.url_escape(message))
            return
        super().post()  # calls set_current_user on success
        if self.logged_in:
            succeeded(client)
        else:
            failed(client)

    def set_current_user(self, user):
        """As Panel's, with SameSite (and Secure over HTTPS) on the login cookies."""
        if not user:
            return super().set_current_user(user)
        self.logged_in = True
        flags = dict(expires_days=panel_config.oauth_expiry, httponly=True,
                     path=logins.cookie_path(), samesite="Lax",
                     secure=self.request.protocol == "https")
        self.clear_cookie("is_guest")
        self.set_secure_cookie("user", user, **flags)
        id_token = base64url_encode(json.dumps({"user": user}))
        if state.encryption:
            id_token = state.encryption.encrypt(id_token.encode("utf-8"))
        self.set_secure_cookie("id_token", id_token, **flags)
        self.set_secure_cookie(logins.COOKIE, logins.new_login(), **flags)


def login_routes(login_endpoint: str = "/login", basic_auth=None,
                 logout_endpoint: str = "/logout") -> list[tuple]:
    """The limited login on Panel's login route and a logout that ends the login, when
    password login is on (``basic_auth`` as given to ``pn.serve``, else
    ``--basic-auth``); the app then accepts only logins not ended (see logins)."""
    if not (basic_auth or panel_config.basic_auth):
        return []
    logins.LOGIN_ENDPOINT, logins.PASSWORD_LOGIN = login_endpoint, True
    return [(login_endpoint, LimitedLoginHandler), (logout_endpoint, logins.EndingLogoutHandler)]
