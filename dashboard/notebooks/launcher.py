"""A "Dask Workbench" tile in the JupyterLab launcher, through jupyter-server-proxy.

jupyter-server-proxy finds :func:`server` by its entry point
(``jupyter_serverproxy_servers`` in pyproject.toml). A click on the tile starts
``panel serve`` on a free port of the JupyterLab server's machine and opens it at
``<base_url>workbench/app``: behind JupyterLab's own URL and login, under its prefix
(JupyterHub's ``/user/<name>/`` included), with the Dask dashboard panes proxied by
the app itself, so the browser reaches nothing but JupyterLab.
"""
from __future__ import annotations

import sys
from pathlib import Path

NAME = "workbench"  # the path under JupyterLab's base URL
APP = Path(__file__).resolve().parents[1] / "app"
ICON = Path(__file__).resolve().parent / "workbench.svg"


def server() -> dict:
    """jupyter-server-proxy's settings for the app (``{port}``, ``{base_url}`` are its own)."""
    return {
        "command": [
            sys.executable, "-m", "panel", "serve", str(APP),
            "--port", "{port}", "--address", "127.0.0.1",
            # The full path comes through (absolute_url): the app serves it as its prefix.
            "--prefix", "{base_url}" + NAME,
            "--plugins", "dashboard.proxy.plugin",
            # Bokeh checks the page's origin (JupyterLab's host) against this list. Only
            # jupyter-server-proxy reaches 127.0.0.1:{port}, after JupyterLab's own login.
            "--allow-websocket-origin", "*",
        ],
        "absolute_url": True,
        "timeout": 120,  # a cold start imports Panel, Dask and scikit-learn
        "new_browser_tab": True,
        "launcher_entry": {"title": "Dask Workbench", "path_info": f"{NAME}/app",
                           "icon_path": str(ICON)},
    }
