"""Schedulers and workers unpickle tasks that name the compute functions: importing
those must not drag in Panel and Bokeh (a remote worker need not have them, and a
scheduler that loads Panel lists its JS on every dashboard page)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("module", [
    "dashboard.compute.groupby", "dashboard.compute.search", "dashboard.compute.fits",
    "dashboard.compute.explore", "dashboard.compute.arrow_groupby", "dashboard.jobs",
    "dashboard.datasets",
])
def test_compute_modules_load_without_panel(module):
    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('panel', 'bokeh') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]", f"{module} imports {out}"
