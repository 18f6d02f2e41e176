"""Panel views: each a Viewer whose state is params."""
from .cluster_card import ClusterCard
from .dataset_picker import DatasetPicker
from .panes import DaskPanes
from .workbench import Workbench

__all__ = ["ClusterCard", "DaskPanes", "DatasetPicker", "Workbench"]
