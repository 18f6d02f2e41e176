"""Figure 6, responsiveness: the Panel server's event-loop lag while browser sessions run
group-bys, and page load to interactive in Chromium.

A real ``panel serve dashboard/app.py --plugins dashboard.proxy.plugin`` (the tests' ``App``)
on the benchmark's cluster, with the lag sampler on (``dashboard.diagnostics``, from
inside the server process) and the result cache off (every Run computes). Chromium
pages click the Group-by tab's Run again as soon as it is enabled. The lag anchor is
the same server idle, measured just before. Page load is timed from ``goto`` to the
Run button enabled in the Group-by tab; its anchor, the first Bokeh document rendered.
"""
from __future__ import annotations

import asyncio
import time

import numpy as np
from playwright.async_api import async_playwright, expect

from tests.conftest import App
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

from .harness import Bench, Row, median, spread

GOAL_LAG_MS, GOAL_LOAD_S = 50, 1.5
WINDOWS = 3  # each phase's p50/p99 is the median over this many equal windows
IDLE_SECONDS = 5
WAIT_MS = 120_000


def lags(path, start: float, stop: float) -> np.ndarray:
    """Lag samples (ms) the server wrote for [start, stop)."""
    try:
        data = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError):
        return np.empty(0)
    if not len(data):
        return np.empty(0)
    inside = (data[:, 0] >= start) & (data[:, 0] < stop)
    return data[inside, 1] * 1000


def percentiles(path, start: float, stop: float) -> tuple[float, float, int]:
    """Median over ``WINDOWS`` windows of each window's p50 and p99 (ms); samples in all."""
    edges = np.linspace(start, stop, WINDOWS + 1)
    p50, p99, n = [], [], 0
    for a, b in zip(edges[:-1], edges[1:]):
        window = lags(path, a, b)
        if len(window):
            p50.append(np.percentile(window, 50))
            p99.append(np.percentile(window, 99))
            n += len(window)
    return (median(p50), median(p99), n) if n else (float("nan"), float("nan"), 0)


async def open_groupby(browser, url: str):
    """A new session on the Group-by tab, once its Run button is enabled; and the times."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(url)
    await page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0",
                                 polling=50, timeout=WAIT_MS)
    rendered = time.perf_counter() - start
    await page.locator(".bk-tab", has_text="Group-by").click()
    await expect(page.locator(".run-groupby button")).to_be_enabled(timeout=WAIT_MS)
    return context, page, time.perf_counter() - start, rendered


async def keep_running(page, until: float) -> int:
    """Click Run whenever it is enabled until ``until``; the number of Runs started."""
    run = page.locator(".run-groupby button")
    runs = 0
    while time.time() < until:
        await run.click()
        runs += 1
        try:  # the button turns disabled once the query is checked and dispatched
            await expect(run).to_be_disabled(timeout=3000)
        except AssertionError:
            pass
    return runs


async def run(bench: Bench) -> list[Row]:
    size = bench.size
    lag_file = bench.workdir / "loop-lag.txt"
    app = App(bench.workdir, app_args=("--scheduler", bench.manager.scheduler_address), env={
        "DASK_WORKBENCH__DIAGNOSTICS__LOOP_LAG_FILE": str(lag_file),
        "DASK_WORKBENCH__JOBS__CACHE_SIZE": "0"})
    try:
        await asyncio.to_thread(app.wait_ready)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            loads, rendered = [], []
            for i in range(size.page_loads + 1):  # the first load warms the server up
                context, _, interactive, doc = await open_groupby(browser, app.url)
                await context.close()
                if i:
                    loads.append(interactive)
                    rendered.append(doc)
            await asyncio.sleep(2)  # closed sessions' clean-up is not idle time
            start = time.time()
            await asyncio.sleep(min(IDLE_SECONDS, size.load_seconds))
            idle = percentiles(lag_file, start, time.time())
            phases = {}
            for n in size.sessions:
                sessions = [await open_groupby(browser, app.url) for _ in range(n)]
                start = time.time()
                runs = await asyncio.gather(*(keep_running(page, start + size.load_seconds)
                                              for _, page, _, _ in sessions))
                phases[n] = (*percentiles(lag_file, start, time.time()), sum(runs))
                for context, *_ in sessions:
                    await context.close()
                await asyncio.sleep(2)
            await browser.close()
    finally:
        await asyncio.to_thread(app.stop)
    out = []
    for n, (p50, p99, samples, runs) in phases.items():
        out.append(Row(
            "6" if n == size.sessions[0] else "6b",
            f"Responsiveness: server event-loop lag p99 with {n} session{'s' * (n > 1)} "
            "running group-bys", p99, "ms", "the same server idle, p99", idle[1],
            goal=f"p99 ≤ {GOAL_LAG_MS} ms", met=p99 <= GOAL_LAG_MS,
            note=f"p50 {p50:.1f} ms (idle {idle[0]:.1f} ms); median of {WINDOWS} windows over "
                 f"{size.load_seconds:g} s, {samples} samples every 10 ms; {runs} Runs "
                 "started (result cache off); Chromium, the server and the workers share the "
                 "machine's cores",
            cause="see the note"))
    load, doc = median(loads), median(rendered)
    out.append(Row(
        "6c", "Responsiveness: Chromium page load to interactive (goto → Group-by tab's Run "
        "enabled)", load, "s", "first Bokeh document rendered", doc,
        goal=f"≤ {GOAL_LOAD_S} s", met=load <= GOAL_LOAD_S,
        note=f"{spread(loads)}; fresh browser context each time (no HTTP cache); includes "
             "the dataset summary read on the cluster",
        cause="see the note"))
    return out
