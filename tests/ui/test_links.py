"""Shareable URLs in a real browser: a link restores the view and, in one click, the cached
result; a stale link gets a notice and safe defaults."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, quote, urlsplit

from tests.ui.conftest import WAIT_MS


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    return page


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_a_shared_link_restores_the_query_and_its_cached_result(proxied_app, browser, page):
    link = f"{proxied_app.url}?tab=1&by={quote(json.dumps(['carrier']))}&agg=max"
    page.goto(link)
    code = page.locator(".groupby-code")
    code.get_by_text("df.groupby('carrier').dep_delay.max()").wait_for()
    page.locator(".choices__item", has_text="carrier").first.wait_for()
    # A choice made on the page goes into the address bar, ready to share.
    page.locator("select").filter(has_text="nunique").select_option("min")
    code.get_by_text("df.groupby('carrier').dep_delay.min()").wait_for()
    page.wait_for_function("() => location.search.includes('agg=min')")
    shared = query(page)
    assert shared["tab"] == "1" and shared["agg"] == "min" and "carrier" in shared["by"]
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-figures").filter(has_text=re.compile("16 groups")).wait_for()
    shared = page.url

    # Someone else opens it: the same view; one click gives the same result, from the cache.
    other = open_page(browser, shared)
    other.locator(".groupby-code").get_by_text("df.groupby('carrier').dep_delay.min()").wait_for()
    other.get_by_role("button", name="Run", exact=True).click()
    other.locator(".groupby-figures").filter(has_text="cached").wait_for()
    other.locator(".groupby-table").get_by_text("HA", exact=True).wait_for()
    other.context.close()


def test_a_stale_link_gets_a_notice_and_defaults(proxied_app, page):
    link = f"{proxied_app.url}?dataset=gone&tab=1&by={quote(json.dumps(['no_such_column']))}"
    page.goto(link)
    notices = page.locator(".notyf")
    notices.get_by_text("This link's dataset setting dataset='gone' does not exist here").wait_for()
    notices.get_by_text("This link's group-by names column 'no_such_column'").wait_for()
    # The defaults are shown, and they run.
    page.locator(".groupby-code").get_by_text("df.groupby('origin').dep_delay.mean()").wait_for()
    page.locator(".choices__list--multiple .choices__item", has_text="origin").first.wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-figures").filter(has_text=re.compile("3 groups")).wait_for()
