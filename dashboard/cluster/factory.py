"""Build the cluster object the app owns: an embedded cluster or a configured factory."""
from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

from distributed import LocalCluster

from .. import config
from .scheduler_process import embedded_cluster

EMBEDDED_OPTIONS = set(inspect.signature(embedded_cluster).parameters)


def factory_spec() -> dict[str, Any] | None:
    """The ``workbench.cluster.factory`` entry, or None when it names no class.

    Same shape as dask-labextension's ``labextension.factory``: ``module``,
    ``class``, ``args``, ``kwargs``.
    """
    spec = config.get("cluster.factory") or {}
    if not spec.get("module") or not spec.get("class"):
        return None
    return spec


def local_cluster_kwargs(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for the embedded cluster, from config plus overrides."""
    kwargs = {
        "n_workers": config.get("cluster.n-workers"),
        "threads_per_worker": config.get("cluster.threads-per-worker"),
        "memory_limit": config.get("cluster.memory-limit"),
        # The scheduler and its dashboard stay on loopback: browsers reach the
        # panes through the app's proxy, never the scheduler's own port.
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
    }
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return kwargs


def make_cluster(**overrides: Any):
    """Create (synchronously) the cluster this process owns.

    Runs in a worker thread: the cluster keeps its own event loop, so the
    scheduler never competes with the web server's loop.
    """
    spec = factory_spec()
    if spec is None:
        kwargs = local_cluster_kwargs(**overrides)
        # The scheduler in a process of its own (see scheduler_process), but for other
        # LocalCluster options, and on Windows, where asyncio's child processes differ.
        if sys.platform == "win32" or not set(kwargs) <= EMBEDDED_OPTIONS:
            return LocalCluster(**kwargs)
        return embedded_cluster(**kwargs)
    module = importlib.import_module(spec["module"])
    cls = getattr(module, spec["class"])
    return cls(*spec.get("args", []), **spec.get("kwargs", {}))
