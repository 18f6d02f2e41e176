"""Hostile grids and data choices in the Model search tab, on the classification data: each
is refused with a sentence before a fit is sent (or asked about), nothing stays busy,
and a good search still runs afterwards.

``tests/compute/test_search.py`` holds scikit-learn's own words for the plainer
mistakes (C=-1, an unknown kernel, n_neighbors=0...); these are values that would cost
the server (ranges of 10**12 values, a billion candidates), that are not numbers, or
that are markup.
"""
from __future__ import annotations

import pytest
import pytest_asyncio

from dashboard.views.model_search import ModelSearchView
from tests.hostile.views import not_busy, session, told, until  # noqa: F401 (fixture)
from tests.views.page import layout, shown

pytestmark = pytest.mark.asyncio(loop_scope="module")

IMG = "<img src=x onerror=alert(1)>"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def tab(session):
    _, picker = session
    picker.dataset_name = "classification"
    picker.dataset.n_samples = 200
    view = ModelSearchView(store=picker)
    await until(lambda: picker.summary is not None and not picker.loading
                and picker.summary.rows_estimate == 200 and view.target == "y", "the data")
    return view


def reset(view: ModelSearchView, estimator: str = "SVC") -> None:
    view.param.update(estimator=estimator, target="y", features=["f0", "f1", "f2", "f3"],
                      cv=2, holdout=0.0, question="", error="")
    view.grid.param.update({name: p.default for name, p in view.grid.param.objects().items()
                            if name != "name"})


SVC_GRIDS = {
    "words for a number": ({"C": "abc"}, "C: cannot read 'abc'. Enter numbers separated by "
                                         "commas"),
    "not a number": ({"C": "nan"}, "C: cannot read 'nan'"),
    "overflowing number": ({"C": "1e400"}, "C: values must be finite numbers."),
    "range overflowing to infinity": ({"C": "logspace(0, 400, 5)"},
                                      "C: values must be finite numbers."),
    "zero C": ({"C": "0"}, "SVC cannot take C=0.0: The 'C' parameter of SVC must be a float "
                           "in the range (0.0, inf]"),
    "statement": ({"C": "1; import os"}, "C: cannot read '1; import os'"),
    "a range of 10**12 values": ({"C": "range(0, 1000000000000)"},
                                 "C: 'range(0, 1000000000000)' gives 1,000,000,000,000 values; "
                                 "a range may give at most 1000."),
    "a linspace of 10**12 values": ({"C": "linspace(0, 1, 1e12)"},
                                    "C: 'linspace(0, 1, 1e12)' gives 1,000,000,000,000 values"),
    "negative degree": ({"C": "1", "degree": "-1"}, "SVC cannot take degree=-1: The 'degree' "
                                                    "parameter of SVC must be an int in the "
                                                    "range [0, inf)"),
    "markup": ({"gamma": IMG}, f"gamma: cannot read '{IMG}'"),
    "empty grid": ({"C": "", "kernel": [], "shrinking": [], "gamma": "", "degree": ""},
                   "The grid is empty: enter at least one value for one parameter of SVC."),
    "a billion candidates": ({"C": "logspace(-3, 3, 1000)", "gamma": "logspace(-3, 3, 1000)",
                              "degree": "range(0, 1000)"},
                             "This grid makes 2,000,000,000 candidates (1000 C × 2 kernel × "
                             "1000 gamma × 1000 degree); at most 100,000 can be searched here."),
}


@pytest.mark.hostile("inputs")
@pytest.mark.parametrize("entries, sentence", SVC_GRIDS.values(), ids=SVC_GRIDS.keys())
async def test_a_bad_grid_is_refused_before_any_fit(tab, notices, entries, sentence):
    reset(tab)
    tab.grid.param.update(entries)
    before = len(tab.store.jobs.history)
    assert await tab.run() is None  # nothing dispatched, not even the data
    assert len(tab.store.jobs.history) == before
    assert tab.error.startswith(sentence)
    alert = shown(layout(tab), "search-error")
    assert alert.alert_type == "danger" and "<img" not in alert.object  # shown as text
    told(notices, sentence)
    not_busy(tab)


DATA_CHOICES = {
    "no target": (dict(target=None), {}, "Choose a target column."),
    "no features": (dict(features=[]), {}, "Choose at least one feature column"),
    "only the target as a feature": (dict(features=["y"]), {},
                                     "Choose at least one feature column"),
    "a billion neighbours": (dict(estimator="KNeighborsClassifier"), {"n_neighbors": "1e9"},
                             "n_neighbors=1000000000 is larger than the 100 rows a CV fold "
                             "trains on"),
}


@pytest.mark.hostile("inputs")
@pytest.mark.parametrize("choice, entries, sentence", DATA_CHOICES.values(),
                         ids=DATA_CHOICES.keys())
async def test_bad_data_choices_fail_with_a_sentence(tab, notices, choice, entries, sentence):
    reset(tab, choice.get("estimator", "SVC"))
    tab.param.update(choice)
    tab.grid.param.update(entries)
    job = await tab.run()
    assert job is None or job.status == "failed"
    assert sentence in tab.error
    told(notices, sentence)
    not_busy(tab)


@pytest.mark.hostile("inputs")
async def test_a_huge_grid_is_asked_about_and_nothing_stays_busy(tab):
    reset(tab)
    tab.grid.param.update({"C": "logspace(-3, 3, 100)", "degree": "range(1, 101)"})
    job = await tab.run()
    assert job.status == "failed" and tab.error == ""
    assert tab.question.startswith("20,000 candidates × 2 folds = 40,000 fits, roughly")
    assert tab.question.endswith("Run it anyway?")
    assert tab.results is None or tab.results.done == 0  # no fit was sent
    not_busy(tab)


async def test_a_good_search_runs_afterwards(tab):
    reset(tab)
    tab.grid.param.update({"C": "1, 10", "kernel": ["rbf"]})
    job = await tab.run()
    assert job.status == "done", job.error
    assert tab.results.done == tab.results.total == 4 and tab.error == ""
