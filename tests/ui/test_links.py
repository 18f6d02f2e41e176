"""Shareable URLs in a real browser: a link restores the view and, in one click, the cached
result; a stale link gets a notice and safe defaults."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from playwright.sync_api import expect

from tests.ui.conftest import WAIT_MS
from tests.ui.test_explore import IMAGE_JS
from tests.ui.test_model_search import SEARCH_MS


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
    link = (f"{proxied_app.url}?dataset=gone&tab=1&by={quote(json.dumps(['no_such_column']))}"
            f"&values={quote('[dep_delay')}")
    page.goto(link)
    notices = page.locator(".notyf")
    notices.get_by_text("This link's dataset setting dataset='gone' does not exist here").wait_for()
    notices.get_by_text("This link's group-by names column 'no_such_column'").wait_for()
    # The defaults are shown, and they run.
    page.locator(".groupby-code").get_by_text("df.groupby('origin').dep_delay.mean()").wait_for()
    # A value no list can be read from is named once, by the tab that owns it.
    expect(notices.filter(has_text="values='[dep_delay'")).to_have_count(1)
    page.locator(".choices__list--multiple .choices__item", has_text="origin").first.wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".groupby-figures").filter(has_text=re.compile("3 groups")).wait_for()


def field(page, css: str, label: str):
    """The input of the widget labelled ``label`` inside ``css``."""
    return page.locator(f"{css} .bk-input-group").filter(
        has=page.locator("label", has_text=re.compile(f"^{re.escape(label)}$"))).locator(
        "input, select").first


SEARCH_LINK = {"ms_est": "LogisticRegression", "ms_cv": "3", "ms_score": "balanced_accuracy",
               "ms_grid": json.dumps({"C": "0.1, 1"})}
EXPLORE_LINK = {"ex_x": "f2", "ex_y": "f3", "ex_xr": "[-2, 2]", "ex_yr": "[-3, 3]"}


def test_a_link_restores_model_search_and_explore_and_one_click_runs_it(proxied_app, page):
    link = (f"{proxied_app.url}?dataset=classification&n_samples=400&tab=2&"
            + urlencode({**SEARCH_LINK, **EXPLORE_LINK}))
    page.goto(link)
    # The model search tab shows the link's search once the dataset's columns are known.
    expect(field(page, "", "Estimator")).to_have_value("LogisticRegression", timeout=WAIT_MS)
    expect(field(page, "", "CV folds")).to_have_value("3")
    expect(field(page, "", "Scoring")).to_have_value("balanced_accuracy")
    expect(field(page, ".search-grid", "C")).to_have_value("0.1, 1")
    # Nothing ran by itself; one click runs the link's search: 2 values of C × 3 folds.
    assert page.locator(".search-progress-text").filter(has_text="fits done").count() == 0
    page.get_by_role("button", name="Run search").click()
    page.locator(".search-progress-text").filter(has_text="6 / 6 fits done").wait_for(
        timeout=SEARCH_MS)
    page.locator(".search-best").filter(has_text='Best parameters {"C": ').wait_for(
        timeout=SEARCH_MS)
    # The link is still the page's address, ready to share again.
    shared = query(page)
    assert {k: shared.get(k) for k in SEARCH_LINK} == SEARCH_LINK

    # The explore tab shows the link's axes and the part of the map it was zoomed to.
    page.locator(".bk-tab").filter(has_text="Explore").click()
    expect(field(page, "", "x axis")).to_have_value("f2", timeout=WAIT_MS)
    expect(field(page, "", "y axis")).to_have_value("f3")
    page.locator(".explore-status").get_by_text("rows drawn").wait_for(timeout=3 * WAIT_MS)
    image = page.evaluate(IMAGE_JS)
    assert abs(image["x"] + 2) < 0.05 and abs(image["dw"] - 4) < 0.1, image
    assert abs(image["y"] + 3) < 0.05 and abs(image["dh"] - 6) < 0.1, image


def test_a_stale_model_search_link_gets_a_notice_and_defaults(proxied_app, page):
    link = f"{proxied_app.url}?tab=2&" + urlencode(
        {"ms_est": "NoSuchModel", "ms_cv": "99", "ms_grid": json.dumps({"C": "-1"})})
    page.goto(link)
    notice = page.locator(".notyf").filter(has_text="This link's model search settings")
    for bad in ("ms_est='NoSuchModel'", "ms_cv='99'", "ms_grid[C]='-1'"):
        notice.filter(has_text=bad).wait_for()
    # The defaults for the flights' continuous target (arr_delay): a regressor.
    expect(field(page, "", "Estimator")).to_have_value("Ridge")
    expect(field(page, "", "CV folds")).to_have_value("2")
    expect(field(page, ".search-grid", "Alpha")).to_have_value("logspace(-3, 3, 7)")
    page.wait_for_function("() => !location.search.includes('ms_')")
