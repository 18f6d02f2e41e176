"""Configuration: defaults in ``workbench.yaml`` merged into ``dask.config``."""
from __future__ import annotations

import argparse
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


def apply_serve_args(argv: list[str]) -> None:
    """Turn the app's ``--args`` options (``--scheduler ADDRESS``, ``--workers N``,
    ``--threads N``, ``--memory-limit 4GiB``) into dask config, which the cluster
    manager reads."""
    parser = argparse.ArgumentParser(prog="dashboard/app", allow_abbrev=False)
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


def app_args_of(command_line: list[str]) -> list[str]:
    """The options after ``--args`` on a ``panel serve`` command line."""
    return command_line[command_line.index("--args") + 1:] if "--args" in command_line else []
