"""The group-by chart and progress say what they show, as a reader sees them (issue 17)."""
from __future__ import annotations

import holoviews as hv
import pandas as pd
from bokeh.models import FactorRange

from dashboard.compute.groupby import GroupBySpec
from dashboard.views.groupby_results import chart


def drawn(element):
    """The Bokeh figure a page shows for ``element``."""
    return hv.render(element, backend="bokeh")


def test_one_value_has_plain_keys_and_says_what_its_bars_measure():
    result = pd.DataFrame({"dep_delay": [15.1, 12.1, 10.3]},
                          index=pd.Index(["EWR", "JFK", "LGA"], name="origin"))
    figure = drawn(chart(result, GroupBySpec(keys=("origin",), values=("dep_delay",)), 50))
    assert figure.title.text == "mean of dep_delay by origin"
    assert figure.yaxis[0].axis_label == "mean of dep_delay"
    assert figure.xaxis[0].axis_label == "origin"
    assert isinstance(figure.x_range, FactorRange)
    assert list(figure.x_range.factors) == ["EWR", "JFK", "LGA"]  # not ("dep_delay", "EWR")


def test_several_values_are_grouped_bars_under_their_aggregation():
    result = pd.DataFrame({"dep_delay": [15.1, 12.1], "arr_delay": [9.1, 5.6]},
                          index=pd.Index(["EWR", "JFK"], name="origin"))
    spec = GroupBySpec(keys=("origin",), values=("dep_delay", "arr_delay"), agg="max")
    figure = drawn(chart(result, spec, 50))
    assert figure.yaxis[0].axis_label == "max of dep_delay, arr_delay"
    # Each key's bars side by side, one per value column.
    assert sorted(tuple(map(str, f)) for f in figure.x_range.factors) == [
        ("EWR", "arr_delay"), ("EWR", "dep_delay"), ("JFK", "arr_delay"), ("JFK", "dep_delay")]


def test_progress_says_time_so_far_and_a_rough_time_left():
    import datetime as dt

    from dashboard.jobs import Job
    from dashboard.views.groupby_results import progress_text
    started = dt.datetime(2026, 1, 1, 12, 0, 0)
    job = Job(kind="groupby", status="running", done=0, total=0, started=started)
    assert progress_text(job) == "submitting…"
    job.param.update(done=10, total=40)
    assert progress_text(job, now=started + dt.timedelta(seconds=5)) == (
        "10 / 40 tasks · 5.0 s · about 15 s left")
