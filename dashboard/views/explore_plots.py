"""The Explore tab's HoloViews elements: the map of an aggregate, the histogram of the
rows in view and the selected box. HoloViews and Bokeh colour what they are given;
the map shows the aggregate spread (``compute.explore.spread``) so sparse rows show."""
from __future__ import annotations

import math

import holoviews as hv
from bokeh.colors import RGB
from holoviews.plotting.util import process_cmap

from ..compute.explore import ExploreSpec, Raster, spread

BACKGROUND = "#f4f3ee"  # a plain background: map tiles would need the internet
CONTRAST = 0.3  # least luminance below the background's of a colour on the map


def palette(cmap: str) -> list[str]:
    """``cmap``'s colours, less the pale ends that would vanish into the background.

    Zoomed in, every pixel may hold one row, and then all take the map's top
    colour: fire's is white, which is as good as invisible on the background.
    """
    colours = process_cmap(cmap, ncolors=256)
    limit = RGB.from_hex_string(BACKGROUND).luminance - CONTRAST
    seen = [RGB.from_hex_string(c).luminance <= limit for c in colours]
    if True not in seen:
        return colours
    first, last = seen.index(True), len(seen) - seen[::-1].index(True)
    return colours[first:last]


def map_image(spec: ExploreSpec, raster: Raster | None, cmap: str, height: int) -> hv.Image:
    """The aggregate as an image that fills the width it is given, ``height`` px high."""
    if spec.agg == "count":
        vdim = hv.Dimension("count", label="rows", nodata=0)  # as hv's rasterize does
    else:
        vdim = hv.Dimension("mean", label=f"mean {spec.value}")
    kdims = [spec.x, spec.y]
    if raster is None:
        element = hv.Image([], kdims=kdims, vdims=[vdim])
    else:
        # Spread for the eye only: the raster keeps the exact aggregate.
        element = hv.Image(spread(raster.image).rename(vdim.name), kdims=kdims, vdims=[vdim])
    return element.opts(
        cmap=palette(cmap), cnorm="eq_hist" if spec.agg == "count" else "linear",
        # Colour bar and tools above and below, not beside: the map gets the width.
        colorbar=True, colorbar_position="bottom", toolbar="above",
        bgcolor=BACKGROUND, responsive=True, min_width=280, frame_height=height,
        tools=["hover", "box_select"], active_tools=["pan", "wheel_zoom"],
        clipping_colors={"NaN": (0, 0, 0, 0)})


def histogram(spec: ExploreSpec, raster: Raster | None, height: int) -> hv.Histogram:
    """Rows in view by ``spec.hist``, as wide as it is given."""
    if raster is None or raster.counts is None:
        return hv.Histogram([], kdims=[spec.hist or "value"], vdims=["rows"])
    return hv.Histogram((raster.edges, raster.counts), kdims=[spec.hist], vdims=["rows"]).opts(
        responsive=True, min_width=220, height=height, toolbar="above", framewise=True,
        color="#d6604d", bgcolor=BACKGROUND, tools=["hover"],
        title=f"{spec.hist}: rows in view")


def selection_box(bounds) -> hv.Bounds:
    """The box selected on the map; nothing drawn for ``None``."""
    if bounds is None:
        return hv.Bounds((math.nan,) * 4)
    return hv.Bounds(bounds).opts(color="#1f77b4", line_width=2)
