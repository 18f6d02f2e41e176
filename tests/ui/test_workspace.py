"""The workspace itself in a real browser: results beside the live panes, the light/dark
switch and the panes grid."""
from __future__ import annotations

import re

from tests.ui.conftest import (POLL_MS, WAIT_MS, WORKSHOP_CODE, pane_frame, run_workshop_query,
                               wait_for_bokeh)

# Shadow roots hide the grid items from document.querySelector; Playwright's CSS pierces them.
ITEM = ".grid-stack-item:has(iframe[title='{}'])"


def above(page, upper, lower) -> None:
    """Wait (bounded) until pane ``upper`` sits above pane ``lower``: gridstack animates."""
    for _ in range(WAIT_MS // POLL_MS):
        if upper.bounding_box()["y"] < lower.bounding_box()["y"]:
            return
        page.wait_for_timeout(POLL_MS)
    raise AssertionError(f"{upper} is not above {lower}")


def background_lightness(page) -> float:
    rgb = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(v) for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return (r + g + b) / 3 / 255


def test_the_theme_switch_darkens_the_page_and_the_panes_and_keeps_the_work(proxied_app, page):
    page.goto(proxied_app.url + "?tab=1")
    wait_for_bokeh(pane_frame(page, "Task Stream"))
    figures = run_workshop_query(page)
    assert background_lightness(page) > 0.8
    assert "invert" not in page.locator("iframe[title='Task Stream']").evaluate(
        "e => getComputedStyle(e).filter")

    page.locator("#theme-switch").click()
    page.wait_for_url("**theme=dark**")
    wait_for_bokeh(pane_frame(page, "Task Stream"))
    assert background_lightness(page) < 0.3
    # distributed's plots have no dark theme: the panes are inverted to match.
    assert "invert" in page.locator("iframe[title='Task Stream']").evaluate(
        "e => getComputedStyle(e).filter")
    # The switch reloads the page; the selections in the address survive it, and so do
    # the result and the run history (issue 17: both were lost).
    assert "tab=1" in page.url
    assert page.locator(".bk-tab.bk-active").inner_text() == "Group-by"
    figures.filter(has_text=re.compile(r"3 groups · 336,776 rows scanned")).wait_for()
    page.locator(".groupby-table").get_by_text("EWR", exact=True).wait_for()
    page.get_by_text("Run history").click()
    page.locator(".groupby-history").get_by_text("df.groupby('origin')").wait_for()

    # The same tab sent to another link shows that link's query, not the kept result.
    page.goto(proxied_app.url + "?tab=1&by=%5B%22carrier%22%5D")
    page.locator(".groupby-code").get_by_text("df.groupby('carrier')").wait_for()
    wait_for_bokeh(pane_frame(page, "Task Stream"))
    assert page.locator(".groupby-figures").count() == 0

    # Another tab (even of the same browser) starts afresh: the history is this tab's.
    other = page.context.new_page()
    other.goto(proxied_app.url + "?tab=1")
    other.locator(".groupby-code").get_by_text("df.groupby('origin')").wait_for()
    wait_for_bokeh(pane_frame(other, "Task Stream"))
    assert other.locator(".groupby-figures").count() == 0
    other.close()


def test_panes_can_be_dragged_and_keep_their_place_when_another_is_added(proxied_app, page):
    page.set_viewport_size({"width": 1400, "height": 2200})  # every pane on screen
    page.goto(proxied_app.url)
    wait_for_bokeh(pane_frame(page, "Task Stream"))
    pane = {title: page.locator(ITEM.format(title))
            for title in ("Task Stream", "Progress", "Workers Memory", "Workers")}
    # The default beside the work: one pane per row, the task stream on top.
    above(page, pane["Task Stream"], pane["Progress"])
    above(page, pane["Progress"], pane["Workers Memory"])
    above(page, pane["Workers Memory"], pane["Workers"])
    assert pane["Task Stream"].bounding_box()["width"] == pane["Workers"].bounding_box()["width"]

    # Drag the workers pane by its title bar onto the one above it: they trade places.
    start = pane["Workers"].locator(".pane-title").bounding_box()
    target = pane["Workers Memory"].locator(".pane-title").bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x, y - step * (y - target["y"]) / 20)
    page.mouse.up()
    above(page, pane["Workers"], pane["Workers Memory"])

    # Adding a pane puts it below; the ones the user moved stay where they were put.
    picker = page.locator(".dask-pane-picker")
    picker.locator(".choices__input--cloned").click()
    picker.locator(".choices__item--choice", has_text=re.compile("^Graph$")).click()
    graph = page.locator(ITEM.format("Graph"))
    graph.wait_for()
    above(page, pane["Workers"], pane["Workers Memory"])
    above(page, pane["Workers Memory"], graph)


def in_view(page, locator) -> bool:
    box, size = locator.bounding_box(), page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"]
            and box["y"] + box["height"] <= size["height"])


def test_after_run_the_result_and_the_task_stream_share_the_screen(proxied_app, page, artifacts):
    # A newcomer's screen: the result of Run beside the task stream that ran it (issue 17).
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(proxied_app.url)
    stream = page.locator("iframe[title='Task Stream']")
    wait_for_bokeh(pane_frame(page, "Task Stream"))
    figures = run_workshop_query(page)
    chart_and_table = page.locator(".groupby-table")
    for _ in range(WAIT_MS // POLL_MS):  # the work scrolls the new result into view
        if in_view(page, figures) and in_view(page, stream):
            break
        page.wait_for_timeout(POLL_MS)
    assert in_view(page, figures) and in_view(page, stream)
    assert in_view(page, page.get_by_role("button", name="Run", exact=True))
    assert stream.bounding_box()["x"] > chart_and_table.bounding_box()["x"] + 300  # beside
    page.screenshot(path=str(artifacts / "workspace-after-run-1440.png"))

    # The panes fold to a strip, and the work takes the room; then back.
    work = page.locator(".workspace .work")
    work_width = work.bounding_box()["width"]
    page.get_by_role("button", name="Hide panes").click()
    stream.wait_for(state="hidden")
    assert work.bounding_box()["width"] > work_width + 300
    page.get_by_role("button", name="Show panes").click()
    stream.wait_for(state="visible")

    # Dragging the bar between them gives the panes more room.
    before = stream.bounding_box()["width"]
    bar = page.locator(".gutter").bounding_box()
    x, y = bar["x"] + bar["width"] / 2, bar["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y, steps=10)
    page.mouse.up()
    for _ in range(WAIT_MS // POLL_MS):
        if stream.bounding_box()["width"] > before + 100:
            break
        page.wait_for_timeout(POLL_MS)
    assert stream.bounding_box()["width"] > before + 100


def test_on_a_narrow_screen_the_panes_stack_below_the_work(proxied_app, page, artifacts):
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(proxied_app.url + "?tab=1")
    wait_for_bokeh(pane_frame(page, "Task Stream"))
    run_button = page.get_by_role("button", name="Run", exact=True)
    stream = page.locator("iframe[title='Task Stream']")
    assert stream.bounding_box()["y"] > run_button.bounding_box()["y"] + 100
    assert page.locator(".gutter").is_hidden()
    page.screenshot(path=str(artifacts / "workspace-narrow-1000.png"), full_page=True)


def test_a_first_page_opens_on_the_workshop_query_with_a_hint(proxied_app, page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(proxied_app.url)
    page.locator(".groupby-code").get_by_text(WORKSHOP_CODE).wait_for()
    assert page.locator(".bk-tab.bk-active").inner_text() == "Group-by"
    hint = page.locator(".groupby-hint").get_by_text(re.compile("then Run"))
    hint.wait_for()
    assert in_view(page, hint)
    assert in_view(page, page.get_by_role("button", name="Run", exact=True))
