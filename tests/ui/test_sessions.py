"""Session lifecycle in a real browser: closing a tab cancels that session's work."""
from __future__ import annotations

import time

from distributed import Client

from tests.conftest import ProcessCluster, wait_until
from tests.ui.conftest import WAIT_MS

# Bokeh ends a session 15 to 32 s after its page went away (its defaults); the page
# saying it is going stops the session's work sooner.
RELEASED_WITHIN = 8


def scheduler_tasks(address: str) -> int:
    with Client(address, timeout=30) as client:
        return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def what_is_left(address: str) -> str:
    """The scheduler's tasks by name and state, and which clients want them."""
    def tasks(dask_scheduler):
        from collections import Counter
        from dask.utils import key_split
        return (Counter((key_split(ts.key), ts.state) for ts in dask_scheduler.tasks.values()),
                Counter(c.client_key for ts in dask_scheduler.tasks.values()
                        for c in ts.who_wants or ()))
    with Client(address, timeout=30) as client:
        by_name, wanted_by = client.run_on_scheduler(tasks)
    return f"tasks {dict(by_name.most_common(8))}; wanted by {dict(wanted_by)}"


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
    page.get_by_role("button", name="Run anyway").click()  # it asks first: minutes of work
    page.locator(".groupby-progress-text").get_by_text(" tasks").wait_for()
    return page


def test_closing_tabs_leaves_no_work_on_the_cluster(serve, browser, tmp_path):
    # A scheduler of its own: other apps' sessions hold work on the shared one.
    cluster = ProcessCluster(tmp_path).start()
    try:
        app = serve(app_args=("--scheduler", cluster.address))
        for _ in range(2):
            page = start_a_long_group_by(browser, app.url)
            assert scheduler_tasks(cluster.address) > 0
            closed = time.monotonic()
            page.close(run_before_unload=True)  # as a user closes the tab
            # Well before Bokeh's own session check (15 s at the earliest) would end it.
            try:
                wait_until(lambda: scheduler_tasks(cluster.address) == 0, RELEASED_WITHIN,
                           "the scheduler to drop the closed tab's tasks")
            except TimeoutError:  # what stayed, and what the app said, for the next person
                print(f"\nleft on the scheduler: {what_is_left(cluster.address)}\n"
                      f"app log (tail):\n{app.process.output()[-4000:]}")
                raise
            print(f"\nclosed tab: its tasks left the scheduler in "
                  f"{time.monotonic() - closed:.1f} s")
            page.context.close()
    finally:
        cluster.stop()
