"""Model search in a real browser: the seed's small grid, one click away, on the cluster."""
from __future__ import annotations

import re

SEARCH_MS = 240_000  # eight SVC(probability=True) fits on 5,000 rows, on a busy 2-core machine


def test_seed_small_grid_finds_the_seeds_best_parameters(proxied_app, page):
    page.goto(proxied_app.url)
    page.locator(".bk-tab").filter(has_text="Model search").click()
    page.get_by_role("button", name="Seed small grid (2 × 2)").click()
    # The preset picks the seed's data; its summary gives the target and features.
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Rows ≈? ?10,000 ")).wait_for()
    page.locator(".search-grid input").first.wait_for()
    page.get_by_role("button", name="Run search").click()

    best = page.locator(".search-best").filter(has_text='{"C": 10.0, "kernel": "rbf"}')
    best.filter(has_text="Best score 0.9086").wait_for(timeout=SEARCH_MS)
    page.locator(".search-progress-text").filter(has_text="8 / 8 fits done").wait_for()
    assert page.external_requests == []
