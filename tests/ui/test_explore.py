"""The Explore tab in a real browser at a newcomer's 1440 x 900: it fits the work area beside
the panes, the chosen aggregation looks chosen, sparse points are spread, a dataset switch
says the map is on its way, and a wheel zoom re-aggregates on the cluster (issue 17)."""
from __future__ import annotations

import io
import re
from urllib.parse import urlencode

from PIL import Image

from dashboard.views.explore_plots import BACKGROUND
from tests.ui.conftest import (POLL_MS, TASK_RECTS_JS, WAIT_MS, pane_frame, task_rects,
                               wait_for_bokeh)

SCREEN = {"width": 1440, "height": 900}
# The plot on screen (it has a view: a replaced plot's models may linger) that draws
# the image source ``source``.
FIND_PLOT_JS = """function find_plot(doc, source) {
  for (const p of doc.all_models)
    if (Array.isArray(p.renderers) && p.inner_width !== undefined &&
        p.renderers.some(r => r.data_source === source) && Bokeh.index.find_one(p) != null)
      return p;
  return null;
}"""
# The map's image as Bokeh holds it: where it sits, what its pixels add up to, how many
# are coloured and how many of those stand alone, its columns and its plot's frame width.
IMAGE_JS = """(near) => {
  """ + FIND_PLOT_JS + """
  if (!window.Bokeh) return null;
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models) {
      const d = m.data;
      if (!d || !d.image || !d.image.length || !d.dw) continue;
      // The old dataset's image may still be drawn: take the one asked for.
      if (near != null && Math.abs(Number(d.x[0]) - near) > 1) continue;
      const plot = find_plot(doc, m);
      if (!plot) continue;
      const pixels = d.image[0];
      const [h, w] = pixels.shape;
      // Empty is 0 for counts, NaN for means.
      const on = (i, j) => i >= 0 && j >= 0 && i < h && j < w &&
        Number.isFinite(pixels[i * w + j]) && pixels[i * w + j] != 0;
      let total = 0, coloured = 0, alone = 0;
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          const v = pixels[i * w + j];
          if (Number.isFinite(v)) total += v;
          if (!on(i, j)) continue;
          coloured++;
          if (!on(i - 1, j) && !on(i + 1, j) && !on(i, j - 1) && !on(i, j + 1)) alone++;
        }
      return {x: Number(d.x[0]), dw: Number(d.dw[0]), y: Number(d.y[0]), dh: Number(d.dh[0]),
              total: total, size: pixels.length, width: w, frame: plot.inner_width,
              coloured: coloured, alone: alone};
    }
  return null;
}"""
# Where on the page (CSS px of the viewport) the centres of up to ``n`` coloured pixels
# of the map are drawn, from the image's data and the plot's frame; only pixels inside a
# blob (their neighbours coloured too), so a pixel's rounding cannot land off it.
POINTS_JS = """(n) => {
  """ + FIND_PLOT_JS + """
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models) {
      const d = m.data;
      if (!d || !d.image || !d.image.length || !d.dw) continue;
      const plot = find_plot(doc, m);
      if (!plot) continue;
      const view = Bokeh.index.find_one(plot), frame = view.frame.bbox;
      const box = view.el.getBoundingClientRect(), pixels = d.image[0];
      const [h, w] = pixels.shape, points = [];
      const on = (i, j) => i >= 0 && j >= 0 && i < h && j < w &&
        Number.isFinite(pixels[i * w + j]) && pixels[i * w + j] != 0;
      const inside = (i, j) => [-1, 0, 1].every(a => [-1, 0, 1].every(b => on(i + a, j + b)));
      for (let i = 0; i < h && points.length < n; i++)
        for (let j = 0; j < w && points.length < n; j++)
          if (inside(i, j))  // row 0 is the bottom of the frame
            points.push([box.left + frame.x + (j + 0.5) * frame.width / w,
                         box.top + frame.y + frame.height - (i + 0.5) * frame.height / h]);
      return points;
    }
  return [];
}"""
# The map is drawn and settled: aggregated at its frame's width (one bin per screen
# pixel, which it learns once drawn), with no job running.
SETTLED_JS = f"""(near) => {{
  const i = ({IMAGE_JS})(near);
  return i && i.coloured > 0 && i.frame && Math.abs(i.width - i.frame) <= 2;
}}"""
# datashader's last reduction step: one task per aggregation.
AGGREGATE_TASK = "aggregate-aggregate"


def open_explore(page, url: str, near: float | None = None) -> dict:
    """Open Explore at ``url`` and wait for its settled map; return the map's image."""
    page.set_viewport_size(SCREEN)
    page.goto(url)
    page.locator(".bk-tab", has_text="Explore").click()
    # The first map waits for the session's other tabs and for workers to compile
    # datashader's numba kernels on first use: a longer bound than later steps need.
    settle(page, near, 3 * WAIT_MS)
    return page.evaluate(IMAGE_JS, near)


def settle(page, near: float | None = None, timeout: int = WAIT_MS) -> None:
    page.wait_for_function(SETTLED_JS, arg=near, timeout=timeout, polling=POLL_MS)
    page.locator(".explore-map.pn-loading").wait_for(state="detached", timeout=timeout)
    page.locator(".explore-status").get_by_text("rows drawn").wait_for(timeout=timeout)


def box(page, css: str) -> dict:
    found = page.locator(css).first.bounding_box()
    assert found is not None, f"{css} is not on the page"
    return found


def assert_inside(page, names: list[str]) -> dict:
    """Every one of ``names`` lies across the work area, none past its right edge, and the
    work area has nothing to scroll sideways. Returns the measures for the message."""
    work = box(page, ".workspace .work")
    scroll, client = page.locator(".workspace .work").evaluate(
        "e => [e.scrollWidth, e.clientWidth]")
    measures = {"work": (work["x"], work["x"] + work["width"]), "scroll": (scroll, client)}
    for name in names:
        b = box(page, name)
        measures[name] = (b["x"], b["x"] + b["width"])
    assert scroll <= client, measures
    for name in names:
        left, right = measures[name]
        assert work["x"] - 1 <= left and right <= work["x"] + work["width"] + 1, (name, measures)
    return measures


EXPLORE_PARTS = [".explore", ".explore-map", ".explore-histogram", ".explore-hist-picker",
                 ".explore-agg", ".explore-status"]


def test_explore_fits_its_area_beside_the_panes_and_on_a_narrow_screen(proxied_app, page,
                                                                       artifacts):
    open_explore(page, proxied_app.url)
    assert_inside(page, EXPLORE_PARTS)
    # The histogram's picker is on screen once scrolled to, not cut off at the side.
    picker = page.locator(".explore-hist-picker select")
    picker.scroll_into_view_if_needed()
    assert picker.is_visible()
    picked = picker.bounding_box()
    assert 0 <= picked["x"] and picked["x"] + picked["width"] <= SCREEN["width"]
    # Beside the panes the work area is narrow: the histogram goes under the map.
    assert box(page, ".explore-histogram")["y"] > box(page, ".explore-map")["y"] + 200
    page.screenshot(path=str(artifacts / "explore-fits-1440.png"), full_page=True)

    # The panes folded away: the work area is wide, the histogram sits beside the map,
    # and the map is aggregated again at its new width.
    before = page.evaluate(IMAGE_JS)
    page.get_by_role("button", name="Hide panes").click()
    page.wait_for_function(f"(old) => {{ const i = ({IMAGE_JS})(); "
                           "return i && i.frame > old.frame + 20 && i.width > old.width + 20; }",
                           arg=before, timeout=WAIT_MS, polling=POLL_MS)
    settle(page)
    assert_inside(page, EXPLORE_PARTS)
    histogram, plot = box(page, ".explore-histogram"), box(page, ".explore-map")
    assert histogram["x"] > plot["x"] + plot["width"] - 10
    page.screenshot(path=str(artifacts / "explore-fits-1440-panes-hidden.png"), full_page=True)
    page.get_by_role("button", name="Show panes").click()

    # A narrow screen: the panes stack below the work, and Explore still fits.
    page.set_viewport_size({"width": 1000, "height": 900})
    page.wait_for_function(f"() => {{ const i = ({IMAGE_JS})(); "
                           "return i && Math.abs(i.frame - i.width) <= 2; }",
                           timeout=WAIT_MS, polling=POLL_MS)
    settle(page)
    assert_inside(page, EXPLORE_PARTS)
    page.screenshot(path=str(artifacts / "explore-fits-1000.png"), full_page=True)


BUTTONS_JS = """e => Array.from((e.shadowRoot || e).querySelectorAll('button')).map(b => ({
  text: b.textContent.trim(), active: b.classList.contains('bk-active'),
  background: getComputedStyle(b).backgroundColor, colour: getComputedStyle(b).color,
  moving: b.getAnimations().length > 0}))"""

# The colour bar's title is drawn on the canvas: read it from Bokeh's models.
COLOUR_BAR_JS = """(title) => !!window.Bokeh && Bokeh.documents.some(
  doc => Array.from(doc.all_models).some(m => m.color_mapper !== undefined && m.title === title))"""


def test_the_chosen_aggregation_looks_chosen(proxied_app, page, artifacts):
    open_explore(page, proxied_app.url)
    toggle = page.locator(".explore-agg")
    count, mean = buttons(page, toggle)
    assert (count["text"], count["active"]) == ("count", True)
    assert (mean["text"], mean["active"]) == ("mean", False)
    # Filled against an outline: a coloured background against none, another text colour.
    assert opaque(count["background"]) and not opaque(mean["background"]), (count, mean)
    assert count["colour"] != mean["colour"], (count, mean)
    toggle.screenshot(path=str(artifacts / "explore-toggle-count.png"))

    toggle.get_by_role("button", name="mean").click()
    # The map is coloured by the mean now: its colour bar says so.
    page.wait_for_function(COLOUR_BAR_JS, arg="mean arr_delay", timeout=WAIT_MS,
                           polling=POLL_MS)
    settle(page)
    count, mean = buttons(page, toggle)
    assert (count["active"], mean["active"]) == (False, True)
    assert opaque(mean["background"]) and not opaque(count["background"]), (count, mean)
    toggle.screenshot(path=str(artifacts / "explore-toggle-mean.png"))
    page.screenshot(path=str(artifacts / "explore-toggle-mean-1440.png"), full_page=True)


def buttons(page, toggle) -> list[dict]:
    page.mouse.move(0, 0)  # no hover colour
    page.wait_for_function(  # and no colour transition under way
        f"e => ({BUTTONS_JS})(e).every(b => !b.moving)", arg=toggle.element_handle(),
        timeout=WAIT_MS, polling=POLL_MS)
    return toggle.evaluate(BUTTONS_JS)


def opaque(colour: str) -> bool:
    """A CSS colour that paints: not transparent, not white."""
    parts = [float(v) for v in re.findall(r"[\d.]+", colour)]
    alpha = parts[3] if len(parts) == 4 else 1.0
    return alpha > 0.5 and sum(parts[:3]) < 3 * 250


# The flights' 50 longest delays: a zoomed-in corner of the delay map with one row per pixel.
SPARSE = {"tab": "3", "ex_x": "dep_delay", "ex_y": "arr_delay", "ex_xr": "[500, 1400]",
          "ex_yr": "[500, 1400]"}


def test_sparse_points_zoomed_in_are_spread_to_be_seen(proxied_app, page, artifacts):
    image = open_explore(page, f"{proxied_app.url}?{urlencode(SPARSE)}")
    status = page.locator(".explore-status p").first.inner_text()
    assert re.search(r"\b50 in view\b", status), status
    assert abs(image["x"] - 500) < 5 and abs(image["dw"] - 900) < 10, image
    # Every row is drawn as a blob of pixels, none as a lone pixel.
    assert image["total"] > 0 and image["coloured"] >= 50 * 9, image
    assert image["alone"] == 0, image
    # And in a colour that stands out from the background (fire's white top did not).
    plot = page.locator(".explore-map")
    plot.scroll_into_view_if_needed()
    points = page.evaluate(POINTS_JS, 500)
    assert len(points) >= 50, points
    screen = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    background = luminance(BACKGROUND)
    faint = [p for p in points if background - luminance(screen.getpixel(
        (int(p[0]), int(p[1])))) < 0.2]
    assert not faint, (len(faint), [screen.getpixel((int(x), int(y))) for x, y in faint[:5]])
    plot.screenshot(path=str(artifacts / "explore-sparse-spread.png"))


def luminance(colour) -> float:
    """Relative luminance (0 black, 1 white) of ``(r, g, b)`` or ``"#rrggbb"``."""
    if isinstance(colour, str):
        colour = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    r, g, b = ((c / 255) ** 2.2 for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def dataset_select(page):
    return page.locator(".bk-input-group").filter(
        has=page.locator("label", has_text=re.compile("^Dataset$"))).locator("select").first


def test_switching_to_taxi_says_at_once_that_the_map_is_being_drawn(proxied_app, page,
                                                                    artifacts):
    open_explore(page, proxied_app.url)
    dataset_select(page).select_option("nyc-taxi")
    # At once (the map itself is tens of seconds away): the loading overlay, and a sentence.
    busy = page.locator(".explore-map.pn-loading")
    busy.wait_for(timeout=5000)
    page.locator(".explore-activity").get_by_text(
        re.compile("Reading nyc-taxi…|Drawing the map of")).wait_for(timeout=5000)
    # "about" while the picker's row count is an estimate from the first partition.
    drawing = page.locator(".explore-activity").get_by_text(
        re.compile("Drawing the map of (about )?10,000,000 rows…"))
    drawing.wait_for(timeout=WAIT_MS)
    assert busy.count() == 1
    page.screenshot(path=str(artifacts / "explore-switch-drawing-1440.png"))

    # The pickup map arrives; the overlay and the sentence go, the status says what is drawn.
    settle(page, near=-74, timeout=3 * WAIT_MS)
    assert busy.count() == 0 and page.locator(".explore-activity").count() == 0
    page.locator(".explore-status").get_by_text("10,000,000 rows drawn").wait_for()
    assert_inside(page, EXPLORE_PARTS)
    page.screenshot(path=str(artifacts / "explore-switch-drawn-1440.png"))


def test_zoom_reaggregates_on_the_cluster(proxied_app, page):
    page.set_viewport_size(SCREEN)
    page.goto(proxied_app.url)
    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    page.locator(".bk-tab", has_text="Explore").click()
    settle(page, timeout=3 * WAIT_MS)
    before = page.evaluate(IMAGE_JS)
    aggregations = max(task_rects(stream, AGGREGATE_TASK), 0)
    plot = page.locator(".explore-map")
    picture = plot.screenshot()

    # Zoom in with the mouse wheel over the middle of the map.
    canvas = plot.locator("canvas").first.bounding_box()
    page.mouse.move(canvas["x"] + canvas["width"] * 0.4, canvas["y"] + canvas["height"] * 0.4)
    page.mouse.wheel(0, -500)

    # A new image arrives for the smaller range, at the same resolution, with other counts.
    page.wait_for_function(
        f"(old) => {{ const i = ({IMAGE_JS})(); return i && i.dw < old.dw * 0.95; }}",
        arg=before, timeout=WAIT_MS, polling=POLL_MS)
    after = page.evaluate(IMAGE_JS)
    assert after["size"] == before["size"]
    assert after["total"] != before["total"]
    page.locator(".explore-status").get_by_text("rows drawn").wait_for()
    assert plot.screenshot() != picture

    # The re-aggregation ran on the cluster: the task stream pane drew its task.
    stream.wait_for_function(
        f"() => window.Bokeh && ({TASK_RECTS_JS})('{AGGREGATE_TASK}') >= {aggregations + 1}",
        timeout=WAIT_MS, polling=POLL_MS)
    assert page.external_requests == []
