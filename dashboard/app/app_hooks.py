"""Bokeh's hooks for the app's directory: the session token carries no cookies, only
the login's signed user name (see dashboard.session_token)."""
from dashboard.session_token import session_payload as process_request  # noqa: F401
