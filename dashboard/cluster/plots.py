"""What the scheduler dashboard offers as individual plots."""
from __future__ import annotations

import json

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

# The panes a workshop user opens by hand beside the notebook.
DEFAULT_PLOTS = {
    "Task Stream": "individual-task-stream",
    "Progress": "individual-progress",
    "Workers Memory": "individual-workers-memory",
    "Workers": "individual-workers",
    "Cluster Map": "statics/individual-cluster-map.html",
}


def plot_label(name: str) -> str:
    """``"Individual Task Stream"`` -> ``"Task Stream"``."""
    return name.removeprefix("Individual ").strip()


async def individual_plots(dashboard_url: str, timeout: float = 5) -> dict[str, str]:
    """Label -> path (relative to the dashboard root) of every plot the scheduler lists.

    Falls back to the default panes when the listing cannot be fetched, so the
    picker still works against an older or unreachable dashboard.
    """
    if not dashboard_url:
        return dict(DEFAULT_PLOTS)
    try:
        response = await AsyncHTTPClient().fetch(
            f"{dashboard_url}/individual-plots.json", request_timeout=timeout)
        listed = json.loads(response.body)
    except (OSError, ValueError, HTTPClientError):
        return dict(DEFAULT_PLOTS)
    plots = {plot_label(name): path.lstrip("/") for name, path in listed.items()}
    return dict(sorted(plots.items())) or dict(DEFAULT_PLOTS)
