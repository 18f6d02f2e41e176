"""All-rows views: datashader aggregates of a Dask DataFrame, as lazy graphs for the cluster.

Design. The app's client is asynchronous, lives on Panel's event loop and is not
the default, so HoloViews' ``rasterize`` on a Dask DataFrame would aggregate with
dask's local threaded scheduler inside the web server, blocking every session
while it runs. The options were:

- A synchronous client in a thread, made the default with
  ``dask.config.set(scheduler=client)``: that setting is process-wide for the whole
  aggregation (seconds), so other sessions' computes would be redirected, and two
  threads entering and leaving it out of order leave it set for good; a newer zoom
  cannot cancel the older one's tasks either (their keys are not ours).
- A task on a worker that runs datashader there (``dask.compute`` inside a task
  uses the worker's client): public API, but an orphaned inner computation keeps
  running after its outer task is cancelled.
- Here: datashader builds its own aggregation graph (``Canvas.points`` on the Dask
  DataFrame: its chunk/combine/finalize reductions and its xarray result) and, at
  the moment it would compute, hands that graph to the scheduler dask tells it to
  use. ``aggregate`` supplies a scheduler that keeps the graph instead of running
  it, and returns it as a ``Delayed``. The tab computes that through the job
  path (``work.explore``) on the asynchronous client: the work runs on the
  cluster and shows in the task stream, the loop only awaits, and a newer zoom
  stops the older job, whose futures are released, so the scheduler drops its
  unfinished tasks too. The
  scheduler override lasts only while the graph is built (milliseconds, no
  computing) and anything another thread computes meanwhile runs as it would have.

HoloViews and Bokeh then do the colour mapping on the computed aggregate
(``hv.Image``, ``nodata=0`` for counts as HoloViews' own ``rasterize`` sets it),
after ``spread`` (datashader's ``dynspread``) has grown sparse points to a few
pixels; nothing here bins, spreads or colours by hand. No Panel import: benchmarks
and notebooks call these functions directly, e.g.
``await client.compute(aggregate(frame, "dep_delay", "arr_delay", ...))``.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dask
import dask.array as da
import dask.dataframe as dd
import dask.threaded
import datashader as ds
import datashader.transfer_functions as tf
import numpy as np
import pandas as pd
from dask.delayed import Delayed
from pandas.api import types as ptypes

if TYPE_CHECKING:
    import xarray as xr

AGGREGATIONS = ("count", "mean")


class ExploreError(ValueError):
    """The plot cannot be drawn as asked; the message is a sentence meant for the user."""


def is_plottable(dtype) -> bool:
    """Numbers datashader can place on an axis (booleans and categories are not)."""
    return ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype)


def numeric_columns(dtypes: pd.Series) -> list[str]:
    """Names of the columns that can be an axis, a colour or a histogram, in order."""
    return [name for name, dtype in dtypes.items() if is_plottable(dtype)]


def check_columns(dtypes: pd.Series, roles: dict[str, str | None]) -> None:
    """Refuse a missing or non-numeric column, naming its role: ``{"x axis": "dep_delay"}``."""
    for role, column in roles.items():
        if column is None:
            raise ExploreError(f"Choose a column for the {role}.")
        if column not in dtypes.index:
            raise ExploreError(f"There is no column '{column}' in this dataset to use for the "
                               f"{role}.")
        if not is_plottable(dtypes[column]):
            raise ExploreError(
                f"'{column}' is not numeric (its type is {dtypes[column]}), so it cannot be the "
                f"{role}; choose a numeric column such as "
                f"{', '.join(numeric_columns(dtypes)[:3]) or 'a measurement'}.")


def frame_for(ddf: dd.DataFrame, columns: list[str]) -> dd.DataFrame:
    """The columns a view reads, projected and optimised: the frame to aggregate or persist.

    Optimising before persisting matters: a projected root ``read_parquet`` that is
    persisted keeps its pre-fusion partition count and later computes fail with lost
    dependencies (dask/dask#12488). dask fuses a reader's partitions only under a
    parent, and a projection in the files' own column order leaves the reader bare
    (``dep_delay, arr_delay`` of the flights did), so an identity step is that parent.
    Only numeric columns reach datashader, so it never computes categories of its own
    while its graph is captured.
    """
    frame = ddf[list(dict.fromkeys(columns))]
    return frame.map_partitions(_unchanged, enforce_metadata=False).optimize()


def _unchanged(part: pd.DataFrame) -> pd.DataFrame:
    return part


def lost_keys(exc: BaseException) -> bool:
    """Whether a compute failed because data it depended on had left the cluster."""
    text = str(exc)
    return "Missing dependency" in text or "lost dependencies" in text


def column_stats(ddf: dd.DataFrame, columns: list[str]):
    """Lazy (non-missing counts, minima, maxima) of ``columns``: one pass on the cluster."""
    frame = ddf[list(dict.fromkeys(columns))]
    return frame.count(), frame.min(), frame.max()


@dataclass(frozen=True)
class Extent:
    """What a column spans: rows with a value, the lowest and the highest."""

    count: int
    low: float
    high: float


def extents(count: pd.Series, low: pd.Series, high: pd.Series) -> dict[str, Extent]:
    """Computed ``column_stats`` as one ``Extent`` per column."""
    return {name: Extent(int(count[name]), float(low[name]), float(high[name]))
            for name in count.index}


def check_extent(column: str, extent: Extent, role: str, axis: bool = True) -> tuple[float, float]:
    """``(low, high)`` of a column that can be drawn, else a sentence saying why not."""
    if extent.count == 0:
        raise ExploreError(f"'{column}' has no values (it is missing in every row), so there is "
                           f"nothing to draw for the {role}.")
    if not (math.isfinite(extent.low) and math.isfinite(extent.high)):
        raise ExploreError(f"'{column}' holds infinite values, so the {role} has no finite "
                           "range; choose another column or filter them out first.")
    if axis and extent.low == extent.high:
        raise ExploreError(f"'{column}' has the same value ({extent.low:g}) in every row: a "
                           f"constant column has no range to spread along the {role}.")
    return extent.low, extent.high


def reduction(agg: str, value: str | None = None):
    """The datashader reduction for ``count`` or ``mean`` of ``value``."""
    if agg == "count":
        return ds.count()
    if agg == "mean":
        if value is None:
            raise ExploreError("Choose the column whose mean colours the plot.")
        return ds.mean(value)
    raise ExploreError(f"Unknown aggregation '{agg}'; choose one of {', '.join(AGGREGATIONS)}.")


class _GraphKept(Exception):
    """Carries the graph datashader asked its scheduler to run."""


class _KeepGraph:
    """A dask scheduler that keeps the first graph this thread asks it to run.

    Any other compute (another thread, or after the first) runs on the threaded
    scheduler, which is what this app's server-side computes use anyway.
    """

    def __init__(self):
        self._thread = threading.get_ident()
        self._armed = True

    def __call__(self, graph, keys, **kwargs):
        if self._armed and threading.get_ident() == self._thread:
            self._armed = False
            raise _GraphKept(graph, keys)
        return dask.threaded.get(graph, keys, **kwargs)

    def disarm(self) -> None:
        self._armed = False


def aggregate(ddf: dd.DataFrame, x: str, y: str, agg: str = "count", value: str | None = None,
              *, x_range: tuple[float, float], y_range: tuple[float, float],
              width: int, height: int) -> Delayed:
    """Datashader's ``Canvas.points`` aggregate of every row, as a lazy ``Delayed``.

    Its result is an ``xarray.DataArray`` of ``height`` x ``width`` pixels over the
    given ranges: counts of rows per pixel (``agg="count"``) or the mean of
    ``value`` per pixel (NaN where no row falls). Nothing is read until it is
    computed, e.g. ``await client.compute(...)`` or ``dask.compute(...)``.
    """
    check_columns(ddf.dtypes, {"x axis": x, "y axis": y,
                               **({"colour": value} if agg == "mean" else {})})
    for role, (low, high) in (("x", x_range), ("y", y_range)):
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ExploreError(f"The {role} range {low:g} to {high:g} is empty; zoom out or "
                               "reset the view.")
    canvas = ds.Canvas(plot_width=int(width), plot_height=int(height),
                       x_range=tuple(map(float, x_range)), y_range=tuple(map(float, y_range)))
    how = reduction(agg, value)
    frame = frame_for(ddf, [x, y] + ([value] if agg == "mean" else []))
    keeper = _KeepGraph()
    try:
        with dask.config.set(scheduler=keeper):
            canvas.points(frame, x, y, agg=how)
    except _GraphKept as kept:
        graph, keys = kept.args
    else:  # pragma: no cover - a datashader that no longer asks dask to compute
        raise RuntimeError("datashader computed the aggregate instead of handing over its graph")
    finally:
        keeper.disarm()
    (key,) = keys
    return Delayed(key, graph.__dask_graph__() if hasattr(graph, "__dask_graph__") else graph)


def spread(image: xr.DataArray, max_px: int = 3, threshold: float = 0.5) -> xr.DataArray:
    """``image`` with isolated pixels grown up to ``max_px`` on each side, for the eye.

    Zoomed in, a row is one pixel on a wide map: too small to see. datashader's
    ``dynspread`` grows pixels until ``threshold`` of them touch a neighbour, so
    sparse views spread and dense ones stay as they are. Where spread pixels meet,
    the larger count (or mean) shows: a mean is never summed into a false one.
    """
    return tf.dynspread(image, threshold=threshold, max_px=max_px, how="max")


def within(ddf: dd.DataFrame, bounds: dict[str, tuple[float, float]]) -> dd.DataFrame:
    """Rows whose columns lie inside ``bounds`` (``{column: (low, high)}``, both included)."""
    for column, (low, high) in bounds.items():
        ddf = ddf[(ddf[column] >= low) & (ddf[column] <= high)]
    return ddf


def histogram(ddf: dd.DataFrame, column: str, value_range: tuple[float, float], bins: int,
              bounds: dict[str, tuple[float, float]] | None = None):
    """Lazy ``(counts, edges)`` of ``column`` over the rows inside ``bounds`` (dask's histogram)."""
    values = within(ddf, bounds or {})[column].dropna().to_dask_array()
    low, high = value_range
    if low == high:  # a constant column: one bin around its value, as numpy would draw it
        low, high = low - 0.5, high + 0.5
    return da.histogram(values, bins=int(bins), range=(low, high))



# --- what a view runs through the job runner ---------------------------------------


@dataclass(frozen=True)
class ExploreSpec:
    """What to draw: ``x`` against ``y``, coloured by ``agg`` (of ``value``), and a histogram."""

    x: str
    y: str
    agg: str = "count"
    value: str | None = None
    hist: str | None = None

    @property
    def columns(self) -> list[str]:
        """Every column the plot and the histogram read, once each: the projection."""
        wanted = [self.x, self.y, self.value if self.agg == "mean" else None, self.hist]
        return list(dict.fromkeys(c for c in wanted if c is not None))

    def check(self, dtypes: pd.Series) -> None:
        roles = {"x axis": self.x, "y axis": self.y}
        if self.agg == "mean":
            roles["colour (mean of)"] = self.value
        if self.hist is not None:
            roles["histogram"] = self.hist
        reduction(self.agg, self.value)
        check_columns(dtypes, roles)
        if self.x == self.y:
            raise ExploreError(f"The x and y axes are both '{self.x}': a column against itself "
                               "only draws a diagonal line; choose two different columns.")


@dataclass
class Prepared:
    """A spec's columns ready to aggregate again and again, and how far they reach.

    ``rows`` counts the rows with both an x and a y value: the points drawn.
    """

    spec: ExploreSpec
    frame: dd.DataFrame
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    hist_range: tuple[float, float] | None
    rows: int
    persisted: bool


@dataclass
class Raster:
    """One re-aggregation: the datashader aggregate and the histogram of the rows in view."""

    image: xr.DataArray
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    counts: np.ndarray | None = None
    edges: np.ndarray | None = None
    rows_in_view: int = 0


def fits_in_memory(rows: int, columns: int, memory: int, fraction: float) -> bool:
    """Whether ``rows`` x ``columns`` numbers take at most ``fraction`` of ``memory`` bytes."""
    return memory > 0 and fraction > 0 and rows * columns * 8 <= memory * fraction


def measurements(frame: dd.DataFrame, spec: ExploreSpec) -> tuple:
    """Lazy, in one pass: every column's count, min and max, and the drawable rows."""
    drawable = frame[[spec.x, spec.y]].dropna().shape[0]
    return (*column_stats(frame, spec.columns), drawable)


def prepared_from(spec: ExploreSpec, frame: dd.DataFrame, measured: list,
                  persisted: bool = False) -> Prepared:
    """The checked plot from its computed ``measurements``: a column that cannot be
    drawn raises ``ExploreError`` with a sentence."""
    *stats, rows = measured
    found = extents(*stats)
    x_range = check_extent(spec.x, found[spec.x], "x axis")
    y_range = check_extent(spec.y, found[spec.y], "y axis")
    if spec.agg == "mean":
        check_extent(spec.value, found[spec.value], "colour", axis=False)
    hist_range = None
    if spec.hist is not None:
        hist_range = check_extent(spec.hist, found[spec.hist], "histogram", axis=False)
    return Prepared(spec, frame, x_range, y_range, hist_range, int(rows), persisted)


def raster_graph(prepared: Prepared, x_range: tuple[float, float] | None,
                 y_range: tuple[float, float] | None, width: int, height: int,
                 bins: int = 50):
    """Lazy: the aggregate of every row into ``width`` x ``height`` pixels over the ranges
    (``None``: the columns' full extent), and the histogram of the rows in view.

    Returns ``(x_range, y_range, lazies, edges)``; ``raster`` makes the computed
    ``lazies`` a ``Raster``. Building may read file metadata (dask's optimiser):
    call it off the event loop.
    """
    spec = prepared.spec
    x_range = tuple(x_range or prepared.x_range)
    y_range = tuple(y_range or prepared.y_range)
    image = aggregate(prepared.frame, spec.x, spec.y, spec.agg, spec.value,
                      x_range=x_range, y_range=y_range, width=width, height=height)
    if spec.hist is None:
        return x_range, y_range, (image,), None
    counts, edges = histogram(prepared.frame, spec.hist, prepared.hist_range, bins,
                              {spec.x: x_range, spec.y: y_range})
    return x_range, y_range, (image, counts), edges  # the edges are known: numpy already


def raster(x_range, y_range, computed: list, edges) -> Raster:
    """The computed ``raster_graph``."""
    if edges is None:
        return Raster(computed[0], x_range, y_range)
    image, counts = computed
    return Raster(image, x_range, y_range, counts, np.asarray(edges), int(counts.sum()))
