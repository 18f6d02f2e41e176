"""``panel serve --plugins dashboard.proxy.plugin``: adds the dashboard proxy routes.

It also makes Panel's login send users back under ``--prefix`` (see login_redirect)
and, with ``--basic-auth``, puts a backoff on failed logins (see login_limit).
"""
import sys

from ..login_limit import login_routes
from ..login_redirect import argument_from_argv, use_prefix_for_login
from .routes import mount_routes

ROUTES = mount_routes() + login_routes(argument_from_argv(sys.argv[1:], "--login-endpoint")
                                       or "/login")
use_prefix_for_login(argument_from_argv(sys.argv[1:], "--prefix"))
