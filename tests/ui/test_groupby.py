"""The Group-by tab in a real browser: run the workshop's query, read the result, download it,
and get a sentence for a bad query."""
from __future__ import annotations

import re

from tests.ui.conftest import (pane_frame, run_workshop_query, wait_for_bokeh,
                               wait_for_task_rects)


def test_run_the_workshop_query_and_download_it(proxied_app, page, artifacts):
    page.goto(proxied_app.url)
    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    figures = run_workshop_query(page)
    table = page.locator(".groupby-table")
    for origin in ("EWR", "JFK", "LGA"):
        table.get_by_text(origin, exact=True).wait_for()
    # The work ran on the cluster the panes show: its read tasks are in the task stream.
    wait_for_task_rects(stream, "read_parquet-fused", 1)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv = open(download.value.path()).read().splitlines()
    assert csv[0] == "origin,dep_delay" and csv[1].startswith("EWR,15.10")

    # Run again: the same query comes from the cache, and says so.
    page.get_by_role("button", name="Run", exact=True).click()
    figures.filter(has_text="cached").wait_for()
    page.screenshot(path=str(artifacts / "groupby.png"), full_page=True)


def test_a_bad_query_gets_a_sentence_and_the_tab_still_runs(proxied_app, page):
    page.goto(proxied_app.url)
    page.locator(".bk-tab", has_text="Group-by").click()
    code = page.locator(".groupby-code")
    code.get_by_text("df.groupby('origin')").wait_for()
    # Remove the only group-by key: Run explains instead of computing.
    page.locator(".choices__button").first.click()
    code.get_by_text("df.groupby([])").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-error").get_by_text("Choose at least one column to group by.").wait_for()
    page.locator(".notyf").get_by_text("Choose at least one column to group by.").wait_for()

    # Choose another key: the tab is still usable.
    page.locator(".choices__input--cloned").first.click()
    page.locator(".choices__item--choice", has_text="carrier").first.click()
    code.get_by_text("df.groupby('carrier')").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-figures").filter(has_text=re.compile(r"16 groups")).wait_for()
