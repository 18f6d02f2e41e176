"""Hostile input: the summary line the README quotes.

Two ways a case is counted, per group ("inputs", "proxy", "paths"):
- a test marked ``@pytest.mark.hostile("inputs")`` is one case (a parametrized
  run counts once per run): refused when it passed;
- a test that tries many targets in one go calls ``tally(group, tried, refused)``
  before it asserts, so a failure still shows how many got through.

At the end of the session the terminal summary prints, e.g.
``hostile inputs tried: 52, all refused with a message; proxy cases refused: 45/45;
path cases refused: 20/20``.
"""
from __future__ import annotations

import os

import pytest

_COUNTS: dict[str, list[int]] = {}  # group -> [tried, refused]


def tally(group: str, tried: int, refused: int) -> None:
    counts = _COUNTS.setdefault(group, [0, 0])
    counts[0] += tried
    counts[1] += refused


def pytest_configure(config):
    config.addinivalue_line("markers", "hostile(group): one hostile case of that summary group")


def _group(item) -> str | None:
    marker = item.get_closest_marker("hostile")
    return marker.args[0] if marker else None


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/hostile/" in str(item.fspath).replace(os.sep, "/") and _group(item):
            item.user_properties.append(("hostile", _group(item)))


def pytest_runtest_logreport(report):
    group = dict(report.user_properties).get("hostile")
    if group is None or report.skipped:
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        tally(group, 1, int(report.passed))


def pytest_terminal_summary(terminalreporter):
    if not _COUNTS:
        return
    parts = []
    if "inputs" in _COUNTS:
        tried, refused = _COUNTS["inputs"]
        verdict = "all refused with a message" if tried == refused else \
            f"{refused} refused with a message, {tried - refused} NOT"
        parts.append(f"hostile inputs tried: {tried}, {verdict}")
    for group, label in (("proxy", "proxy cases refused"), ("paths", "path cases refused")):
        if group in _COUNTS:
            tried, refused = _COUNTS[group]
            parts.append(f"{label}: {refused}/{tried}")
    terminalreporter.write_line("; ".join(parts))


@pytest.fixture
def notices():
    """The notices a user would see: outside a server Panel keeps them in one area."""
    import panel as pn
    before = pn.config.notifications, pn.state._notification
    pn.extension(notifications=True)
    area = pn.state.notifications
    area.notifications = []
    yield area
    # Put back what later tests expect outside a server: notices logged, not kept.
    pn.config.notifications, pn.state._notification = before
