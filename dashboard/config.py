"""Configuration: defaults in ``workbench.yaml`` merged into ``dask.config``."""
from __future__ import annotations

import os
from pathlib import Path

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


def data_dir() -> Path:
    """Folder for materialised built-in data (created on demand)."""
    configured = get("data-dir")
    if configured:
        return Path(configured).expanduser()
    checkout_data = Path(__file__).resolve().parents[1] / "data"
    if checkout_data.is_dir():
        return checkout_data
    return Path("~/.cache/dask-workbench").expanduser()


def hosted() -> bool:
    """Whether the app is shared with a team (stricter defaults)."""
    return bool(get("hosted"))
