"""What a page's Bokeh session token carries, and who the session's user is.

The token sits in the page for its script to read, so it must not carry the login
cookies: they are ``HttpOnly`` so that no script can take them. Bokeh puts every cookie
of the page's request in the token unless told otherwise; the app's ``process_request``
hook (``dashboard/app/app_hooks.py``, or the handler ``dashboard.server`` adds) replaces
them with nothing and adds the login's user name instead, signed with the cookie secret
so that a token made up by hand cannot claim another user. That name is no login: no
route takes it.
"""
from __future__ import annotations

import json

import panel as pn
from bokeh.application.handlers import Handler
from panel.config import config as panel_config
from tornado.web import create_signed_value, decode_signed_value

from .logins import COOKIE, is_live

IDENTITY = "workbench_identity"
# Headers that carry credentials, never put in the token either.
SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization"}


def session_payload(request) -> dict:
    """Bokeh's ``process_request``: what replaces the request's cookies in the token."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS}
    payload = {"cookies": {}, "headers": headers}
    secret = panel_config.cookie_secret
    if not secret:  # no login without a cookie secret: there is no one to name
        return payload
    cookies = {name: morsel.value for name, morsel in request.cookies.items()}
    user = "guest" if cookies.get("is_guest") else _signed_user(cookies.get("user"))
    login = cookies.get(COOKIE)
    identity = json.dumps({"user": user, "live": bool(login) and is_live(login)})
    payload[IDENTITY] = create_signed_value(secret, IDENTITY, identity).decode("ascii")
    return payload


def _signed_user(cookie: str | None) -> str | None:
    if not cookie:
        return None
    user = decode_signed_value(panel_config.cookie_secret, "user", cookie,
                               max_age_days=panel_config.oauth_expiry)
    return None if user is None else user.decode("utf-8")


def _identity() -> dict | None:
    """The signed identity in this session's token; None where no hook put one (a
    notebook, or the app served without its directory's hooks)."""
    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    if context is None:
        return None
    try:
        signed = context.token_payload.get(IDENTITY)
    except AssertionError:  # a session made without a token
        return None
    if not signed or not panel_config.cookie_secret:
        return None
    raw = decode_signed_value(panel_config.cookie_secret, IDENTITY, signed,
                              max_age_days=panel_config.oauth_expiry)
    return None if raw is None else json.loads(raw)


def current_user() -> str | None:
    """The user of this session's login: from the token's signed identity, else Panel's
    own reading of the cookies (which are then in the token)."""
    identity = _identity()
    if identity is not None:
        return identity["user"]
    return pn.state.user


def login_cookie_live() -> bool:
    """Whether this session's page came with a login no logout has ended."""
    identity = _identity()
    if identity is not None:
        return identity["live"]
    return is_live(pn.state.cookies.get(COOKIE))


def token_carries_cookies() -> bool:
    """Whether this session's token holds the request's cookies (the hook is missing)."""
    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    try:
        return bool(context and context.token_payload.get("cookies"))
    except AssertionError:
        return False


class SessionPayload(Handler):
    """A handler that only shapes the token, for apps made in Python (``pn.serve``)."""

    def modify_document(self, doc) -> None:
        pass

    def process_request(self, request) -> dict:
        return session_payload(request)
