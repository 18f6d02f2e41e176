"""The Explore tab in a shareable link: its keys, and a link's values checked against the
dataset once its columns are known. Only choices that differ from a fresh page's go in."""
from __future__ import annotations

import math

# The tab's query keys; the axes before their ranges (new axes reset them).
KEYS = {"x": "ex_x", "y": "ex_y", "agg": "ex_agg", "value": "ex_value", "hist": "ex_hist",
        "x_range": "ex_xr", "y_range": "ex_yr"}


def usable(view_range: tuple | None) -> bool:
    """A finite range, low before high, wide enough to draw: 64-bit floats keep about
    16 digits, so a span below 1e-12 of its ends has no distinct pixels, and a
    subnormal one (``[0, 1e-320]``) overflows the map's scale."""
    if view_range is None or not all(map(math.isfinite, view_range)):
        return False
    low, high = view_range
    span = high - low
    return span > max(abs(low), abs(high)) * 1e-12 and math.isfinite(1e4 / span)


def checked(name: str, value, numeric: list[str], refused: set[str], x: str | None):
    """A link's value checked against the dataset: numeric columns, a y axis other than
    the x axis, finite ranges, and no range for an axis the link could not have."""
    if name.endswith("_range"):
        value = tuple(map(float, value))
        if len(value) != 2 or not usable(value) or name[0] in refused:
            raise ValueError(value)
    elif name in ("x", "y", "value", "hist") and (
            value not in numeric or (name == "y" and value == x)):
        refused.add(name)
        raise ValueError(value)
    return value


def state(view, columns: dict) -> dict:
    """The view's choices that differ from what a fresh page shows, by name; ``columns``
    are the columns a fresh page picks for the dataset shown (none before it is read)."""
    defaults = {"agg": view.param.agg.default, **columns}
    return {name: getattr(view, name) for name in KEYS
            if getattr(view, name) is not None and getattr(view, name) != defaults.get(name)}
