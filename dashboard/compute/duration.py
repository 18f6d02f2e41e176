"""Seconds as a person reads them in an estimate: "40 s", "12 min", "2.5 h"."""
from __future__ import annotations


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
