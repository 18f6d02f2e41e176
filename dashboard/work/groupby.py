"""The Group-by tab's jobs: the query, and the first partition its estimates read."""
from __future__ import annotations

import time

import pandas as pd

from ..compute.groupby import GroupBySpec, finish, pair, query
from ..jobs import JobContext


async def run_query(ctx: JobContext, ddf, spec: GroupBySpec,
                    split_out: int | bool | None = None, files: list[str] | None = None,
                    source: str = "") -> pd.DataFrame:
    """The Run job: the query on the cluster, then sorted and cut here (one row a group).

    ``files``: the dataset's Parquet files, read straight into Arrow (``source`` names
    their version; see ``compute.groupby.query``).
    """
    # The client's own copy of the scheduler's identity (refreshed every few seconds):
    # no call to the scheduler.
    threads = ctx.client.scheduler_info().get("total_threads") or 1
    result, rows = pair(await ctx.compute(*query(ddf, spec, split_out, files=files,
                                                  source=source, threads=threads)))
    ctx.job.stats = {"rows": int(rows), "groups": len(result), "tasks": ctx.job.total}
    return finish(result, spec)


async def timed(lazy, ctx: JobContext):
    """A small lazy result and the seconds the cluster took for it."""
    started = time.perf_counter()
    (value,) = await ctx.compute(lazy)
    return value, time.perf_counter() - started
