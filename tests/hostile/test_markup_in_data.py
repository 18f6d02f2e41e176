"""Markup in a dataset's own column names and values, in a real browser: the choice boxes
(Bokeh's Choices.js renders option labels as HTML) show it as text and run nothing.

Before the fix, opening the group-by tab on such a CSV ran the header's ``onerror``.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from tests.hostile.conftest import tally
from tests.ui.conftest import WAIT_MS, browser, page  # noqa: F401  (the shared fixtures)

pytestmark = pytest.mark.ui

COLUMN = "<img src=x onerror=window.__xss=1>"
VALUE = '"><img src=y onerror=window.__xss=2>'


@pytest.fixture(scope="module")
def marked_app(serve, process_cluster, tmp_path_factory):
    """The app with one catalog dataset whose header and cells hold markup."""
    folder = tmp_path_factory.mktemp("marked")
    rows = [f'"{COLUMN}",amount'] + [f'"{VALUE.replace(chr(34), chr(34) * 2)}",{i}'
                                      for i in range(3)] + [f"plain,{i}" for i in range(3)]
    (folder / "marked.csv").write_text("\n".join(rows) + "\n")
    (folder / "catalog.yml").write_text(f"datasets:\n  marked:\n    path: {folder / 'marked.csv'}\n")
    return serve(app_args=("--scheduler", process_cluster.address),
                 env={"DASK_WORKBENCH__DATASETS__CATALOG": str(folder / "catalog.yml")})


def test_markup_in_column_names_and_values_shows_as_text(marked_app, page):
    link = f"{marked_app.url}?dataset=marked&tab=1&filter_on={quote(json.dumps([COLUMN]))}"
    page.goto(link)
    shown = 0
    try:
        # The column name is a chip of the Group by and Filter on boxes, as text.
        chips = page.locator(".choices__list--multiple .choices__item", has_text=COLUMN)
        chips.first.wait_for()
        shown += 1
        # The filter offers the column's values; open its box to draw them.
        box = page.locator(".bk-input-group").filter(
            has=page.locator("label", has_text=re.compile("is one of$"))).locator(".choices")
        box.click()
        page.locator(".choices__list--dropdown .choices__item", has_text=VALUE).first.wait_for()
        shown += 1
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Run", exact=True).click()
        page.locator(".groupby-figures").filter(has_text=re.compile("2 groups")).wait_for(
            timeout=2 * WAIT_MS)
        page.locator(".groupby-table").get_by_text(VALUE).first.wait_for()
        shown += 1
        assert page.evaluate("window.__xss") is None
        assert page.locator("img[src='x'], img[src='y']").count() == 0
    finally:
        tally("inputs", 3, shown)
