"""Hostile links opened in a real browser: markup in query values never runs (no dialog
ever opens, no injected element exists), each bad value gets a notice naming it as text,
and the page stays usable (the group-by tab runs its query).
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from tests.hostile.conftest import tally
from tests.ui.conftest import WAIT_MS, browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.ui

NOTICE_MS = WAIT_MS  # some notices wait for the dataset's columns
SCRIPT = "<script>alert('script')</script>"
IMG = "<img src=x onerror=alert('img')>"
SVG = "<svg onload=alert('svg')>"


def q(value) -> str:
    return quote(value if isinstance(value, str) else json.dumps(value), safe="")


# (query string, what the notice or the tab shows, as text)
LINKS = [
    (f"dataset={q(SCRIPT)}", SCRIPT),
    (f"dataset=nyc-flights&format={q(IMG)}", IMG),
    (f"tab=1&by={q([IMG])}", IMG),
    (f"tab=1&by={q('[origin')}", "[origin"),  # not a list Panel can read
    (f"tab=1&agg={q(SVG)}", SVG),
    ("dataset=nyc-taxi&rows=-1", "rows"),
    ("dataset=nyc-taxi&rows=1e20", "rows"),
    (f"tab=1&top={q('9' * 5000)}", "top"),
    ("tab=99", "tab=99"),
    (f"tab=3&ex_x={q(IMG)}", IMG),
    ("dataset=" + q("ñ日本\u202e\u0000"), "ñ日本"),
    (f"theme={q(SCRIPT)}", SCRIPT),  # Panel's template looked it up unchecked: a blank page
]


def test_hostile_links_get_a_notice_run_no_script_and_leave_a_usable_page(
        proxied_app, browser, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # A page that breaks in the browser ("reference p5156 isn't known": Panel dropped an
    # update made while the page was loading) stops showing anything new.
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(f"{page.url[-60:]}: {error}"))
    refused, problems = 0, []
    try:
        for query, shown in LINKS:
            page.goto(f"{proxied_app.url}?{query}")
            notice = page.locator(".notyf").filter(has_text="This link's").filter(
                has_text=shown)
            try:
                notice.first.wait_for(timeout=NOTICE_MS)
            except Exception:
                texts = page.locator(".notyf").all_inner_texts()
                problems.append(f"{query[:60]}: no notice showing {shown!r}; notices: {texts}")
                continue
            injected = page.locator("img[src='x'], svg[onload]").count()
            if dialogs or injected:
                problems.append(f"{query[:60]}: dialogs {dialogs}, injected elements {injected}")
                continue
            refused += 1

        # A value that reaches the tab's own sentence after Run is text there too.
        filters = {"origin": {"values": [IMG]}}
        page.goto(f"{proxied_app.url}?tab=1&filter_on={q(['origin'])}&filters={q(filters)}")
        page.get_by_role("button", name="Run", exact=True).click()
        page.locator(".groupby-error").filter(has_text="No rows match the filters (origin in"
                                              ).filter(has_text=IMG).wait_for(
                                                  timeout=2 * WAIT_MS)
        if dialogs or page.locator("img[src='x']").count():
            problems.append(f"group-by error: dialogs {dialogs}")
        else:
            refused += 1

        # And the page still works: clear the filter, run the default query.
        page.goto(f"{proxied_app.url}?tab=1")
        page.get_by_role("button", name="Run", exact=True).click()
        page.locator(".groupby-figures").filter(has_text=re.compile("3 groups")).wait_for(
            timeout=2 * WAIT_MS)
    finally:
        page.screenshot(path=str(artifacts / "hostile_links.png"), full_page=True)
        context.close()
        tally("inputs", len(LINKS) + 1, refused)
    assert dialogs == [] and problems == [] and page_errors == []
