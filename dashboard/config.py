"""Configuration: defaults in ``workbench.yaml`` merged into ``dask.config``."""
from __future__ import annotations

import os

import dask.config
import yaml

_DEFAULTS_FILE = os.path.join(os.path.dirname(__file__), "workbench.yaml")

with open(_DEFAULTS_FILE) as f:
    _defaults = yaml.safe_load(f)

dask.config.update_defaults(_defaults)


def get(key: str, default=None):
    """Read ``workbench.<key>`` from dask config."""
    return dask.config.get(f"workbench.{key}", default)


def scheduler_address() -> str | None:
    """The existing scheduler to use, if one is configured.

    Ours first, then dask's own ``scheduler-address`` (``DASK_SCHEDULER_ADDRESS``),
    so a user who already points dask at a cluster needs no extra setting.
    """
    return get("scheduler-address") or dask.config.get("scheduler-address", None)
