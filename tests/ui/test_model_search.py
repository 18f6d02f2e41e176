"""Model search in a real browser at 1440×900: the defaults run on the flights as the page
opens, and the seed's small grid, one click away, gives the workshop's numbers."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.conftest import WAIT_MS

SEARCH_MS = 240_000  # eight SVC(probability=True) fits on 5,000 rows, on a busy 2-core machine
VIEWPORT = {"width": 1440, "height": 900}
SEED_CALL = "GridSearchCV(SVC(gamma='auto', probability=True, random_state=0),"


def open_model_search(page, url: str) -> None:
    page.set_viewport_size(VIEWPORT)
    page.goto(url)
    page.locator(".bk-tab").filter(has_text="Model search").click()


def chosen(page, label: str):
    """The input or select of the form field labelled ``label``."""
    return page.locator(".bk-input-group").filter(
        has=page.locator("label", has_text=re.compile(f"^{re.escape(label)}$"))).locator(
        "input, select").first


def test_run_search_with_the_defaults_on_the_flights(proxied_app, page, artifacts):
    open_model_search(page, proxied_app.url)
    # The flights' own target, continuous: a regressor, on the numeric columns only.
    expect(chosen(page, "Target")).to_have_value("arr_delay", timeout=WAIT_MS)
    expect(chosen(page, "Estimator")).to_have_value("Ridge")
    code = page.locator(".search-code")
    code.get_by_text("GridSearchCV(Ridge(),").wait_for()
    code.get_by_text(re.compile(r"\.sample\(frac=0\.0297, random_state=0\)\.dropna\(\)")).wait_for()
    assert "'tailnum'" not in code.inner_text() and "'carrier'" not in code.inner_text()

    page.get_by_role("button", name="Run search").click()
    best = page.locator(".search-best").filter(has_text='Best parameters {"alpha": ')
    best.filter(has_text=re.compile(r"Best score 0\.\d+ \(r2, mean over 2 folds\)")).wait_for(
        timeout=SEARCH_MS)
    best.filter(has_text="Held-out score of the refit best model").wait_for()
    page.locator(".search-progress-text").filter(has_text="14 / 14 fits done").wait_for()
    assert page.locator(".search-error").count() == 0
    best.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "model-search-defaults-1440.png"))
    assert page.external_requests == []


def test_seed_small_grid_finds_the_seeds_best_parameters(proxied_app, page, artifacts):
    open_model_search(page, proxied_app.url)
    expect(chosen(page, "Target")).to_have_value("arr_delay", timeout=WAIT_MS)
    seed = page.get_by_role("button", name="Seed small grid (2 × 2)")
    # A button that looks like one: a coloured outline, not plain text.
    assert re.search(r"\bbk-btn-primary\b", seed.get_attribute("class") or "")
    border = seed.evaluate("b => [getComputedStyle(b).borderTopWidth, "
                           "getComputedStyle(b).borderTopColor]")
    assert border[0] != "0px" and border[1] not in ("transparent", "rgba(0, 0, 0, 0)"), border
    page.screenshot(path=str(artifacts / "model-search-seed-buttons-1440.png"))

    seed.click()
    # Run at once: the seed's data is still being read, and the run waits for it.
    page.get_by_role("button", name="Run search").click()
    expect(chosen(page, "Held-out share")).to_have_value("0")
    expect(chosen(page, "Rows to search (0: all)")).to_have_value("0")
    # Every setting in view: the fixed ones, and the search as code.
    fixed = page.locator(".search-fixed")
    for setting in ("gamma='auto'", "probability=True", "random_state=0"):
        fixed.get_by_text(setting).first.wait_for()
    page.locator(".search-code").get_by_text(SEED_CALL).wait_for()
    page.locator(".search-code").get_by_text("joblib.parallel_backend('dask')").wait_for()

    best = page.locator(".search-best").filter(has_text='{"C": 10.0, "kernel": "rbf"}')
    best.filter(has_text="Best score 0.9086").wait_for(timeout=SEARCH_MS)
    page.locator(".search-progress-text").filter(has_text="8 / 8 fits done").wait_for()
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Rows ≈? ?10,000 ")).wait_for()
    # The results re-render as the last updates land: scroll the one on the page now.
    page.locator(".search-best").last.evaluate("e => e.scrollIntoView()")
    page.screenshot(path=str(artifacts / "model-search-seed-small-grid-1440.png"))
    assert page.external_requests == []
