"""The dataset picker in a real browser."""
from __future__ import annotations

import re


def test_pick_a_dataset_and_see_what_it_holds(proxied_app, page, tmp_path):
    page.goto(proxied_app.url)
    # Default: the real flights, summarised from one partition on the cluster.
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Partitions 12")).wait_for()
    # The exact count, as the description says ("all 336,776 flights"), not an estimate.
    page.locator(".dataset-stats").filter(has_text="Rows 336,776 ").wait_for()
    page.locator(".bk-tab", has_text="Data").click()  # its first rows
    page.locator(".dataset-head").get_by_text("EWR").first.wait_for()

    page.locator("select").first.select_option("nyc-taxi")
    page.get_by_text("Synthetic data").wait_for()
    description = page.locator(".dataset-description").evaluate(
        "e => (e.shadowRoot || e).textContent")
    assert description.count("Synthetic") == 1 and description.count("on the workers") == 1
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Partitions 10 ")).wait_for()
    page.locator(".dataset-stats").filter(has_text="Rows 10,000,000 ").wait_for()
    page.locator(".dataset-schema").get_by_text("tip_amount").wait_for()

    # A path that does not exist gets a sentence; the picker keeps working.
    page.get_by_text("Add dataset").first.click()
    page.locator(".new-name input").fill("ghost")
    page.locator(".new-path input").fill(str(tmp_path / "ghost.csv"))
    page.locator(".new-path input").press("Enter")
    page.get_by_role("button", name="Add to catalog").click()
    page.locator(".notyf").get_by_text(re.compile("does not exist")).wait_for()
    page.locator("select").first.select_option("nyc-flights")
    page.locator(".dataset-stats").filter(has_text=re.compile(r"Partitions 12")).wait_for()
