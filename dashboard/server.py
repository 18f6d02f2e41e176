"""Serve the app from Python, with the dashboard proxy mounted (``pn.serve`` entry)."""
from __future__ import annotations

from typing import Any

import panel as pn

from .cluster import ClusterManager
from .login_limit import login_routes
from .login_redirect import use_prefix_for_login
from .proxy import mount_routes
from .views import Workbench


def serve(manager: ClusterManager | None = None, **kwargs: Any):
    """``pn.serve`` the workbench at ``/app`` with the proxy at ``/dask/``.

    Keyword arguments go to ``pn.serve`` (``port``, ``prefix``, ``basic_auth``,
    ``threaded``, ``show``...).
    """
    routes = mount_routes(manager) + login_routes(kwargs.get("login_endpoint") or "/login",
                                                  kwargs.get("basic_auth"))

    def app():
        pn.extension(inline=True, notifications=True)
        return Workbench(**({"manager": manager} if manager else {})).template()

    kwargs.setdefault("show", False)
    use_prefix_for_login(kwargs.get("prefix"))
    return pn.serve({"app": app}, extra_patterns=routes, **kwargs)
