"""``panel serve --plugins dashboard.proxy.plugin``: adds the dashboard proxy routes.

It also makes Panel's login send users back under ``--prefix`` (see login_redirect)
and, with ``--basic-auth``, puts a backoff on failed logins (see login_limit) and makes
``/logout`` end the login on every route (see logins).
"""
import sys

from .. import config
from ..login_limit import login_routes
from ..login_redirect import argument_from_argv, use_prefix_for_login
from .routes import mount_routes

# The app's --args now, not at the first page: a pane asked for before any page
# must reach the scheduler given there, not start a cluster of its own.
config.apply_serve_args(config.app_args_of(sys.argv))
ROUTES = mount_routes() + login_routes(
    argument_from_argv(sys.argv[1:], "--login-endpoint") or "/login",
    logout_endpoint=argument_from_argv(sys.argv[1:], "--logout-endpoint") or "/logout")
use_prefix_for_login(argument_from_argv(sys.argv[1:], "--prefix"))
