"""Playwright driving Debian's Chromium (Playwright's own browser download cannot work here)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Keeps Chromium from dialling out on a closed network.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WAIT_MS = 60_000  # every browser wait has a bound: a mismatch fails, never hangs
# Poll on a timer: Chromium pauses animation frames in iframes scrolled out of view.
POLL_MS = 250

# Rectangles the task stream holds for tasks named ``name`` (one per task run).
TASK_RECTS_JS = """(name) => {
  if (!window.Bokeh || !Bokeh.documents.length) return -1;
  let n = -1;
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.data && m.data.duration !== undefined && m.data.name !== undefined)
        n = Math.max(n, Array.from(m.data.name).filter(x => x === name).length);
  return n;
}"""


# Module scope: Playwright's sync API holds an event loop in this thread while it
# runs, which would break the async tests collected after the browser tests.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, artifacts, request):
    """A fresh page; records requests that leave the machine, screenshots at the end."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.external_requests = []
    page.on("request", lambda r: _record_external(page, r.url))
    yield page
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    context.close()


def _record_external(page, url: str) -> None:
    host = urlsplit(url).hostname
    if url.startswith(("http", "ws")) and host not in ("127.0.0.1", "localhost"):
        page.external_requests.append(url)


def pane_frame(page, title: str):
    """The content frame of the dashboard pane titled ``title``."""
    return page.locator(f"iframe[title='{title}']").element_handle().content_frame()


def task_rects(frame, name: str) -> int:
    return frame.evaluate(TASK_RECTS_JS, name)


def wait_for_bokeh(frame) -> None:
    frame.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0",
                            timeout=WAIT_MS, polling=POLL_MS)


def wait_for_task_rects(frame, name: str, at_least: int) -> int:
    frame.wait_for_function(f"(name) => ({TASK_RECTS_JS})(name) >= {at_least}", arg=name,
                            timeout=WAIT_MS, polling=POLL_MS)
    return task_rects(frame, name)


def wait_for_workers(cluster_map_frame, n: int) -> None:
    """The cluster map draws one ``.node.worker`` circle per worker."""
    cluster_map_frame.wait_for_function(
        f"() => document.querySelectorAll('.node.worker').length == {n}",
        timeout=WAIT_MS, polling=POLL_MS)


def log_in(page, user: str, password: str) -> None:
    """Fill Panel's basic-auth login form (the page must be showing it)."""
    page.locator("input[name=username]").fill(user)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit], input[type=submit]").first.click()


WORKSHOP_CODE = "df.groupby('origin').dep_delay.mean()"


def run_workshop_query(page):
    """Open the Group-by tab on the flights and run its default query (the workshop's
    mean dep_delay by origin); return the result's figures line once it shows."""
    page.locator(".bk-tab", has_text="Group-by").click()
    page.locator(".groupby-code").get_by_text(WORKSHOP_CODE).wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    figures = page.locator(".groupby-figures")
    figures.filter(has_text=re.compile(r"3 groups · 336,776 rows scanned")).wait_for()
    return figures
