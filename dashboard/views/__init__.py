"""Panel views: each a Viewer whose state is params."""
from .cluster_card import ClusterCard
from .panes import DaskPanes
from .workbench import Workbench

__all__ = ["ClusterCard", "DaskPanes", "Workbench"]
