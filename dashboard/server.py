"""Serve the app from Python, with the dashboard proxy mounted (``pn.serve`` entry)."""
from __future__ import annotations

import gc
from typing import Any

import panel as pn
from panel.io.application import build_applications

from .cluster import ClusterManager
from . import logins, user_share
from .session_token import SessionPayload, current_user
from .login_limit import login_routes
from .login_redirect import use_prefix_for_login
from .proxy import mount_routes
from .views import Workbench


_frozen = False


def freeze_startup_objects() -> None:
    """Once per process: the objects the imports made leave the collector's full passes.

    The ~390k objects of the imported libraries live as long as the process, yet every
    full pass walked them: 0.54 s of the server's loop per pass, one or more per page
    opened (Panel runs one after each closed session). Frozen, a pass took 0.24 s.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


def refusal():
    """What a new page gets instead of the app, if anything: the way back to the login
    form for a login a logout ended, a sentence past the user's pages (hosted). A page
    let in holds one of its user's pages until its session ends."""
    if not logins.page_allowed():
        return logins.ended_page()
    user = current_user()
    if not user_share.PAGES.take(user):
        return pn.pane.Alert(user_share.pages_refused(), alert_type="warning")
    pn.state.on_session_destroyed(lambda context: user_share.PAGES.give_back(user))
    return None


def serve(manager: ClusterManager | None = None, **kwargs: Any):
    """``pn.serve`` the workbench at ``/app`` with the proxy at ``/dask/``.

    Keyword arguments go to ``pn.serve`` (``port``, ``prefix``, ``basic_auth``,
    ``threaded``, ``show``...).
    """
    routes = mount_routes(manager) + login_routes(
        kwargs.get("login_endpoint") or "/login", kwargs.get("basic_auth"),
        kwargs.get("logout_endpoint") or "/logout")

    def app():
        pn.extension(notifications=True)  # scripts from the server's static/ (see app/main.py)
        refused = refusal()
        if refused is not None:
            return refused
        return Workbench(**({"manager": manager} if manager else {})).template()

    kwargs.setdefault("show", False)
    freeze_startup_objects()
    use_prefix_for_login(kwargs.get("prefix"))
    apps = build_applications({"app": app})
    apps["/app"].add(SessionPayload())  # the token carries no cookies (see session_token)
    return pn.serve(apps, extra_patterns=routes, **kwargs)
