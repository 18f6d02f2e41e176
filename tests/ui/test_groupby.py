"""The Group-by tab in a real browser: run the workshop's query, read the result, download it,
and get a sentence for a bad query."""
from __future__ import annotations

import re

from tests.ui.conftest import (WORKSHOP_CODE, pane_frame, run_workshop_query, wait_for_bokeh,
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


def test_performance_report_on_the_embedded_cluster(serve, page, artifacts):
    # The embedded cluster's scheduler lives in the `panel serve` process, where
    # Bokeh's script runner once left `bokeh.plotting.save` a no-op for good: every
    # Run with the box ticked failed (issue 17).
    app = serve()
    page.goto(app.url)
    page.locator(".bk-tab", has_text="Group-by").click()
    page.locator(".groupby-code").get_by_text(WORKSHOP_CODE).wait_for()
    page.locator(".report-box input[type=checkbox]").check()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-figures").filter(
        has_text=re.compile(r"3 groups · 336,776 rows scanned")).wait_for()
    assert WORKSHOP_CODE in download_report(page)

    # The box stays ticked: the next run (by carrier) gets a report of its own.
    page.locator(".choices__button").first.click()
    page.locator(".choices__input--cloned").first.click()
    page.locator(".choices__item--choice", has_text="carrier").first.click()
    page.locator(".groupby-code").get_by_text("df.groupby('carrier')").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-figures").filter(has_text=re.compile(r"16 groups")).wait_for()
    assert "df.groupby('carrier')" in download_report(page)
    assert page.locator(".groupby-error").count() == 0
    page.screenshot(path=str(artifacts / "groupby-report.png"), full_page=True)


def download_report(page) -> str:
    """The performance report the result offers, checked to be distributed's report."""
    with page.expect_download() as download:
        page.get_by_role("button", name="Download performance report").click()
    report = open(download.value.path(), encoding="utf-8").read()
    assert "Dask Performance Report" in report and "Task Stream" in report
    return report
