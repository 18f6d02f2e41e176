"""Build the cluster object the app owns: an embedded LocalCluster or a configured factory."""
from __future__ import annotations

import importlib
from typing import Any

from distributed import LocalCluster
from distributed.security import Security

from .. import config


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
    """Keyword arguments for the embedded LocalCluster, from config plus overrides."""
    kwargs = {
        "n_workers": config.get("cluster.n-workers"),
        "threads_per_worker": config.get("cluster.threads-per-worker"),
        "memory_limit": config.get("cluster.memory-limit"),
        # The scheduler and its dashboard stay on loopback: browsers reach the
        # panes through the app's proxy, never the scheduler's own port.
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
    }
    if config.hosted():
        # Loopback is not private on a shared host: any local account could connect and
        # run code as the server (run_on_scheduler). Hosted, the embedded cluster speaks
        # TLS with a certificate made at start-up and known only to this process and its
        # workers, so only the app's own client gets in.
        kwargs["security"] = Security.temporary()
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return kwargs


def make_cluster(**overrides: Any):
    """Create (synchronously) the cluster this process owns.

    Runs in a worker thread: the cluster keeps its own event loop, so the
    scheduler never competes with the web server's loop.
    """
    spec = factory_spec()
    if spec is None:
        return LocalCluster(**local_cluster_kwargs(**overrides))
    module = importlib.import_module(spec["module"])
    cls = getattr(module, spec["class"])
    return cls(*spec.get("args", []), **spec.get("kwargs", {}))
