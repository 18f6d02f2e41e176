"""The Explore tab's jobs: measure (and keep) the plotted columns, draw a view of them."""
from __future__ import annotations

import asyncio

import dask.dataframe as dd

from ..compute.explore import (ExploreSpec, Prepared, Raster, frame_for, measurements,
                               prepared_from, raster, raster_graph)
from ..jobs import JobContext


async def prepare(ctx: JobContext, ddf: dd.DataFrame, spec: ExploreSpec,
                  persist: bool = False) -> Prepared:
    """Check ``spec``, project (and optionally persist) its columns, measure their extents.

    Persisted columns stay on the cluster as long as the returned ``Prepared`` is
    referenced: re-aggregations then read memory, not the source.
    """
    spec.check(ddf.dtypes)
    frame = frame_for(ddf, spec.columns)
    if persist:
        frame = await ctx.persist(frame)
    return prepared_from(spec, frame, await ctx.compute(*measurements(frame, spec)), persist)


async def render(ctx: JobContext, prepared: Prepared, x_range: tuple[float, float] | None,
                 y_range: tuple[float, float] | None, width: int, height: int,
                 bins: int = 50) -> Raster:
    """Aggregate every row of ``prepared`` into ``width`` x ``height`` pixels over the ranges
    (``None``: the columns' full extent); the graph is built off the event loop."""
    x_range, y_range, lazies, edges = await asyncio.to_thread(
        raster_graph, prepared, x_range, y_range, width, height, bins)
    return raster(x_range, y_range, await ctx.compute(*lazies), edges)
