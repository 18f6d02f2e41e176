"""The Explore tab in a real browser: a wheel zoom re-aggregates on the cluster."""
from __future__ import annotations

from tests.ui.conftest import POLL_MS, WAIT_MS, pane_frame, task_rects, wait_for_bokeh

# The map's image as Bokeh holds it: where it sits and what its pixels add up to.
IMAGE_JS = """() => {
  if (!window.Bokeh) return null;
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models) {
      const d = m.data;
      if (!d || !d.image || !d.image.length || !d.dw) continue;
      const pixels = d.image[0];
      let total = 0;
      for (let i = 0; i < pixels.length; i++) if (Number.isFinite(pixels[i])) total += pixels[i];
      return {x: Number(d.x[0]), dw: Number(d.dw[0]), y: Number(d.y[0]), dh: Number(d.dh[0]),
              total: total, size: pixels.length};
    }
  return null;
}"""
# datashader's last reduction step: one task per aggregation.
AGGREGATE_TASK = "aggregate-aggregate"


def test_zoom_reaggregates_on_the_cluster(proxied_app, page):
    page.goto(proxied_app.url)
    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    page.locator(".bk-tab", has_text="Explore").click()
    # The first map waits for the session's other tabs and for workers to compile
    # datashader's numba kernels on first use: a longer bound than later steps need.
    page.wait_for_function(f"() => {{ const i = ({IMAGE_JS})(); return i && i.total > 0; }}",
                           timeout=3 * WAIT_MS, polling=POLL_MS)
    before = page.evaluate(IMAGE_JS)
    aggregations = max(task_rects(stream, AGGREGATE_TASK), 0)
    plot = page.locator(".explore-map")
    picture = plot.screenshot()

    # Zoom in with the mouse wheel over the middle of the map, once no overlay covers it.
    plot.and_(page.locator(".pn-loading")).wait_for(state="detached")
    canvas = plot.locator("canvas").first.bounding_box()
    page.mouse.move(canvas["x"] + canvas["width"] * 0.4, canvas["y"] + canvas["height"] * 0.5)
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
        f"() => window.Bokeh && ({_rects_js()})('{AGGREGATE_TASK}') >= {aggregations + 1}",
        timeout=WAIT_MS, polling=POLL_MS)
    assert page.external_requests == []


def _rects_js() -> str:
    from tests.ui.conftest import TASK_RECTS_JS
    return TASK_RECTS_JS
