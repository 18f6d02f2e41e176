"""URL patterns that mount the dashboard proxy under ``<app root>/dask/``."""
from __future__ import annotations

from .. import downloads
from ..cluster import ClusterManager, get_manager
from .eventstream import EventstreamFanout
from .handlers import (DashboardHTTPHandler, DashboardWebSocketHandler, EventstreamHandler,
                       websocket_url)

MOUNT = "dask"

_mounted = False


def routes(manager: ClusterManager | None = None, mount: str = MOUNT) -> list[tuple]:
    """Tornado routes for the proxy; Bokeh prepends the server's ``--prefix``."""
    manager = manager or get_manager()
    kwargs = {"manager": manager}
    fanout = EventstreamFanout(lambda: websocket_url(manager.dashboard_url) + "/eventstream")
    return [
        (rf"/{mount}/(eventstream)", EventstreamHandler, {**kwargs, "fanout": fanout}),
        (rf"/{mount}/(.*/ws)", DashboardWebSocketHandler, kwargs),
        (rf"/{mount}/(.*)", DashboardHTTPHandler, kwargs),
    ]


def mount_routes(manager: ClusterManager | None = None) -> list[tuple]:
    """Routes for the server this process runs; the app then links panes through them,
    and offers downloads over HTTP (see dashboard.downloads)."""
    global _mounted
    _mounted = True
    return routes(manager) + downloads.routes()


def is_mounted() -> bool:
    """Whether this process's server carries the proxy (else panes link the scheduler directly)."""
    return _mounted
