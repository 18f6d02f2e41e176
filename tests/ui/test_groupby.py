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


def cells(page, column: str) -> list[str]:
    """The result table's cells of one column, top to bottom."""
    table = page.locator(".groupby-table")
    table.locator(f".tabulator-cell[tabulator-field='{column}']").first.wait_for()
    return table.locator(f".tabulator-row .tabulator-cell[tabulator-field='{column}']"
                         ).all_text_contents()


def test_numbered_keys_keep_their_order_and_a_long_run_asks_first(proxied_app, page,
                                                                    artifacts):
    page.set_viewport_size({"width": 1440, "height": 900})
    # The workshop's taxi query: passenger counts read 1 2 3 4 5 6 in the table and the
    # chart, not by their mean tip (issue 17: "2, 4, 1, 6, 3, 5").
    page.goto(f"{proxied_app.url}?dataset=nyc-taxi&rows=2000000&tab=1")
    page.locator(".groupby-code").get_by_text(
        "df.groupby('passenger_count').tip_amount.mean()").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-figures").filter(has_text="2,000,000 rows scanned").wait_for()
    counts = cells(page, "passenger_count")
    assert counts == sorted(counts, key=int) and len(counts) == 6
    # The chart draws them in the same order: its x axis ticks.
    ticks = page.locator(".groupby-code").evaluate("""() => {
      for (const doc of Bokeh.documents) for (const m of doc.all_models)
        if (m.type === "FactorRange" || (m.factors && m.factors.length)) return m.factors;
      return null; }""")
    assert [str(t) for t in ticks] == counts
    # Compare with pandas: while pandas works in the app's process, the page says so.
    page.get_by_role("button", name="Compare with pandas").click()
    page.locator(".groupby-comparing").get_by_text("Now pandas runs the same query").wait_for()
    page.locator(".groupby-compare").get_by_text("same result: yes").wait_for()
    assert page.locator(".groupby-comparing").count() == 0

    # 100 million trips: the first partition says it takes a while; the page asks first.
    page.goto(f"{proxied_app.url}?dataset=nyc-taxi&rows=100000000&tab=1")
    page.get_by_role("button", name="Run", exact=True).click()
    warning = page.locator(".groupby-warning")
    warning.get_by_text(re.compile(r"It reads 100 partitions and may take about \d+")).wait_for()
    assert page.locator(".groupby-progress").count() == 0  # nothing started
    page.screenshot(path=str(artifacts / "groupby-asks-before-a-long-run-1440.png"))
    # Run anyway starts it with progress and time left; Cancel stops it.
    page.get_by_role("button", name="Run anyway").click()
    page.locator(".groupby-progress-text").filter(has_text=re.compile(r"s left")).wait_for()
    page.get_by_role("button", name="Cancel").click()
    page.locator(".groupby-progress-text").wait_for(state="detached")
    page.locator(".notyf").get_by_text("Cancelled").wait_for()
    assert page.locator(".groupby-figures").count() == 0
