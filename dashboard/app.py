"""Entry point for ``panel serve dashboard/app.py --plugins dashboard.proxy.plugin``.

Options after ``--args``: ``--scheduler ADDRESS`` to use an existing cluster,
``--workers N``, ``--threads N``, ``--memory-limit 4GiB`` to size the embedded one.
"""
import argparse
import sys

import dask.config
import panel as pn

from dashboard import config, diagnostics  # noqa: F401  (config registers the defaults)
from dashboard.server import freeze_startup_objects
from dashboard.views import Workbench


def apply_args(argv: list[str]) -> None:
    """Turn ``--args`` options into dask config, which the cluster manager reads."""
    parser = argparse.ArgumentParser(prog="dashboard/app.py")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler")
    parser.add_argument("--workers", type=int, help="workers of the embedded LocalCluster")
    parser.add_argument("--threads", type=int, help="threads per worker")
    parser.add_argument("--memory-limit", help="memory limit per worker, e.g. 4GiB")
    args, _ = parser.parse_known_args(argv)
    settings = {
        "workbench.scheduler-address": args.scheduler,
        "workbench.cluster.n-workers": args.workers,
        "workbench.cluster.threads-per-worker": args.threads,
        "workbench.cluster.memory-limit": args.memory_limit,
    }
    dask.config.set({k: v for k, v in settings.items() if v is not None})


pn.extension(
    "tabulator", "gridstack", inline=True, notifications=True,
    # Bokeh sessions do not survive a lost socket; the URL keeps the selections.
    disconnect_notification=("Lost the connection to the Workbench server. Reload the "
                             "page to reconnect: your selections are kept in its address."),
)
apply_args(sys.argv[1:])
freeze_startup_objects()
diagnostics.start_loop_lag_sampler()  # off unless workbench.diagnostics.loop-lag-file
Workbench().servable()
