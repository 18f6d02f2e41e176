"""One user's closed tabs never break another's runs (issue 15).

Tried on a hosted server: eight tabs each started a model search and were closed
mid-search; afterwards every Run, search and summary of every session failed with
"The Dask cluster was lost" until a restart. Cause: a gather cancelled at the
wrong moment poisoned the server's one shared client. Real ``panel serve``
sessions (see ``browserless``) on a scheduler of their own.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ProcessCluster

from .browserless import BrowserlessSession
from .test_sessions import LIFETIME, query, shown_result

SEARCH = {"tab": "2", "dataset": "classification", "n_samples": "3000"}
ROUNDS, TABS = 3, 8


@pytest.fixture(scope="module")
def app(serve, tmp_path_factory):
    cluster = ProcessCluster(tmp_path_factory.mktemp("closed-searches")).start()
    app = serve(*LIFETIME, app_args=("--scheduler", cluster.address))
    yield app
    cluster.stop()


def open_tab(app, link: dict, button: str) -> BrowserlessSession:
    session = BrowserlessSession(app.url, link)
    session.wait_for(lambda: session.button(button), 240, f"the {button!r} button")
    return session


def test_tabs_closed_mid_search_leave_every_other_session_working(app):
    neighbour = open_tab(app, query("origin", "dep_delay", "mean"), "Run")
    rng = random.Random(15)
    try:
        for round_ in range(ROUNDS):
            with ThreadPoolExecutor(4) as pool:
                tabs = list(pool.map(lambda _: open_tab(app, SEARCH, "Run search"),
                                     range(TABS)))

                def search_then_close(tab: BrowserlessSession) -> None:
                    tab.click("Run search")
                    time.sleep(rng.uniform(0.0, 1.5))  # closed at any moment of the search
                    tab.close()
                list(pool.map(search_then_close, tabs))
            # The neighbour's Run still answers, with the real numbers, every round
            # (a new filter each round: the shared cache cannot answer it).
            low = 100.0 + round_
            fresh = open_tab(app, query("origin", "dep_delay", "mean",
                                        {"distance": {"low": low}}), "Run")
            try:
                fresh.click("Run")
                shown = shown_result(fresh, "origin", "dep_delay")
                assert set(shown) == {"EWR", "JFK", "LGA"}, shown
            finally:
                fresh.close()
        neighbour.click("Run")
        shown = shown_result(neighbour, "origin", "dep_delay")
        assert shown["EWR"] == pytest.approx(15.107954, abs=1e-5)
        # A new tab's search runs to its end too.
        searcher = open_tab(app, SEARCH, "Run search")
        try:
            searcher.click("Run search")
            best = searcher.wait_for(
                lambda: [t for t in searcher.texts("search-best") if "Best parameters" in t]
                or searcher.texts("search-error") or None, 240, "the search's best parameters")
            assert "Best parameters" in best[0], best
        finally:
            searcher.close()
    finally:
        neighbour.close()
