"""Hostile axes and ranges in the Explore tab, on the real flights: each gets a sentence in
place of the plot (and a notice), the loading overlay goes away, and a good view is drawn
again afterwards.

Ranges come from panning, zooming and links; columns from the pickers and links.
``tests/views/test_explore.py`` covers a text axis, a constant y and an all-NaN column.
"""
from __future__ import annotations

import math

import pytest
import pytest_asyncio

from dashboard.views.explore import ExploreView
from tests.hostile.views import session, told, until  # noqa: F401 (fixture)
from tests.views.page import layout, shown
from tests.views.test_explore import Outcomes

pytestmark = pytest.mark.asyncio(loop_scope="module")

GOOD = dict(x="distance", y="air_time", agg="count", value="arr_delay", hist="arr_delay")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def tab(session):
    picker, store = session
    view = ExploreView(store=store)
    view.outcomes = Outcomes(view)
    await until(lambda: view.raster is not None and not view.loading, "the first map")
    return view


async def show(view: ExploreView, **params) -> None:
    """Set ``params`` and wait for the attempt they start (if they change anything)."""
    changed = {k: v for k, v in params.items() if getattr(view, k) != v or (
        isinstance(v, tuple) and any(isinstance(p, float) and math.isnan(p) for p in v))}
    if not changed:
        return
    seen = view.outcomes.count
    view.param.update(changed)
    await view.outcomes.next(seen)


CASES = {
    "dates on the x axis": ([dict(x="date")], "'date' is not numeric (its type is "),
    "same column on both axes": ([dict(y="distance")],
                                 "The x and y axes are both 'distance': a column against itself "
                                 "only draws a diagonal line; choose two different columns."),
    "a column the data lacks": ([dict(y="no_such")],
                                "There is no column 'no_such' in this dataset to use for the y "
                                "axis."),
    "a constant x axis": ([dict(x="year")], "'year' has the same value (2013) in every row: a "
                                            "constant column has no range to spread along the "
                                            "x axis."),
    "mean of nothing": ([dict(agg="mean", value=None)],
                        "Choose the column whose mean colours the plot."),
    "mean of text": ([dict(agg="mean", value="carrier")],
                     "'carrier' is not numeric (its type is "),
    "histogram of text": ([dict(hist="origin")], "so it cannot be the histogram"),
    "inverted x range": ([dict(x_range=(900.0, 200.0))],
                         "The x range 900 to 200 is empty; zoom out or reset the view."),
    "zero-width y range": ([dict(y_range=(100.0, 100.0))], "The y range 100 to 100 is empty"),
    "NaN range": ([dict(x_range=(math.nan, math.nan))], "The x range nan to nan is empty"),
    "infinite range": ([dict(y_range=(0.0, math.inf))], "The y range 0 to inf is empty"),
}


@pytest.mark.hostile("inputs")
@pytest.mark.parametrize("steps, sentence", CASES.values(), ids=CASES.keys())
async def test_a_bad_view_gets_a_sentence_instead_of_a_plot(tab, notices, steps, sentence):
    await show(tab, **GOOD, x_range=None, y_range=None)
    for step in steps:
        await show(tab, **step)
    assert sentence in tab.error
    page = layout(tab)  # the sentence replaces the plots, and nothing shows as loading
    assert shown(page, "explore-error") is not None
    assert shown(page, "explore-map") is None and shown(page, "explore-histogram") is None
    told(notices, sentence)
    assert tab.loading is False
    assert page.select(lambda o: getattr(o, "loading", False)) == []
    assert tab.store.jobs.running("explore") is None


async def test_a_good_view_is_drawn_afterwards(tab):
    await show(tab, **GOOD, x_range=None, y_range=None)
    await show(tab, x_range=(200.0, 900.0))
    page = layout(tab)
    assert tab.error == "" and shown(page, "explore-map") is not None
    assert shown(page, "explore-error") is None
    assert tab.raster.x_range == (200.0, 900.0)
