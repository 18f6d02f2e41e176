"""The Explore tab: every row of the dataset as a datashader map, re-aggregated on the cluster.

Each change (columns, aggregation, a pan or a zoom) runs one job of kind
``explore`` through the session's ``JobRunner``: the runner cancels the job still
running, so the newest view supersedes older ones and the cluster drops their
work. ``compute.explore`` builds datashader's aggregation graph and the job
computes it on the cluster (see that module for why); HoloViews and Bokeh draw
and colour the aggregate that comes back (``explore_plots``), spread so that
sparse points stay visible. The map fills the width it is given and is
aggregated at that width, one bin per screen pixel. From a dataset choice to the
drawn map the plots show Panel's loading overlay and the status line says what is
being done ("Drawing the map of 10,000,000 rows…"): a big dataset takes seconds.
"""
from __future__ import annotations

import asyncio
import logging
import math
import operator

import holoviews as hv
import panel as pn
import param
from distributed import futures_of
from panel.viewable import Viewer

from .. import config
from ..compute.explore import (AGGREGATIONS, ExploreSpec, Raster, fits_in_memory, lost_keys,
                               numeric_columns)
from ..datasets import DatasetError
from ..datasets.errors import explain_read
from ..jobs import Job
from ..kept_memory import KEPT
from ..store import SessionStore
from ..work.explore import prepare, render
from . import explore_link as link
from . import explore_plots as plots
from . import url
from .notify import notify, plain

log = logging.getLogger(__name__)

KIND = "explore"
# Axes tried first, in order, when a dataset is chosen: the taxi pickup map, then flights.
PRESETS = (("pickup_longitude", "pickup_latitude"), ("distance", "air_time"),
           ("dep_delay", "arr_delay"))
# Flex item sizes (CSS flex: grow shrink basis): side by side when the work area has
# room, wrapped one under the other when it has not (the panes beside it, a narrow screen).
FIELD_FLEX = {"flex": "1 1 150px"}
MAP_FLEX = {"flex": "3 1 420px"}
HISTOGRAM_FLEX = {"flex": "2 1 280px"}


def _close(a: tuple | None, b: tuple | None) -> bool:
    """Whether two ranges are the same view (Bokeh echoes ranges back as floats)."""
    if a is None or b is None:
        return a is b
    span = abs(b[1] - b[0]) or 1.0
    return all(math.isclose(p, q, rel_tol=0, abs_tol=span * 1e-9) for p, q in zip(a, b))


class ExploreView(Viewer):
    """A rasterized map of two numeric columns, coloured by count or a mean, and a histogram."""

    store = param.ClassSelector(class_=SessionStore, doc=(
        "The session's store: its dataset, summary and jobs."))

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
        "Pixels across the map, aggregated one per pixel: the drawn map's width once it "
        "is on screen (before that, explore.width)."))
    height = param.Integer(default=None, allow_None=True, bounds=(50, 4000), doc=(
        "Pixels down the map (default: explore.height)."))
    cmap = param.String(default="fire", doc="Colour map name (colorcet or Bokeh).")

    shown = param.Boolean(default=True, doc=(
        "Whether the view is on screen. Maps are computed only while it is: an unopened "
        "tab costs the cluster nothing."))
    loading = param.Boolean(default=False, doc=(
        "A map is on its way: a new dataset being read, or an aggregation running."))
    error = param.String(default="", doc="Why the plot cannot be drawn, for the user.")
    status = param.String(default="", doc="What the plot shows: rows drawn, rows in view.")
    activity = param.String(default="", doc=(
        "What is being done while loading, for the user: 'Drawing the map of 10,000,000 rows…'."))
    raster = param.ClassSelector(class_=Raster, default=None, allow_None=True, doc=(
        "The aggregate on screen (its ranges are the view it was computed for)."))
    columns = param.List(default=[], doc="Columns of the dataset shown (none until read).")
    pickup_offered = param.Boolean(default=False, doc=(
        "The dataset has the taxi's pickup coordinates: the Pickup map button is offered."))

    clear_selection_clicked = param.Event(doc="Clear selection: forget the map's box.")
    pickup_clicked = param.Event(doc="Pickup map: the taxi's pickup longitude and latitude.")

    def __init__(self, **params):
        params.setdefault("width", config.get("explore.width", 600))
        params.setdefault("height", config.get("explore.height", 450))
        super().__init__(**params)
        self._ddf = self._source = None
        self._prepared = None  # the spec's columns (persisted when they fit) and extents
        self._not_kept = ""  # why the columns are read from the source, when they would fit
        self._refreshes = 0  # a newer refresh owns the view; older outcomes are dropped
        self._scheduled = False
        self._loads = 0
        self._plotted: ExploreSpec | None = None
        self._image_pipe = self._hist_pipe = None
        # Not linked: Panel would tie the map's axis to the histogram's when both show
        # one column (arr_delay), and the map's view would take the histogram's range.
        # A plot that cannot be drawn is not shown half-drawn: the error replaces it.
        # (A bound function, not ``.rx``: with param 2.4 an ``.rx`` reference misses its
        # update when another reference of the same pane changes in the same update.)
        drawable = pn.bind(operator.not_, self.param.error)
        self._plot = pn.pane.HoloViews(None, css_classes=["explore-map"], margin=5,
                                       sizing_mode="stretch_width", min_width=300,
                                       linked_axes=False, loading=self.param.loading,
                                       visible=drawable)
        self._histogram = pn.pane.HoloViews(None, css_classes=["explore-histogram"], margin=5,
                                            sizing_mode="stretch_width", min_width=240,
                                            linked_axes=False, loading=self.param.loading,
                                            visible=drawable)
        self._link_defaults: dict = {}  # the columns a fresh page picks for this dataset
        self._link = url.QueryLink(link.KEYS, "explore",
                                   lambda: link.state(self, self._link_defaults))
        self.param.watch(self._link.write, list(link.KEYS))
        self._link.apply(self, ["agg"])  # the columns wait for the schema (load)
        watcher = self.store.param.watch(self._on_summary, ["summary", "loading"])
        # Kept columns live while this view holds them: let go when the session ends.
        self.store.param.watch(lambda event: event.new and self._release(watcher), "closed")
        if self.store.summary is not None:
            self._on_summary()

    def _release(self, watcher) -> None:
        self.store.param.unwatch(watcher)
        KEPT.release(self)
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
        if prepared is None or not prepared.persisted:
            KEPT.release(self)

    # -- what to draw ------------------------------------------------------

    def spec(self) -> ExploreSpec | None:
        if self.x is None or self.y is None:
            return None
        return ExploreSpec(self.x, self.y, self.agg, self.value, self.hist)

    def _on_summary(self, *events) -> None:
        store = self.store
        if store.summary is not None:
            pn.state.execute(self.load)
        elif store.loading:  # a new choice: say so at once, the map is seconds away
            self.param.update(loading=True, activity=f"Reading {store.dataset_name}…")
        else:  # the store could not read it, and the picker says why
            self.param.update(loading=False, activity="")

    async def load(self) -> None:
        """Take the store's dataset: its columns, sensible axes, then a first plot."""
        self._loads += 1
        token, dataset = self._loads, self.store.dataset
        if self._ddf is not None and dataset.cache_token() == self._source:
            # The same data summarised again: the map and its kept columns stand.
            self.param.update(loading=False, activity="")
            return
        self.param.update(loading=True, activity=f"Reading the columns of {dataset.name}…")
        try:
            ddf = await asyncio.to_thread(dataset.frame)
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
        self.columns = columns
        if len(numeric) < 2:
            self._fail(f"{dataset.name} has fewer than two numeric columns, so there is no "
                       "map to draw; pick another dataset.")
            return
        x, y = next(((a, b) for a, b in PRESETS if {a, b} <= set(numeric)), numeric[:2])
        target = dataset.target if dataset.target in numeric else None
        value = target or next((c for c in numeric if c not in (x, y)), None)
        self.pickup_offered = {"pickup_longitude", "pickup_latitude"} <= set(numeric)
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
        """Whether to keep the columns in cluster memory; ``_not_kept`` says why not when
        this frame would fit but other sessions' kept columns take the room."""
        self._not_kept = ""
        summary = self.store.summary
        rows = summary.rows_estimate if summary is not None else None
        memory = self.store.manager.memory_limit
        if rows is None or not fits_in_memory(rows, columns, memory,
                                              config.get("explore.persist-fraction", 0.25)):
            return False  # unknown size: not kept (a cap fails closed)
        if not KEPT.hold(self, rows * columns * 8, memory,
                         config.get("explore.persist-total-fraction", 0.5)):
            self._not_kept = "the cluster memory for kept columns is in use by other sessions"
            return False
        return True

    async def refresh(self) -> None:
        """Aggregate the current view on the cluster; only the newest call shows its result."""
        self._scheduled = False
        self._refreshes += 1
        token, spec, ddf, dataset = self._refreshes, self.spec(), self._ddf, self.store.dataset
        if spec is None or ddf is None:
            self.param.update(loading=False, activity="")
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

        # The sentence was the last attempt's.
        self.param.update(loading=True, error="", activity=self._drawing(prepared, spec))
        job = await self.store.jobs.run(
            Job(kind=KIND, title=f"datashader {spec.agg} of {spec.y} by {spec.x}",
                dataset=self.store.dataset_name,
                settings={"x": spec.x, "y": spec.y, "agg": spec.agg, "value": spec.value,
                          "hist": spec.hist, "x_range": x_range, "y_range": y_range}),
            work, remember=False, explain=lambda e: str(explain_read(e, dataset) or e))
        if token != self._refreshes:
            return  # a newer view superseded this one: drop its outcome
        if job.status == "done":
            self._show(spec, prepared, job.result)
        elif job.status == "failed":
            self._fail(job.error)
        else:
            self.param.update(loading=False, activity="")

    def _drawing(self, prepared, spec: ExploreSpec) -> str:
        """What a refresh tells the user while it runs: how many rows it draws."""
        if prepared is not None and prepared.spec == spec:
            return f"Drawing the map of {prepared.rows:,} rows…"
        summary = self.store.summary
        if summary is None:
            return "Drawing the map…"
        about = "" if summary.exact else "about "
        return f"Drawing the map of {about}{summary.rows_estimate:,} rows…"

    def _fail(self, message: str) -> None:
        self.param.update(error=message, loading=False, activity="", raster=None)
        notify(message)

    # -- drawing -----------------------------------------------------------

    def _show(self, spec: ExploreSpec, prepared, raster: Raster) -> None:
        # Before drawing: a new plot reports its ranges as it is made, and they must
        # match this raster's, or the first map would be taken for a zoom and redone.
        self.raster = raster
        if spec != self._plotted:
            self._build(spec, raster)  # drawn first with this raster: the axes fit its extent
        else:
            self._image_pipe.send(raster)
            self._hist_pipe.send(raster)
        in_view = f" · {raster.rows_in_view:,} in view with a {spec.hist}" if spec.hist else ""
        why = f": {self._not_kept}" if self._not_kept else ""
        cached = "kept on the cluster" if prepared.persisted else f"read from the source{why}"
        # The status changes with the picture, not before it.
        self.param.update(error="", loading=False, activity="", status=(
            f"{prepared.rows:,} rows drawn ({cached}){in_view}"))

    def _build(self, spec: ExploreSpec, raster: Raster) -> None:
        """New plots for new columns: streams for the map's ranges and box selection."""
        self._plotted = spec
        self._image_pipe = hv.streams.Pipe(data=raster)
        self._hist_pipe = hv.streams.Pipe(data=raster)
        image = hv.DynamicMap(lambda data: plots.map_image(spec, data, self.cmap, self.height),
                              streams=[self._image_pipe])
        ranges = hv.streams.RangeXY(source=image)
        ranges.add_subscriber(lambda x_range=None, y_range=None: self._on_range(
            spec, x_range, y_range))
        # The map stretches to its area; its frame's width is the aggregate's.
        size = hv.streams.PlotSize(source=image)
        size.add_subscriber(lambda width=None, height=None, scale=None: self._on_size(
            spec, width))
        bounds = hv.streams.BoundsXY(source=image, bounds=None)
        bounds.add_subscriber(lambda bounds: self._on_box(spec, bounds))
        self._bounds_stream = bounds
        box = hv.DynamicMap(plots.selection_box, streams=[bounds])
        self._plot.object = image * box
        height = max(250, self.height * 2 // 3)
        self._histogram.object = hv.DynamicMap(lambda data: plots.histogram(spec, data, height),
                                               streams=[self._hist_pipe])

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

    def _on_size(self, spec: ExploreSpec, width) -> None:
        # A couple of pixels either way is Bokeh's layout rounding, not a new size.
        if spec == self._plotted and width and width >= 50 and abs(width - self.width) > 2:
            self.width = int(width)

    def _on_box(self, spec: ExploreSpec, bounds) -> None:
        if bounds is None:
            return
        x0, y0, x1, y1 = map(float, bounds)
        self.selection = {spec.x: (min(x0, x1), max(x0, x1)), spec.y: (min(y0, y1), max(y0, y1))}

    @param.depends("clear_selection_clicked", watch=True)
    def _on_clear_selection_clicked(self) -> None:
        self.selection = None

    @param.depends("pickup_clicked", watch=True)
    def _on_pickup_clicked(self) -> None:
        self.param.update(x="pickup_longitude", y="pickup_latitude")

    @param.depends("selection", watch=True)
    def _on_selection(self) -> None:
        stream = getattr(self, "_bounds_stream", None)
        if self.selection is None and stream is not None and stream.bounds is not None:
            stream.event(bounds=None)

    # -- layout ------------------------------------------------------------

    def _field(self, name: str, label: str, widget=pn.widgets.Select, **options):
        return widget.from_param(self.param[name], name=label, sizing_mode="stretch_width",
                                 min_width=140, **options)

    @param.depends("status", "selection", "activity", "loading")
    def _summary(self):
        if self.loading and self.activity:
            return pn.pane.Markdown(plain(self.activity), margin=(0, 10),
                                    css_classes=["explore-status", "explore-activity"])
        selected = ""
        if self.selection:
            selected = " · selected " + ", ".join(
                f"{c} {lo:.4g}–{hi:.4g}" for c, (lo, hi) in self.selection.items())
        return pn.pane.Markdown(plain(f"{self.status}{selected}"), css_classes=["explore-status"],
                                margin=(0, 10))

    def __panel__(self):
        # The selected aggregation is a filled button, the other an outline.
        colour_by = self._field("agg", "colour by", pn.widgets.RadioButtonGroup,
                                color="primary", variant="outline",
                                css_classes=["explore-agg"], styles=FIELD_FLEX)
        fields = [self._field(name, label, styles=FIELD_FLEX) for name, label in (
            ("x", "x axis"), ("y", "y axis"), ("value", "mean of"))]
        pickup = pn.widgets.Button.from_param(self.param.pickup_clicked, label="Pickup map",
                                              visible=self.param.pickup_offered,
                                              css_classes=["explore-pickup"])
        clear = pn.widgets.Button.from_param(self.param.clear_selection_clicked,
                                             label="Clear selection",
                                             disabled=self.param.selection.rx.is_(None),
                                             css_classes=["explore-clear"])
        map_column = pn.Column(
            pn.FlexBox(*fields[:2], colour_by, fields[2], align_items="flex-end"),
            pn.Row(pickup, clear),
            self._plot,
            sizing_mode="stretch_width", min_width=300, styles=MAP_FLEX)
        histogram_column = pn.Column(
            self._field("hist", "histogram of", css_classes=["explore-hist-picker"]),
            self._histogram,
            sizing_mode="stretch_width", min_width=240, styles=HISTOGRAM_FLEX,
            css_classes=["explore-histogram-column"])
        alert = pn.pane.Alert(self.param.error.rx.pipe(plain), alert_type="danger",
                              visible=self.param.error.rx.bool(), css_classes=["explore-error"],
                              sizing_mode="stretch_width")
        return pn.Column(
            self._summary,
            alert,
            pn.FlexBox(map_column, histogram_column),
            sizing_mode="stretch_width", css_classes=["explore"],
        )
