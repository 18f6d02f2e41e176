"""``panel serve --plugins dashboard.proxy.plugin``: adds the dashboard proxy routes."""
from .routes import mount_routes

ROUTES = mount_routes()
