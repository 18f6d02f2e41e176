"""Dask Workbench: drive Dask from the browser with Panel."""
from . import config  # noqa: F401  (registers the dask config defaults)
from .cluster import ClusterManager, get_manager
from .views import ClusterCard, DaskPanes, Workbench

__all__ = ["ClusterCard", "ClusterManager", "DaskPanes", "Workbench", "get_manager"]
