"""The Explore tab without a browser, against a real cluster: first map, zooms that supersede
each other, bad columns with a sentence, the taxi pickup map and the box selection."""
from __future__ import annotations

import asyncio

import dask
import holoviews as hv
import numpy as np
import pytest
from dask.utils import key_split
from distributed import Client, get_task_stream

from dashboard.kept_memory import KEPT
from dashboard.store import SessionStore
from dashboard.views.explore import ExploreView
from dashboard.views.notify import plain
from tests.views.page import buttons, layout, shown


async def until(predicate, what: str, timeout: float = 120) -> None:
    """Poll ``predicate`` on the loop (jobs run on it) until true, failing after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


class Outcomes:
    """Counts the view's finished attempts: each ends with ``loading`` turning off."""

    def __init__(self, view: ExploreView):
        self.view, self.count = view, 0
        view.param.watch(self._bump, "loading")

    def _bump(self, event) -> None:
        self.count += not event.new

    async def next(self, seen: int | None = None) -> None:
        """Wait for an attempt to finish after ``seen`` (default: now) finished ones."""
        seen = self.count if seen is None else seen
        await until(lambda: self.count > seen and not self.view.loading,
                    "the explore view to settle")


@pytest.fixture
async def view(manager, catalog):
    view = ExploreView(store=SessionStore(manager=manager))
    view.outcomes = Outcomes(view)
    await until(lambda: view.raster is not None and not view.loading, "the first map")
    assert view.error == ""
    return view


async def test_flights_map_is_aggregated_on_the_cluster(view, manager, local_cluster):
    assert (view.x, view.y) == ("distance", "air_time")
    assert view.value == view.hist == "arr_delay"  # the dataset's target
    flights = view.store.dataset.to_dask()[["distance", "air_time"]].compute().dropna()
    assert int(view.raster.image.sum()) == len(flights)
    assert f"{len(flights):,} rows drawn" in view.status
    page = layout(view)
    assert shown(page, "explore-map").object is not None
    assert shown(page, "explore-error") is None

    async with Client(local_cluster.scheduler_address, asynchronous=True) as observer:
        async with get_task_stream(observer) as stream:
            view.x_range = (500.0, 1500.0)
            await view.outcomes.next()
    assert view.raster.x_range == (500.0, 1500.0)
    # datashader's final reduction step ran on the cluster for this zoom.
    assert "aggregate-aggregate" in {key_split(t["key"]) for t in stream.data}
    assert int(view.raster.image.sum()) == int(
        ((flights.distance >= 500) & (flights.distance <= 1500)).sum())

    view.param.update(agg="mean", value="dep_delay")
    await view.outcomes.next()
    assert view.error == ""
    assert np.isfinite(view.raster.image.values).any()


async def test_sessions_together_keep_at_most_their_share_of_cluster_memory(view, manager):
    assert "rows drawn (kept on the cluster)" in view.status
    need = view.store.summary.rows_estimate * len(view.spec().columns) * 8
    # Room for what is kept now (this session's, and any other test's still alive) and
    # half of one more such frame.
    share = (KEPT.total() + need / 2) / manager.memory_limit
    with dask.config.set({"workbench.explore.persist-total-fraction": share}):
        other = ExploreView(store=SessionStore(manager=manager))
        other.outcomes = Outcomes(other)
        await until(lambda: other.raster is not None and not other.loading, "the second map")
        assert other.error == ""
        assert ("rows drawn (read from the source: the cluster memory for kept columns is "
                "in use by other sessions)") in other.status
        # The first session's zooms still use its kept columns.
        view.x_range = (500.0, 1500.0)
        await view.outcomes.next()
        assert "(kept on the cluster)" in view.status

        # The first session ends: the second keeps its next columns.
        await view.store.close()
        other.hist = "dep_delay"
        await other.outcomes.next()
        assert other.error == ""
        assert "rows drawn (kept on the cluster)" in other.status


async def test_a_newer_range_supersedes_an_older_one(view):
    runs, run, gate = [], view.store.jobs.run, asyncio.Event()

    async def recording(job, work, **kwargs):
        runs.append(job)
        if len(runs) == 1:  # the first zoom is still running when the second arrives
            async def held(ctx):
                await gate.wait()
                return await work(ctx)
            return await run(job, held, **kwargs)
        return await run(job, work, **kwargs)

    view.store.jobs.run = recording
    shown = []
    view.param.watch(lambda event: shown.append(event.new), "raster")
    view.x_range = (100.0, 3000.0)
    await until(lambda: view.store.jobs.running("explore") is not None, "the first zoom to run")
    assert view.loading
    view.x_range = (200.0, 900.0)
    await view.outcomes.next()
    gate.set()
    await until(lambda: all(job.finished for job in runs), "both jobs to end")
    assert [job.settings["x_range"] for job in runs] == [(100.0, 3000.0), (200.0, 900.0)]
    assert runs[0].status == "cancelled" and runs[0].error == "Replaced by a newer run."
    assert runs[1].status == "done"
    # Only the newest view reached the screen: the stale one was dropped, not queued.
    assert [r.x_range for r in shown] == [(200.0, 900.0)]
    assert view.loading is False


async def test_bad_columns_get_a_sentence_instead_of_a_plot(view, catalog, tmp_path):
    view.x = "carrier"
    await view.outcomes.next()
    assert "'carrier' is not numeric" in view.error and "x axis" in view.error
    page = layout(view)  # the sentence replaces the plots
    assert shown(page, "explore-error").object == plain(view.error)
    assert shown(page, "explore-map") is None and shown(page, "explore-histogram") is None

    view.x, view.y = "distance", "year"  # every flight is from 2013
    await view.outcomes.next()
    assert "'year' has the same value (2013) in every row" in view.error

    (tmp_path / "gaps.csv").write_text("a,b,empty\n1,2,\n3,4,\n5,7,\n")
    catalog.write_text(f"datasets:\n  gaps:\n    path: {tmp_path / 'gaps.csv'}\n"
                       "    read_options: {dtype: {empty: float64}}\n")
    seen = view.outcomes.count
    view.store.reload(select="gaps")
    await view.outcomes.next(seen)
    assert "empty" in view.columns
    assert view.error == "" and (view.x, view.y) == ("a", "b")
    view.y = "empty"
    await view.outcomes.next()
    assert "'empty' has no values (it is missing in every row)" in view.error

    view.y = "b"  # a good choice again: the plot comes back
    await view.outcomes.next()
    assert view.error == "" and int(view.raster.image.sum()) == 3
    assert shown(page, "explore-map") is not None and shown(page, "explore-error") is None


async def test_taxi_pickup_map_and_box_selection(view):
    said = []
    view.param.watch(lambda event: said.append(event.new), "activity")
    view.store.dataset_name = "nyc-taxi"
    # At once, before the picker has read anything: the map is on its way.
    assert view.loading and view.activity == "Reading nyc-taxi…"
    view.store.dataset.rows = 1_000_000
    await until(lambda: "1,000,000 rows drawn" in view.status and view.raster is not None
                and view.x == "pickup_longitude" and not view.loading, "the taxi pickup map")
    # One partition is counted exactly; more would be estimated ("about").
    assert "Drawing the map of 1,000,000 rows…" in said
    assert view.activity == "" and "1,000,000 rows drawn" in view.status
    assert (view.x, view.y) == ("pickup_longitude", "pickup_latitude")
    assert view.pickup_offered
    assert int(view.raster.image.sum()) == 1_000_000
    page = layout(view)
    assert buttons(page) == {"Pickup map": False, "Clear selection": True}

    # A box drawn on the map: what Bokeh's box-select tool sends to the map's stream.
    box, = [stream for element in shown(page, "explore-map").object.callback.inputs
            for stream in element.streams if isinstance(stream, hv.streams.BoundsXY)]
    box.event(bounds=(-74.0, 40.7, -73.95, 40.78))
    assert view.selection == {"pickup_longitude": (-74.0, -73.95),
                              "pickup_latitude": (40.7, 40.78)}
    assert buttons(page)["Clear selection"] is False
    view.param.trigger("clear_selection_clicked")  # as the button does
    assert view.selection is None and buttons(page)["Clear selection"] is True
    assert box.bounds is None  # the box is gone from the map too

    # Other axes, then the Pickup map button brings the pickup map back.
    view.param.update(x="dropoff_longitude", y="dropoff_latitude")
    view.param.trigger("pickup_clicked")
    assert (view.x, view.y) == ("pickup_longitude", "pickup_latitude")


async def test_a_dataset_that_cannot_be_read_does_not_leave_the_map_loading(view, catalog,
                                                                           tmp_path):
    catalog.write_text(f"datasets:\n  ghost:\n    path: {tmp_path / 'ghost.csv'}\n")
    view.store.reload(select="ghost")
    assert view.loading and view.activity == "Reading ghost…"
    await until(lambda: not view.store.loading, "the picker to give up")
    assert view.store.error  # the picker says why
    assert not view.loading and view.activity == ""


async def test_an_unopened_explore_tab_computes_nothing_until_it_is_shown(manager, catalog):
    from dashboard.views import Workbench
    workbench = Workbench(manager=manager)
    view = workbench.explore
    # The page opens on the Data tab: the axes are picked, no map is computed.
    await until(lambda: view.x is not None, "the explore view to read the schema")
    await asyncio.sleep(1)
    assert view.shown is False and view.raster is None
    assert not any(job.kind == "explore" for job in workbench.store.jobs.history)

    workbench.tabs.active = len(workbench.tabs) - 1  # the user opens Explore
    await until(lambda: view.raster is not None and not view.loading, "the first map")
    assert view.error == ""
