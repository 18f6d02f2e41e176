"""The Dask cluster the app runs on: started, connected to, watched."""
from .manager import ClusterManager, ClusterUnavailable, get_manager, may_scale

__all__ = ["ClusterManager", "ClusterUnavailable", "get_manager", "may_scale"]
