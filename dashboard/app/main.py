"""Entry point for ``panel serve dashboard/app --plugins dashboard.proxy.plugin``.

The app is a directory so that its ``app_hooks.py`` keeps the login cookies out of
the page's session token (see dashboard.session_token).

Options after ``--args``: ``--scheduler ADDRESS`` to use an existing cluster,
``--workers N``, ``--threads N``, ``--memory-limit 4GiB`` to size the embedded one.
"""
import sys

import panel as pn

from dashboard import config, diagnostics, session_token
from dashboard.server import freeze_startup_objects, refusal
from dashboard.views import Workbench

# Served, the page names its scripts and stylesheets and this server serves them from
# its own static/ routes, cached by the browser (``inline`` has no effect here: it is
# for notebooks and saved files, see dashboard.notebooks).
pn.extension(
    "tabulator", "gridstack", notifications=True,
    # Bokeh sessions do not survive a lost socket; the URL keeps the selections.
    disconnect_notification=("Lost the connection to the Workbench server. Reload the "
                             "page to reconnect: your selections are kept in its address."),
)
config.apply_serve_args(sys.argv[1:])  # Bokeh gives the app its --args as argv
freeze_startup_objects()
diagnostics.start_loop_lag_sampler()  # off unless workbench.diagnostics.loop-lag-file
if config.hosted() and session_token.token_carries_cookies():
    # Served without the directory's hooks: the page would hand its script the login
    # cookies. Hosted, nothing is shown until the server is started the right way.
    pn.pane.Markdown("This server puts its login cookies in the page. Start it with "
                     "`panel serve dashboard/app` (the app's directory).").servable()
elif (refused := refusal()) is not None:  # a login a logout ended; past the user's pages
    refused.servable()
else:
    Workbench().servable()
