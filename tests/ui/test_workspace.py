"""The workspace itself in a real browser: the light/dark switch and the panes grid."""
from __future__ import annotations

import re

from tests.ui.conftest import POLL_MS, WAIT_MS, pane_frame, wait_for_bokeh

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


def test_the_theme_switch_darkens_the_page_and_the_panes_and_keeps_the_link(proxied_app, page):
    page.goto(proxied_app.url + "?tab=1")
    wait_for_bokeh(pane_frame(page, "Task Stream"))
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
    # The switch reloads the page; the selections in the address survive it.
    assert "tab=1" in page.url
    assert page.locator(".bk-tab.bk-active").inner_text() == "Group-by"


def test_panes_can_be_dragged_and_keep_their_place_when_another_is_added(proxied_app, page):
    page.set_viewport_size({"width": 1400, "height": 2200})  # every pane on screen
    page.goto(proxied_app.url)
    wait_for_bokeh(pane_frame(page, "Task Stream"))
    pane = {title: page.locator(ITEM.format(title))
            for title in ("Task Stream", "Progress", "Workers")}
    # The default: the task stream across the top, the others two per row below it.
    above(page, pane["Task Stream"], pane["Progress"])
    above(page, pane["Progress"], pane["Workers"])
    assert pane["Task Stream"].bounding_box()["width"] > 1.5 * pane["Workers"].bounding_box()["width"]

    # Drag the workers pane by its title bar onto the progress pane: they trade places.
    start = pane["Workers"].locator(".pane-title").bounding_box()
    target = pane["Progress"].locator(".pane-title").bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x, y - step * (y - target["y"]) / 20)
    page.mouse.up()
    above(page, pane["Workers"], pane["Progress"])

    # Adding a pane puts it below; the ones the user moved stay where they were put.
    picker = page.locator(".dask-pane-picker")
    picker.locator(".choices__input--cloned").click()
    picker.locator(".choices__item--choice", has_text=re.compile("^Graph$")).click()
    graph = page.locator(ITEM.format("Graph"))
    graph.wait_for()
    above(page, pane["Workers"], pane["Progress"])
    above(page, pane["Progress"], graph)
