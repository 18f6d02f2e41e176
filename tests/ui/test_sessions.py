"""Session lifecycle in a real browser: closing a tab cancels that session's work."""
from __future__ import annotations

from distributed import Client

from tests.conftest import ProcessCluster, wait_until
from tests.ui.conftest import WAIT_MS

# Bokeh destroys a session this long after its last connection closed.
LIFETIME = ("--unused-session-lifetime", "1000", "--check-unused-sessions", "500")


def scheduler_tasks(address: str) -> int:
    with Client(address, timeout=30) as client:
        return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def start_a_long_group_by(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    # 200 partitions of taxi trips: minutes of work on two workers.
    page.goto(f"{url}?dataset=nyc-taxi&rows=200000000&tab=1")
    # The first page also builds the 1M-row first partition: a loaded machine needs longer.
    page.locator(".dataset-stats").get_by_text("Partitions 200").wait_for(timeout=3 * WAIT_MS)
    page.locator(".groupby-code").get_by_text("df.groupby('passenger_count')").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-progress-text").get_by_text(" tasks").wait_for()
    return context


def test_closing_tabs_leaves_no_work_on_the_cluster(serve, browser, tmp_path):
    # A scheduler of its own: other apps' sessions hold work on the shared one.
    cluster = ProcessCluster(tmp_path).start()
    try:
        app = serve(*LIFETIME, app_args=("--scheduler", cluster.address))
        for _ in range(2):
            context = start_a_long_group_by(browser, app.url)
            assert scheduler_tasks(cluster.address) > 0
            context.close()
            wait_until(lambda: scheduler_tasks(cluster.address) == 0, 30,
                       "the scheduler to drop the closed session's tasks")
    finally:
        cluster.stop()
