"""Figure 5, out-of-core: the Group-by tab over synthetic taxi whose in-memory size is
``ooc_factor`` × the cluster's total worker memory limit, on a cluster of its own.

Checks that it completes, that its answer equals a reference computed from the
generator itself (per-partition sums and counts, one future per partition, combined
here; also the time anchor), and that no worker was killed (same worker processes
before and after). Peak worker memory and spilled bytes are sampled from the workers
while the Run goes on.
"""
from __future__ import annotations

import asyncio
import math
import os
import sys

import cloudpickle
import pandas as pd

from dashboard.cluster import ClusterManager
from dashboard.cluster.factory import make_cluster
from dashboard.datasets import TaxiDataset
from dashboard.datasets.taxi import taxi_partition
from dashboard.store import SessionStore
from dashboard.views.groupby import GroupByView
from tests.views.test_dataset_picker import settled
from tests.views.test_groupby import use

from .harness import Bench, Row, fmt

KEY, VALUE = "passenger_count", "tip_amount"
WORKERS = 2
SAMPLE_EVERY = 0.25  # seconds between memory samples


def partial_sums(index: int, rows: int, seed: int) -> pd.DataFrame:
    """Sum and count of the value per key in one generated partition (the reference)."""
    return taxi_partition(index, rows, seed).groupby(KEY)[VALUE].agg(["sum", "count"])


def worker_memory(dask_worker) -> dict:
    """Process memory, spilled bytes (now and written so far) and status of one worker."""
    data = dask_worker.data
    spilled = getattr(data, "spilled_total", None)
    written = sum(v for k, v in dask_worker.digests_total.items()
                  if "disk-write" in k and k[-1] == "bytes")
    return {"rss": dask_worker.monitor.get_process_memory(),
            "spilled": spilled.disk if spilled is not None else 0,
            "written": written, "paused": dask_worker.status.name == "paused"}


cloudpickle.register_pickle_by_value(sys.modules[__name__])


async def sample_memory(client, peaks: dict) -> None:
    while True:
        for address, m in (await client.run(worker_memory)).items():
            p = peaks.setdefault(address, {"rss": 0, "spilled": 0, "written": 0, "paused": False})
            p.update(rss=max(p["rss"], m["rss"]), spilled=max(p["spilled"], m["spilled"]),
                     written=max(p["written"], m["written"]), paused=p["paused"] or m["paused"])
        await asyncio.sleep(SAMPLE_EVERY)


async def run(bench: Bench) -> list[Row]:
    size = bench.size
    limit, part = size.ooc_memory_limit, size.ooc_partition_rows
    sample = taxi_partition(0, 10_000, 0)
    row_bytes = sample.memory_usage(deep=True).sum() / len(sample)
    parts = math.ceil(size.ooc_factor * WORKERS * limit / row_bytes / part)
    rows = max(parts * part, 1_000_000)  # the dataset's smallest size
    cluster = await asyncio.to_thread(make_cluster, n_workers=WORKERS, threads_per_worker=1,
                                      memory_limit=limit)
    manager = ClusterManager(address=cluster.scheduler_address)
    try:
        await manager.start()
        client = manager.client
        before = await client.run(os.getpid)
        picker = SessionStore(manager=manager)
        await settled(picker)
        view = GroupByView(store=picker)
        use(view, TaxiDataset(name="bench-taxi-ooc", rows=rows, partition_rows=part))
        await settled(picker)
        view.param.update(group_by=[KEY], value_columns=[VALUE], agg="mean")
        in_memory = picker.summary.bytes_estimate
        peaks: dict = {}
        sampler = asyncio.ensure_future(sample_memory(client, peaks))
        try:
            job = await view.run(use_cache=False)
        finally:
            sampler.cancel()
        after = await client.run(os.getpid)
        sizes = [part] * (rows // part) + ([rows % part] if rows % part else [])
        loop = asyncio.get_running_loop()
        start = loop.time()
        futures = client.map(partial_sums, range(len(sizes)), sizes, [0] * len(sizes),
                             pure=False)
        sums = pd.concat(await client.gather(futures)).groupby(level=0).sum()
        anchor = loop.time() - start
    finally:
        await manager.close()
        await asyncio.to_thread(cluster.close)
    expected = (sums["sum"] / sums["count"]).rename(VALUE)
    done = job.status == "done"
    correct = done and job.stats["rows"] == rows and bool(
        ((job.result[VALUE].sort_index() - expected.sort_index()).abs() < 1e-9).all())
    survived = before == after
    peak = max(p["rss"] for p in peaks.values()) if peaks else float("nan")
    spilled = sum(p["written"] for p in peaks.values())
    paused = any(p["paused"] for p in peaks.values())
    cluster_text = (f"{WORKERS} workers × {fmt(limit, 'bytes')}; {rows:,} rows ≈ "
                    f"{fmt(in_memory, 'bytes')} in memory = {in_memory / (WORKERS * limit):.1f}× "
                    "the total limit")
    return [
        Row("5", f"Out-of-core: Group-by Run (`{job.title}`) over synthetic taxi, {cluster_text}",
            job.elapsed, "s", "per-partition sums as futures", anchor,
            goal="completes, correct, no worker killed", met=done and correct and survived,
            note=f"n=1 (one pass over {len(sizes)} generated partitions); completed: "
                 f"{'yes' if done else 'NO: ' + job.error}; correct: {'yes' if correct else 'NO'}"
                 f"; workers killed: {'none' if survived else 'YES'}; paused for memory: "
                 f"{'yes' if paused else 'no'}",
            cause=job.error or "see the note"),
        Row("5b", "Out-of-core: peak worker process memory during that Run", peak, "bytes",
            "the worker memory limit", limit,
            note=f"sampled every {SAMPLE_EVERY} s on each worker"),
        Row("5c", "Out-of-core: bytes spilled to disk during that Run", spilled, "bytes",
            note="a group-by with few groups is a tree reduction: each partition is reduced "
                 "as soon as it is made, so nothing needs to wait in memory"),
    ]
