"""CI check for the benchmarks: the whole command runs at ``--size tiny`` and its table has
every figure with a number and a verdict. No time is asserted: CI machines vary."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FIGURES = ["1", "1b", "2", "2b", "2c", "2d", "2e", "3", "4", "4b", "4c", "5", "5b", "5c", "6",
           "6b", "6c", "7", "7b", "8a", "8b", "8c", "8d", "9a", "9b",
           "10", "10b"]
VERDICTS = ("met", "**MISSED**", "no goal (context)")


@pytest.mark.timeout(900)
def test_tiny_benchmarks_write_every_figure(tmp_path):
    out = tmp_path / "benchmarks.md"
    done = subprocess.run([sys.executable, "-m", "tests.benchmarks", "--size", "tiny",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=880)
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()
    assert done.stdout.strip() == report.strip()  # printed too
    assert "**CPU**" in report and "**Memory**" in report and "**Versions**" in report
    rows = {cells[0]: cells for cells in (
        [c.strip() for c in line.strip("|").split("|")]
        for line in report.splitlines() if re.match(r"\|\s*\d", line))}
    assert sorted(rows) == sorted(FIGURES), rows.keys()
    for figure, (_, name, measured, _, _, _, verdict, note) in rows.items():
        assert re.match(r"\d", measured), f"figure {figure} has no number: {measured} ({note})"
        assert verdict in VERDICTS, f"figure {figure}: {verdict}"
        assert "did not run" not in note, f"figure {figure}: {note}"
