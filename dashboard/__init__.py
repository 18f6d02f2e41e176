"""Dask Workbench: drive Dask from the browser with Panel.

The views (and Panel with them) load on first use: schedulers and workers unpickle
tasks that name functions in ``dashboard.compute``, and must not import Panel for it.
"""
from importlib import import_module

from . import config  # noqa: F401  (registers the dask config defaults)

_LAZY = {
    "ClusterManager": "dashboard.cluster", "get_manager": "dashboard.cluster",
    "ClusterCard": "dashboard.views", "DaskPanes": "dashboard.views",
    "Workbench": "dashboard.views",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
