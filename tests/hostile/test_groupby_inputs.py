"""Hostile group-by queries on the real flights, through the tab itself: each gets a sentence
(in the tab and as a notice), nothing stays busy, and the next good query runs.

What a widget, a link or a restored run can put in the tab's params: values of the wrong
type, filters that keep nothing, markup, numbers far out of range. ``tests/views`` covers
the plainer mistakes (no key, mean of text, an inverted range, zero rows).
"""
from __future__ import annotations

import pytest
import pytest_asyncio

from dashboard.views.groupby import GroupByView
from dashboard.views.notify import plain
from tests.hostile.views import not_busy, session, told  # noqa: F401 (fixture)
from tests.views.page import layout, shown

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCRIPT = "<script>alert(1)</script>"
DEFAULT = dict(group_by=["origin"], value_columns=["dep_delay"], agg="mean", filter_columns=[],
               filters={}, selection=None, sort="value", ascending=False, top_n=None)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def tab(session):
    picker, store = session
    return GroupByView(store=store)


def filtered(column, **chosen):
    return dict(filter_columns=[column], filters={column: chosen})


CASES = {
    "sum of text": (dict(value_columns=["carrier"], agg="sum"),
                    "Sum needs numbers, but 'carrier' holds text."),
    "variance of dates": (dict(value_columns=["date"], agg="var"),
                          "Var needs numbers, but 'date' holds dates."),
    "no value column": (dict(value_columns=[]), "Choose at least one value column to aggregate."),
    "key is also the value": (dict(group_by=["origin", "dest"], value_columns=["dest"],
                                   agg="count"),
                              "dest cannot be both a group-by key and a value"),
    "range filter on text": (filtered("carrier", low=1, high=5),
                             "A range filter needs numbers or dates, but 'carrier' holds text"),
    "text as a number bound": (filtered("dep_delay", low="abc"),
                               "The filter on 'dep_delay' has 'abc' as its low end, but "
                               "'dep_delay' holds numbers"),
    "NaN bound": (filtered("dep_delay", high=float("nan")),
                  "The filter on 'dep_delay' has nan as its high end"),
    "true as a number bound": (filtered("distance", low=True),
                               "The filter on 'distance' has True as its low end"),
    "junk as a date bound": (filtered("date", low="not a date"),
                             "The filter on 'date' has 'not a date' as its low end, but 'date' "
                             "holds dates"),
    "a date bound past the calendar": (filtered("date", low="99999-01-01"),
                                       "as its low end, but 'date' holds dates"),
    "no values chosen": (filtered("origin", values=[]),
                         "The filter on 'origin' keeps no values; choose at least one."),
    "markup as a value": (filtered("origin", values=[SCRIPT]),
                          f"No rows match the filters (origin in ['{SCRIPT}'])"),
    "code as a value": (filtered("carrier", values=["__import__('os').system('id')"]),
                        "No rows match the filters (carrier in"),
    "filter that is not a range": (dict(filter_columns=["dep_delay"],
                                        filters={"dep_delay": "> 5"}),
                                   "The filter on 'dep_delay' should be a range (low, high) or "
                                   "a choice of values, not '> 5'."),
    "huge range": (filtered("distance", low=1e300, high=float("inf")),
                   "No rows match the filters (distance >= 1e+300 and distance <= inf)"),
    "inverted dates": (filtered("date", low="2013-12-31", high="2013-01-01"),
                       "its low end is above its high end"),
    "top N zero": (dict(top_n=0), "Top N must be a positive number of groups"),
    "top N negative": (dict(top_n=-10**18), "Top N must be a positive number of groups"),
    "empty map selection": (dict(selection={"dep_delay": (50.0, -50.0)}),
                            "The filter on 'dep_delay' runs from 50.0 to -50.0"),
    "map selection of a missing column": (dict(selection={"no_such": (0.0, 1.0)}),
                                          "Column 'no_such' is not in this dataset"),
    "map selection that is not a pair": (dict(selection={"distance": (1.0,)}),
                                         "The map selection on 'distance' should be a (low, "
                                         "high) pair"),
}


@pytest.mark.hostile("inputs")
@pytest.mark.parametrize("change, sentence", CASES.values(), ids=CASES.keys())
async def test_a_bad_query_gets_a_sentence_and_nothing_stays_busy(tab, notices, change,
                                                                  sentence):
    tab.param.update({**DEFAULT, **change})
    job = await tab.run()
    assert job is None or job.status == "failed"
    assert sentence in tab.error
    # The sentence is on the tab, not only in a toast.
    assert plain(sentence) in shown(layout(tab), "groupby-error").object
    told(notices, sentence)
    not_busy(tab)


@pytest.mark.hostile("inputs")
async def test_huge_groups_are_asked_about_before_any_work(tab, notices):
    tab.param.update({**DEFAULT, "group_by": ["tailnum", "flight", "dest"], "agg": "count"})
    assert await tab.run() is None
    assert "may make about" in tab.warning and "Run anyway?" in tab.warning
    not_busy(tab)


async def test_the_tab_still_runs_a_good_query_afterwards(tab):
    tab.param.update(DEFAULT)
    job = await tab.run()
    assert job.status == "done" and tab.error == "" and job.stats["groups"] == 3
