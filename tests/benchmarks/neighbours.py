"""Figure 10, neighbours: one user's abuse against another's page load and Run (issue 18).

A hosted ``panel serve`` (``workbench.hosted``, ``--basic-auth``, result cache off) on
the benchmark's cluster, each user logged in as themselves, so that one login's share
(``jobs.max-running-per-user``, ``login.max-pages-per-user``, at their defaults) holds
across Mallory's sessions. Ben, in Chromium, opens the Group-by tab again and again
(page load: ``goto`` to an enabled Run) and then clicks Run again and again (click to
result shown). He does it three times: alone, beside a fair neighbour (Fay), then while
Mallory, without a browser (so that no second Chromium takes the cores the measure
needs), does all she can:

- opens pane sockets through the proxy until refused, and keeps them open;
- runs, in two sessions at once, the group-by with the most groups the flights have
  (``tailnum``, ~4,000 groups) again and again;
- clicks Run at wire speed in a third, a hundred times a second;
- opens links past the quotas (``rows=1e20`` of a synthetic dataset), again and again.

Scaling the cluster is not in her reach: hosted, the scale controls are shown to the
named admins only and refused on the server (``tests/ui/test_hosted.py``). The figure is
Ben's median under abuse over his median alone, in the same run. The note adds his
median beside a fair neighbour (the workshop's query, one Run after another): on two
cores any busy neighbour takes a share, and that share bounds what caps can keep.
``NEIGHBOURS_ABUSES="panes runs clicks quotas"`` (the default) picks which abuses to run.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time

from bokeh.events import ButtonClick
from playwright.async_api import async_playwright
from tornado.httpclient import HTTPClientError

from tests.conftest import App
from tests.load.browserless import BrowserlessSession
from tests.load.test_sessions import query
from tests.proxy.test_proxy_server import bokeh_token, login, request, ws_connect
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

from .harness import Bench, Row, median, spread
from .responsiveness import UNTHROTTLED, keep_running, open_groupby

GOAL_RATIO = 1.5
PASSWORD = "s3cret"  # what tests.proxy.test_proxy_server.login sends
PANE_ATTEMPTS = 60  # past the per-user cap (40)
RUNNERS = 2


async def ben(browser, url: str, loads: int, seconds: float,
              cookie: str) -> tuple[list[float], list[float]]:
    """Ben's page loads (s) and Runs, click to result (s)."""
    times = []
    for _ in range(loads):
        session = await open_groupby(browser, url, panes=False, cookie=cookie)
        if session is not None:
            context, page, interactive, _ = session
            times.append(interactive)
            await close(context, page)
    session = await open_groupby(browser, url, panes=False, cookie=cookie)
    runs: list[float] = []
    if session is not None:
        runs, _ = await keep_running(session[1], time.time() + seconds)
        await close(*session[:2])
    return times, runs


async def close(context, page) -> None:
    """Close the tab as a user does (the page says so, and its session ends)."""
    await page.close(run_before_unload=True)
    await context.close()


class Neighbour:
    """Everything one user can throw at the server, until ``stop``; and what came of it."""

    def __init__(self, app: App, cookie: str):
        self.app, self.cookie, self.stop = app, cookie, threading.Event()
        self.counts = {"panes open": 0, "panes refused": 0, "runs": 0, "Run clicks": 0,
                       "quota links": 0, "errors": 0}
        self._threads: list[threading.Thread] = []
        self._panes: list = []

    async def start(self, abuses=("panes", "runs", "clicks", "quotas")) -> None:
        if "panes" in abuses:
            await self._flood_panes()
        if "runs" in abuses:
            for _ in range(RUNNERS):
                self._thread(self._run_biggest)
        if "clicks" in abuses:
            self._thread(self._click_flood)
        if "quotas" in abuses:
            self._thread(self._open_past_quotas)

    def _thread(self, target) -> None:
        def again():
            while not self.stop.is_set():
                try:
                    target()
                except Exception:  # a session of hers that failed: counted, she goes on
                    self.counts["errors"] += 1
        thread = threading.Thread(target=again, daemon=True)
        thread.start()
        self._threads.append(thread)

    async def _flood_panes(self) -> None:
        port, origin = self.app.port, f"http://127.0.0.1:{self.app.port}"
        url = f"ws://127.0.0.1:{port}/dask/individual-task-stream/ws"
        for _ in range(PANE_ATTEMPTS):
            _, _, body = await asyncio.to_thread(request, port, "/dask/individual-task-stream",
                                                 headers={"Cookie": self.cookie})
            try:
                self._panes.append(await ws_connect(url, origin=origin, cookie=self.cookie,
                                                    subprotocols=["bokeh", bokeh_token(body)]))
                self.counts["panes open"] += 1
            except HTTPClientError:
                self.counts["panes refused"] += 1

    def _run_biggest(self) -> None:
        self._run(query("tailnum", "dep_delay", "mean"))

    def run_workshop_query(self) -> None:
        """What a fair neighbour does: the workshop's query, one Run after another."""
        self._thread(lambda: self._run(query("origin", "dep_delay", "mean")))

    def _run(self, link: dict) -> None:
        session = BrowserlessSession(self.app.url, link, cookie=self.cookie)
        try:
            while not self.stop.is_set():
                # Each Run to its end (clicking again sooner would cancel it, not add load).
                before = session.call(lambda: session.texts("groupby-figures", "groupby-error"))
                session.click("Run")
                session.wait_for(lambda: session.texts("groupby-figures", "groupby-error")
                                 not in ([], before), 120, "the result")
                self.counts["runs"] += 1
        finally:
            session.close()

    def _click_flood(self) -> None:
        """Run clicked at wire speed, a hundred times a second, as a script can."""
        session = BrowserlessSession(self.app.url, query("dest", "arr_delay", "mean"),
                                     cookie=self.cookie)
        try:
            session.wait_for(lambda: session.button("Run"), 120, "the Run button")
            click = ButtonClick(session.call(lambda: session.button("Run")))
            while not self.stop.is_set():
                session.call(lambda: session.session.document.callbacks.send_event(click))
                self.counts["Run clicks"] += 1
                time.sleep(0.01)
        finally:
            session.close()

    def _open_past_quotas(self) -> None:
        while not self.stop.is_set():
            session = BrowserlessSession(self.app.url, {"dataset": "nyc-taxi", "rows": "1e20"},
                                         cookie=self.cookie)
            session.wait_for(lambda: session.texts("dataset-error", "groupby-error") or
                             session.button("Run"), 60, "the quota's sentence")
            session.close()
            self.counts["quota links"] += 1

    async def end(self) -> dict[str, int]:
        self.stop.set()
        for conn in self._panes:
            conn.close()
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 180)
        return self.counts


async def run(bench: Bench) -> list:
    size = bench.size
    app = App(bench.workdir, "--basic-auth", PASSWORD, "--cookie-secret", "n" * 32,
              app_args=("--scheduler", bench.manager.scheduler_address),
              env={"DASK_WORKBENCH__HOSTED": "true", "DASK_WORKBENCH__JOBS__CACHE_SIZE": "0"})
    try:
        await asyncio.to_thread(app.wait_ready, "login")
        bens, fays, mallorys = [await asyncio.to_thread(login, app, user)
                                for user in ("ben", "fay", "mallory")]
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM,
                                              args=CHROMIUM_ARGS + UNTHROTTLED)
            # Warms the server up; not counted.
            warm = await open_groupby(browser, app.url, cookie=bens)
            if warm is not None:
                await close(*warm[:2])
            alone = await ben(browser, app.url, size.page_loads, size.load_seconds, bens)
            # The anchor of what sharing costs: a neighbour, Fay, who only works, fairly.
            fair_user = Neighbour(app, fays)
            fair_user.run_workshop_query()
            try:
                fair = await ben(browser, app.url, size.page_loads, size.load_seconds, bens)
            finally:
                await fair_user.end()
            mallory = Neighbour(app, mallorys)
            await mallory.start(os.environ.get("NEIGHBOURS_ABUSES",
                                               "panes runs clicks quotas").split())
            try:
                abused = await ben(browser, app.url, size.page_loads, size.load_seconds,
                                   bens)
            finally:
                counts = await mallory.end()
            await browser.close()
    finally:
        await asyncio.to_thread(app.stop)
    did = ", ".join(f"{n} {what}" for what, n in counts.items())
    out = []
    nan = float("nan")
    for figure, what, quiet, shared, loud in (
            ("10", "page load to interactive", alone[0], fair[0], abused[0]),
            ("10b", "Run, click to result", alone[1], fair[1], abused[1])):
        ratio = median(loud) / median(quiet) if quiet and loud else nan
        fair_share = median(shared) if shared else nan
        out.append(Row(
            figure, f"Neighbours: Ben's {what} while Mallory abuses the server",
            median(loud) if loud else nan, "s", "Ben alone", median(quiet) if quiet else nan,
            goal=f"≤ {GOAL_RATIO}× alone", met=ratio <= GOAL_RATIO,
            note=f"abused: {spread(loud) if loud else 'none finished'}; alone: "
                 f"{spread(quiet) if quiet else 'none finished'}; beside a fair neighbour "
                 f"running the workshop query back to back: {fair_share:.3f} s "
                 f"({spread(shared) if shared else 'none finished'}), so Mallory costs "
                 f"{median(loud) / fair_share if loud else nan:.2f}× what a fair neighbour "
                 f"does; Mallory, meanwhile: {did}"))
    return out
