"""Load tests: many sessions at once, and many sessions opened and closed.

``FIGURES`` collects what the tests measured; the summary line at the end of the
run quotes it (the README takes its figures from there).
"""
from __future__ import annotations

FIGURES: dict[str, object] = {}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not FIGURES:
        return
    parts = []
    if "concurrent" in FIGURES:
        correct, total, seconds = FIGURES["concurrent"]
        parts.append(f"{correct}/{total} concurrent sessions correct "
                     f"({seconds:.1f} s per session on average)")
    if "identical" in FIGURES:
        done, total = FIGURES["identical"]
        parts.append(f"identical queries in 8 sessions: {done}/{total} runs done, "
                     "the rest cancelled by their own session only")
    if "cycles" in FIGURES:
        cycles, keys, growth = FIGURES["cycles"]
        parts.append(f"{cycles} open/close cycles, {keys} keys left, RSS {growth:+.1f} MB")
    terminalreporter.write_line("load: " + "; ".join(parts))
