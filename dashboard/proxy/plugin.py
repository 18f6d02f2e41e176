"""``panel serve --plugins dashboard.proxy.plugin``: adds the dashboard proxy routes.

It also makes Panel's login send users back under ``--prefix`` (see login_redirect).
"""
import sys

from ..login_redirect import prefix_from_argv, use_prefix_for_login
from .routes import mount_routes

ROUTES = mount_routes()
use_prefix_for_login(prefix_from_argv(sys.argv[1:]))
