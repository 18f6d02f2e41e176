"""The Explore tab: every row of the dataset as a datashader map, re-aggregated on the cluster.

Each change (columns, aggregation, a pan or a zoom) runs one job of kind
``explore`` through the session's ``JobRunner``: the runner cancels the job still
running, so the newest view supersedes older ones and the cluster drops their
work. ``compute.explore`` builds datashader's aggregation graph and the job
computes it on the cluster (see that module for why); HoloViews and Bokeh draw
and colour the aggregate that comes back. The plot area shows Panel's loading
overlay while a job runs.
"""
from __future__ import annotations

import asyncio
import logging
import math

import holoviews as hv
import panel as pn
import param
from distributed import futures_of
from panel.viewable import Viewer

from .. import config
from ..compute.explore import (AGGREGATIONS, ExploreSpec, Raster, fits_in_memory, lost_keys,
                               numeric_columns, prepare, render)
from ..datasets import DatasetError
from ..datasets.errors import explain_read
from ..jobs import Job, JobRunner
from . import explore_link as link
from . import url
from .dataset_picker import DatasetPicker
from .notify import notify, plain
from .session import in_server_session

log = logging.getLogger(__name__)

KIND = "explore"
# Axes tried first, in order, when a dataset is chosen: the taxi pickup map, then flights.
PRESETS = (("pickup_longitude", "pickup_latitude"), ("distance", "air_time"),
           ("dep_delay", "arr_delay"))
BACKGROUND = "#f4f3ee"  # a plain background: map tiles would need the internet


def _close(a: tuple | None, b: tuple | None) -> bool:
    """Whether two ranges are the same view (Bokeh echoes ranges back as floats)."""
    if a is None or b is None:
        return a is b
    span = abs(b[1] - b[0]) or 1.0
    return all(math.isclose(p, q, rel_tol=0, abs_tol=span * 1e-9) for p, q in zip(a, b))


class ExploreView(Viewer):
    """A rasterized map of two numeric columns, coloured by count or a mean, and a histogram."""

    datasets = param.ClassSelector(class_=DatasetPicker, doc="Where the dataset comes from.")
    jobs = param.ClassSelector(class_=JobRunner, doc="The session's jobs.")

    x = param.Selector(default=None, objects=[], check_on_set=False, doc="Column on the x axis.")
    y = param.Selector(default=None, objects=[], check_on_set=False, doc="Column on the y axis.")
    agg = param.Selector(default="count", objects=list(AGGREGATIONS), doc=(
        "Colour each pixel by the rows in it (count) or by the mean of the colour column."))
    value = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False, doc=(
        "Column whose mean colours each pixel when the aggregation is mean."))
    hist = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False, doc=(
        "Column whose histogram, over the rows in view, is drawn beside the map."))
    x_range = param.Tuple(default=None, allow_None=True, length=2, doc=(
        "The x range in view; None: the column's whole extent. Panning and zooming set it."))
    y_range = param.Tuple(default=None, allow_None=True, length=2, doc=(
        "The y range in view; None: the column's whole extent."))
    selection = param.Dict(default=None, allow_None=True, doc=(
        "{column: (low, high)} of the box selected on the map"))
    width = param.Integer(default=None, allow_None=True, bounds=(50, 4000), doc=(
        "Pixels across the map, aggregated one per pixel (default: explore.width)."))
    height = param.Integer(default=None, allow_None=True, bounds=(50, 4000), doc=(
        "Pixels down the map (default: explore.height)."))
    cmap = param.String(default="fire", doc="Colour map name (colorcet or Bokeh).")

    shown = param.Boolean(default=True, doc=(
        "Whether the view is on screen. Maps are computed only while it is: an unopened "
        "tab costs the cluster nothing."))
    loading = param.Boolean(default=False, doc="A re-aggregation is running.")
    error = param.String(default="", doc="Why the plot cannot be drawn, for the user.")
    status = param.String(default="", doc="What the plot shows: rows drawn, rows in view.")
    raster = param.ClassSelector(class_=Raster, default=None, allow_None=True, doc=(
        "The aggregate on screen (its ranges are the view it was computed for)."))

    def __init__(self, **params):
        params.setdefault("width", config.get("explore.width", 600))
        params.setdefault("height", config.get("explore.height", 450))
        super().__init__(**params)
        self._ddf = self._source = None
        self._prepared = None  # the spec's columns (persisted when they fit) and extents
        self._refreshes = 0  # a newer refresh owns the view; older outcomes are dropped
        self._scheduled = False
        self._loads = 0
        self._plotted: ExploreSpec | None = None
        self._image_pipe = self._hist_pipe = None
        self._plot = pn.pane.HoloViews(None, css_classes=["explore-map"], margin=5)
        self._histogram = pn.pane.HoloViews(None, css_classes=["explore-histogram"], margin=5)
        self._alert = pn.pane.Alert("", alert_type="danger", visible=False,
                                    css_classes=["explore-error"], sizing_mode="stretch_width")
        self._clear = pn.widgets.Button(label="Clear selection", disabled=True,
                                        css_classes=["explore-clear"])
        self._clear.on_click(lambda event: self.param.update(selection=None))
        self._pickup = pn.widgets.Button(label="Pickup map", visible=False,
                                         css_classes=["explore-pickup"])
        self._pickup.on_click(lambda event: self.param.update(
            x="pickup_longitude", y="pickup_latitude"))
        self._link_defaults: dict = {}  # the columns a fresh page picks for this dataset
        self._link = url.QueryLink(link.KEYS, "explore", lambda: link.state(self))
        self.param.watch(self._link.write, list(link.KEYS))
        self._link.apply(self, ["agg"])  # the columns wait for the schema (load)
        watcher = self.datasets.param.watch(self._on_summary, "summary")
        if in_server_session():
            # Persisted columns live while this view holds them: let go with the session.
            pn.state.on_session_destroyed(lambda ctx: self._release(watcher))
        if self.datasets.summary is not None:
            self._on_summary()

    def _release(self, watcher) -> None:
        self.datasets.param.unwatch(watcher)
        # Explicitly, not by garbage collection: the closed session's document and
        # its jobs may still reference the frame for a long while.
        if self._prepared is not None and self._prepared.persisted:
            for future in futures_of(self._prepared.frame):
                future.release()
        self._ddf = self._prepared = None

    def _keep(self, prepared) -> None:
        """Hold ``prepared`` for the next zoom; the one it replaces goes with its last
        reference."""
        self._prepared = prepared

    # -- what to draw ------------------------------------------------------

    def spec(self) -> ExploreSpec | None:
        if self.x is None or self.y is None:
            return None
        return ExploreSpec(self.x, self.y, self.agg, self.value, self.hist)

    def _on_summary(self, *events) -> None:
        if self.datasets.summary is not None:  # None while the picker reads the new choice
            pn.state.execute(self.load)

    async def load(self) -> None:
        """Take the picker's dataset: its columns, sensible axes, then a first plot."""
        self._loads += 1
        token, dataset = self._loads, self.datasets.dataset
        if self._ddf is not None and dataset.cache_token() == self._source:
            return  # the same data summarised again: the map and its kept columns stand
        self.loading = True
        try:
            ddf = await asyncio.to_thread(dataset.to_dask)
        except DatasetError as e:
            if token == self._loads:
                self._fail(str(e))
            return
        if token != self._loads:
            return  # the choice (or its options) changed meanwhile: the newer load goes on
        self._keep(None)
        self._ddf, self._source = ddf, dataset.cache_token()
        columns = list(ddf.columns)
        numeric = numeric_columns(ddf.dtypes)
        for name in ("x", "y", "value", "hist"):
            self.param[name].objects = columns
        if len(numeric) < 2:
            self._fail(f"{dataset.name} has fewer than two numeric columns, so there is no "
                       "map to draw; pick another dataset.")
            return
        x, y = next(((a, b) for a, b in PRESETS if {a, b} <= set(numeric)), numeric[:2])
        target = dataset.target if dataset.target in numeric else None
        value = target or next((c for c in numeric if c not in (x, y)), None)
        self._pickup.visible = {"pickup_longitude", "pickup_latitude"} <= set(numeric)
        self._link_defaults = dict(x=x, y=y, value=value, hist=target or x)
        # The widgets follow these params; the refresh they schedule reads them all at once.
        self.param.update(**self._link_defaults, x_range=None, y_range=None, selection=None)
        if self._link.pending:  # a shared link's columns can be checked now
            refused: set[str] = set()
            self._link.apply(self, list(link.KEYS), lambda name, value: link.checked(
                name, value, numeric, refused, self.x))
        self._schedule()

    @param.depends("x", "y", watch=True)
    def _on_axes(self) -> None:
        # New axes: the old view and selection mean nothing on them.
        self.param.update(x_range=None, y_range=None, selection=None)

    @param.depends("x", "y", "agg", "value", "hist", "x_range", "y_range", "width", "height",
                   "shown", watch=True)
    def _schedule(self) -> None:
        # Changes that arrive together (a pan sends x and y) make one refresh, which
        # reads the state when it starts.
        if self._ddf is not None and self.shown and not self._scheduled:
            self._scheduled = True
            pn.state.execute(self.refresh)

    # -- running -----------------------------------------------------------

    def _persist(self, columns: int) -> bool:
        summary = self.datasets.summary
        return summary is not None and fits_in_memory(
            summary.rows_estimate, columns, self.jobs.manager.memory_limit,
            config.get("explore.persist-fraction", 0.25))

    async def refresh(self) -> None:
        """Aggregate the current view on the cluster; only the newest call shows its result."""
        self._scheduled = False
        self._refreshes += 1
        token, spec, ddf, dataset = self._refreshes, self.spec(), self._ddf, self.datasets.dataset
        if spec is None or ddf is None:
            self.loading = False
            return
        x_range, y_range = self.x_range, self.y_range
        width, height = self.width, self.height
        bins = config.get("explore.histogram-bins", 40)
        prepared = self._prepared
        persist = self._persist(len(spec.columns))

        async def work(ctx):
            nonlocal prepared, persist
            for attempt in (1, 2):
                if prepared is None or prepared.spec != spec:
                    prepared = await prepare(ctx, ddf, spec, persist=persist)
                    if ddf is self._ddf:
                        self._keep(prepared)  # kept (on the cluster) for the next zoom
                try:
                    return await render(ctx, prepared, x_range, y_range, width, height, bins)
                except Exception as e:
                    if attempt == 2 or not prepared.persisted or not lost_keys(e):
                        raise
                    # The kept columns were released under us: read from the source.
                    log.warning("Explore: kept columns lost (%s); reading the source", e)
                    prepared, persist = None, False

        self.param.update(loading=True, error="")  # the sentence was the last attempt's
        job = await self.jobs.run(
            Job(kind=KIND, title=f"datashader {spec.agg} of {spec.y} by {spec.x}",
                dataset=self.datasets.dataset_name,
                settings={"x": spec.x, "y": spec.y, "agg": spec.agg, "value": spec.value,
                          "hist": spec.hist, "x_range": x_range, "y_range": y_range}),
            work, remember=False, explain=lambda e: str(explain_read(e, dataset) or e))
        if token != self._refreshes:
            return  # a newer view superseded this one: drop its outcome
        self.loading = False
        if job.status == "done":
            self._show(spec, prepared, job.result)
        elif job.status == "failed":
            self._fail(job.error)

    def _fail(self, message: str) -> None:
        self.param.update(error=message, loading=False, raster=None)
        notify(message)

    # -- drawing -----------------------------------------------------------

    def _show(self, spec: ExploreSpec, prepared, raster: Raster) -> None:
        if spec != self._plotted:
            self._build(spec, raster)  # drawn first with this raster: the axes fit its extent
        else:
            self._image_pipe.send(raster)
            self._hist_pipe.send(raster)
        in_view = f" · {raster.rows_in_view:,} in view with a {spec.hist}" if spec.hist else ""
        cached = "kept on the cluster" if prepared.persisted else "read from the source"
        self.param.update(raster=raster, error="", status=(
            f"{prepared.rows:,} rows drawn ({cached}){in_view}"))

    def _build(self, spec: ExploreSpec, raster: Raster) -> None:
        """New plots for new columns: streams for the map's ranges and box selection."""
        self._plotted = spec
        self._image_pipe = hv.streams.Pipe(data=raster)
        self._hist_pipe = hv.streams.Pipe(data=raster)
        image = hv.DynamicMap(lambda data: self._image(spec, data), streams=[self._image_pipe])
        ranges = hv.streams.RangeXY(source=image)
        ranges.add_subscriber(lambda x_range=None, y_range=None: self._on_range(
            spec, x_range, y_range))
        bounds = hv.streams.BoundsXY(source=image, bounds=None)
        bounds.add_subscriber(lambda bounds: self._on_box(spec, bounds))
        self._bounds_stream = bounds
        box = hv.DynamicMap(lambda bounds: self._box(bounds), streams=[bounds])
        self._plot.object = image * box
        self._histogram.object = hv.DynamicMap(lambda data: self._hist(spec, data),
                                               streams=[self._hist_pipe])

    def _image(self, spec: ExploreSpec, raster: Raster | None):
        if spec.agg == "count":
            vdim = hv.Dimension("count", label="rows", nodata=0)  # as hv's rasterize does
        else:
            vdim = hv.Dimension("mean", label=f"mean {spec.value}")
        kdims = [spec.x, spec.y]
        if raster is None:
            element = hv.Image([], kdims=kdims, vdims=[vdim])
        else:
            element = hv.Image(raster.image.rename(vdim.name), kdims=kdims, vdims=[vdim])
        return element.opts(
            cmap=self.cmap, cnorm="eq_hist" if spec.agg == "count" else "linear",
            colorbar=True, bgcolor=BACKGROUND, frame_width=self.width,
            frame_height=self.height, tools=["hover", "box_select"],
            active_tools=["pan", "wheel_zoom"], clipping_colors={"NaN": (0, 0, 0, 0)})

    def _hist(self, spec: ExploreSpec, raster: Raster | None):
        if raster is None or raster.counts is None:
            return hv.Histogram([], kdims=[spec.hist or "value"], vdims=["rows"])
        return hv.Histogram((raster.edges, raster.counts), kdims=[spec.hist],
                            vdims=["rows"]).opts(
            frame_width=max(200, self.width // 2), frame_height=self.height, framewise=True,
            color="#d6604d", bgcolor=BACKGROUND, tools=["hover"],
            title=f"{spec.hist}: rows in view")

    @staticmethod
    def _box(bounds):
        if bounds is None:
            return hv.Bounds((math.nan,) * 4)
        return hv.Bounds(bounds).opts(color="#1f77b4", line_width=2)

    def _on_range(self, spec: ExploreSpec, x_range, y_range) -> None:
        if spec != self._plotted:
            return  # a replaced plot reporting its last view
        raster = self.raster
        shown = (raster.x_range, raster.y_range) if raster is not None else (None, None)
        x_range = tuple(map(float, x_range)) if x_range else None
        y_range = tuple(map(float, y_range)) if y_range else None
        if not link.usable(x_range) or not link.usable(y_range) or (
                _close(x_range, shown[0]) and _close(y_range, shown[1])):
            return  # no view yet, or Bokeh echoing the one it was sent: nothing to aggregate
        self.param.update(x_range=x_range, y_range=y_range)

    def _on_box(self, spec: ExploreSpec, bounds) -> None:
        if bounds is None:
            return
        x0, y0, x1, y1 = map(float, bounds)
        self.selection = {spec.x: (min(x0, x1), max(x0, x1)), spec.y: (min(y0, y1), max(y0, y1))}

    @param.depends("selection", watch=True)
    def _on_selection(self) -> None:
        self._clear.disabled = self.selection is None
        stream = getattr(self, "_bounds_stream", None)
        if self.selection is None and stream is not None and stream.bounds is not None:
            stream.event(bounds=None)

    # -- layout ------------------------------------------------------------

    @param.depends("loading", watch=True)
    def _on_loading(self) -> None:
        self._plot.loading = self.loading
        self._histogram.loading = self.loading

    @param.depends("error", watch=True)
    def _on_error(self) -> None:
        self._alert.object = plain(self.error)
        self._alert.visible = bool(self.error)
        # A plot that cannot be drawn is not shown half-drawn: the sentence replaces it.
        self._plot.visible = self._histogram.visible = not self.error

    def _controls(self):
        return pn.Param(self, parameters=["x", "y", "agg", "value", "hist"], widgets={
            "x": {"type": pn.widgets.Select, "name": "x axis"},
            "y": {"type": pn.widgets.Select, "name": "y axis"},
            "agg": {"type": pn.widgets.RadioButtonGroup, "name": "colour by"},
            "value": {"type": pn.widgets.Select, "name": "mean of"},
            "hist": {"type": pn.widgets.Select, "name": "histogram of"},
        }, show_name=False, default_layout=pn.Row, sizing_mode="stretch_width")

    @param.depends("status", "selection")
    def _summary(self):
        selected = ""
        if self.selection:
            selected = " · selected " + ", ".join(
                f"{c} {lo:.4g}–{hi:.4g}" for c, (lo, hi) in self.selection.items())
        return pn.pane.Markdown(plain(f"{self.status}{selected}"), css_classes=["explore-status"],
                                margin=(0, 10))

    def __panel__(self):
        return pn.Column(
            self._controls(),
            pn.Row(self._pickup, self._clear),
            self._summary,
            self._alert,
            pn.Row(self._plot, self._histogram),
            sizing_mode="stretch_width",
        )
