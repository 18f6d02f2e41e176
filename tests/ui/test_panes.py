"""The live Dask panes in a real browser, through the app's own port."""
from __future__ import annotations

import re

from distributed import Client

from tests.conftest import http_status
from tests.ui.conftest import (log_in, pane_frame, wait_for_bokeh, wait_for_task_rects,
                               wait_for_workers)

# Bokeh's DataTable (SlickGrid) column titles, in its shadow DOM: (title, width it
# needs, width its column has).
COLUMN_TITLES_JS = """() => { const out = [];
  const walk = (root) => { for (const e of root.querySelectorAll('*')) {
      if (e.classList.contains('slick-column-name'))
        out.push([e.textContent, e.scrollWidth, e.parentElement.clientWidth]);
      if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(document); return out; }"""
CONNECTED = re.compile(r"Connected to tcp://[0-9.]+:\d+")


TASKS = 40


def run_tasks(address: str, name: str) -> None:
    """Run TASKS tasks whose keys are named ``name`` (what the task stream labels them)."""
    with Client(address, timeout=30) as client:
        keys = [f"{name}-{i}" for i in range(TASKS)]
        futures = client.map(lambda x: x ** 2, range(TASKS), key=keys)
        assert sum(client.gather(futures)) == sum(x ** 2 for x in range(TASKS))


def test_embedded_cluster_panes_draw_tasks_and_workers(serve, page, artifacts):
    app = serve()  # no options: the embedded LocalCluster
    page.goto(app.url)
    status = page.get_by_text(CONNECTED)
    status.wait_for()
    address = CONNECTED.search(status.inner_text()).group(0).removeprefix("Connected to ")

    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    assert stream.url == f"{app.root}/dask/individual-task-stream"
    run_tasks(address, "ui_embedded")
    # One rectangle per task: all of them reach the browser through the proxy.
    wait_for_task_rects(stream, "ui_embedded", TASKS)

    cluster_map = pane_frame(page, "Cluster Map")
    wait_for_workers(cluster_map, 2)
    for title in ("Progress", "Workers", "Workers Memory"):
        wait_for_bokeh(pane_frame(page, title))
    # The Workers table's column titles read in full ("name", "address"), not "nam",
    # "addr" squeezed into the pane's width: the pane scrolls sideways instead.
    titles = pane_frame(page, "Workers").evaluate(COLUMN_TITLES_JS)
    assert {"name", "address", "memory", "cpu"} <= {t for t, _, _ in titles}
    assert [t for t, needed, room in titles if needed > room] == []
    page.screenshot(path=str(artifacts / "workspace.png"))
    # Everything, panes included, came from this machine.
    assert page.external_requests == []

    # The embedded cluster is ours to scale from the card; the cluster map follows.
    workers_input = page.locator(".scale-workers input")
    workers_input.fill("3")
    workers_input.press("Enter")
    page.get_by_role("button", name="Scale").click()
    page.locator(".cluster-summary").filter(has_text=re.compile(r"Workers 3 ")).wait_for()
    wait_for_workers(cluster_map, 3)


def test_panes_under_prefix(serve, page, process_cluster):
    app = serve(prefix="team/wb", app_args=("--scheduler", process_cluster.address))
    page.goto(app.url)
    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    assert stream.url == f"http://127.0.0.1:{app.port}/team/wb/dask/individual-task-stream"
    run_tasks(process_cluster.address, "ui_prefix")
    wait_for_task_rects(stream, "ui_prefix", TASKS)


def test_panes_behind_basic_auth(serve, page, process_cluster):
    app = serve("--basic-auth", "s3cret-pw", "--cookie-secret", "c" * 32,
                app_args=("--scheduler", process_cluster.address), ready_path="login")
    page.goto(app.url)
    log_in(page, "ana", "s3cret-pw")
    page.get_by_text(CONNECTED).wait_for()
    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    run_tasks(process_cluster.address, "ui_auth")
    wait_for_task_rects(stream, "ui_auth", TASKS)


def test_two_browsers_share_the_cluster_map(proxied_app, browser, page, process_cluster):
    # The scheduler allows one eventstream subscriber; the proxy fans it out.
    other = browser.new_context().new_page()
    try:
        maps = []
        for p in (page, other):
            p.goto(proxied_app.url)
            maps.append(pane_frame(p, "Cluster Map"))
        for frame in maps:
            wait_for_workers(frame, process_cluster.n_workers)
    finally:
        other.context.close()


def test_without_plugin_panes_link_the_scheduler_with_a_notice(serve, page, process_cluster):
    app = serve(plugin=False, app_args=("--scheduler", process_cluster.address))
    page.goto(app.url)
    page.locator(".proxy-notice").get_by_text("dashboard proxy is not enabled").wait_for()
    stream = pane_frame(page, "Task Stream")
    wait_for_bokeh(stream)
    assert stream.url == f"{process_cluster.dashboard_url}/individual-task-stream"
    # And the server really has no proxy route.
    assert http_status(f"{app.root}/dask/individual-plots.json") == 404
