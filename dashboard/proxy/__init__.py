"""The scheduler dashboard, served same-origin through the app's own port."""
from .routes import MOUNT, is_mounted, mount_routes, routes

__all__ = ["MOUNT", "is_mounted", "mount_routes", "routes"]
