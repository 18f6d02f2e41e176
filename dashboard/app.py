"""Entry point for ``panel serve dashboard/app.py --plugins dashboard.proxy.plugin``.

Options after ``--args``: ``--scheduler ADDRESS`` to use an existing cluster,
``--workers N``, ``--threads N``, ``--memory-limit 4GiB`` to size the embedded one.
"""
import sys

import panel as pn

from dashboard import config, diagnostics, logins
from dashboard.server import freeze_startup_objects
from dashboard.views import Workbench

pn.extension(
    "tabulator", "gridstack", inline=True, notifications=True,
    # Bokeh sessions do not survive a lost socket; the URL keeps the selections.
    disconnect_notification=("Lost the connection to the Workbench server. Reload the "
                             "page to reconnect: your selections are kept in its address."),
)
config.apply_serve_args(sys.argv[1:])  # Bokeh gives the app its --args as argv
freeze_startup_objects()
diagnostics.start_loop_lag_sampler()  # off unless workbench.diagnostics.loop-lag-file
# A login a logout ended gets no app, only the way back to the login form.
(Workbench() if logins.page_allowed() else logins.ended_page()).servable()
