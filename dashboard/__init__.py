"""Dask Workbench: drive Dask from the browser with Panel.

The views (and Panel with them) load on first use: schedulers and workers unpickle
tasks that name functions in ``dashboard.compute``, and must not import Panel for it.
"""
from . import config  # noqa: F401  (registers the dask config defaults)

_CLUSTER = ("ClusterManager", "get_manager")
_VIEWS = ("ClusterCard", "DaskPanes", "Workbench")
__all__ = sorted(_CLUSTER + _VIEWS)


def __getattr__(name: str):
    if name in _CLUSTER:
        from . import cluster
        return getattr(cluster, name)
    if name in _VIEWS:
        from . import views
        return getattr(views, name)
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
