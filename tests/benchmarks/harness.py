"""What every figure shares: sizes, alternating timed runs, the cluster, the table's rows."""
from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
import os
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from dask.utils import format_bytes, key_split

from dashboard.cluster import ClusterManager
from dashboard.cluster.factory import make_cluster
from dashboard.store import SessionStore
from dashboard.views.groupby import GroupByView
from tests.views.test_dataset_picker import settled


@dataclass(frozen=True)
class Size:
    """How big each figure's work is; ``default`` fits ~25 minutes on 2 cores."""

    name: str
    runs: int  # timed rounds per figure (the table shows their median)
    engine_rows: int  # figure 2: rows of the synthetic taxi Parquet files
    engine_partition_rows: int
    search_samples: int  # figure 4: rows of the seed's make_classification (seed: 10,000)
    large_grid_samples: int  # figure 4: rows for the 36-candidate efficiency run
    search_rounds: int  # figure 4: rounds of the small grid (the 36-candidate grid: one fewer)
    serial_runs: int  # figure 4: scikit-learn serial is slow; fewer rounds of it
    ooc_memory_limit: int  # figure 5: bytes per worker (2 workers)
    ooc_factor: float  # figure 5: data in memory / total worker memory limit
    ooc_partition_rows: int
    sessions: tuple[int, int]  # figure 6: concurrent browser sessions in the two phases
    load_seconds: float  # figure 6: length of each phase (and of the idle anchor, up to 5 s)
    page_loads: int  # figure 6: cold page loads timed
    explore_rows: tuple[int, int]  # figure 7
    scaling_rows: tuple[int, ...] = (20_000_000, 200_000_000)  # figure 9
    scaling_workers: tuple[int, ...] = (1, 2, 4)  # figure 9: one-thread workers


SIZES = {s.name: s for s in (
    # tiny checks that everything runs: too small for out-of-core (the workers' own
    # ~350 MiB need a limit above that), so its figure 5 data fits in memory.
    Size("tiny", runs=2, engine_rows=1_000_000, engine_partition_rows=250_000,
         search_samples=600, large_grid_samples=300, search_rounds=1, serial_runs=1,
         ooc_memory_limit=768 * 2**20, ooc_factor=0.25, ooc_partition_rows=250_000,
         sessions=(1, 3), load_seconds=4, page_loads=2, explore_rows=(1_000_000, 2_000_000),
         scaling_rows=(1_000_000,), scaling_workers=(1, 2)),
    Size("default", runs=5, engine_rows=20_000_000, engine_partition_rows=1_000_000,
         search_samples=10_000, large_grid_samples=5_000, search_rounds=3, serial_runs=1,
         ooc_memory_limit=2**30, ooc_factor=4, ooc_partition_rows=500_000,
         sessions=(1, 10), load_seconds=20, page_loads=5,
         explore_rows=(10_000_000, 100_000_000)),
    Size("large", runs=7, engine_rows=100_000_000, engine_partition_rows=2_000_000,
         search_samples=10_000, large_grid_samples=10_000, search_rounds=5, serial_runs=3,
         ooc_memory_limit=2 * 2**30, ooc_factor=4, ooc_partition_rows=1_000_000,
         sessions=(1, 20), load_seconds=40, page_loads=10,
         explore_rows=(10_000_000, 1_000_000_000)),
)}


@dataclass
class Row:
    """One line of the table: a median, its anchor from the same run, and the goal."""

    figure: str
    name: str
    value: float
    unit: str
    anchor_name: str = ""
    anchor: float | None = None
    goal: str = ""
    met: bool | None = None  # None: no goal, the row is context
    note: str = ""
    cause: str = ""  # what the profile showed and what would close it (shown when missed)

    def __post_init__(self):
        if self.met is not None:
            self.met = bool(self.met)  # numpy's False is not False

    @property
    def ratio(self) -> float | None:
        if self.anchor is None or not self.anchor:
            return None
        return self.value / self.anchor

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**MISSED**", None: "no goal (context)"}[self.met]


def failed_row(figure: str, name: str, error: BaseException) -> Row:
    """A figure that could not be measured: the table says so instead of a number."""
    return Row(figure, name, float("nan"), "", goal="", met=False,
               note=f"did not run: {type(error).__name__}: {error}".splitlines()[0])


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], unit: str = "s") -> str:
    return f"n={len(values)}, {fmt(min(values), unit)}–{fmt(max(values), unit)}"


def fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "%":
        return f"{value:.0%}"
    if unit == "bytes":
        return format_bytes(value)
    return f"{value:g} {unit}".strip()


async def alternate(runs: int, measures: dict[str, Callable[[], Awaitable]],
                    warmup: bool = True) -> dict[str, list[float]]:
    """Wall seconds of each measure, ``runs`` rounds with the measures in turn.

    Alternating keeps a noisy neighbour from landing on one side only; the
    warm-up round (imports, JIT, file cache, the estimate job's cache) is not kept.
    """
    times: dict[str, list[float]] = {name: [] for name in measures}
    for round_ in range(runs + warmup):
        for name, measure in measures.items():
            start = time.perf_counter()
            await measure()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def in_thread(function, *args, **kwargs) -> Callable[[], Awaitable]:
    """A measure that runs blocking ``function`` off the loop (the client keeps talking)."""
    return lambda: asyncio.to_thread(function, *args, **kwargs)


@dataclass
class Bench:
    """The run's shared parts: the size, the app's own embedded cluster and its manager."""

    size: Size
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))
    cluster: object = None
    manager: ClusterManager | None = None

    async def start(self) -> Bench:
        # The app's embedded cluster exactly as ``panel serve`` makes it (config defaults).
        self.cluster = await asyncio.to_thread(make_cluster)
        self.manager = ClusterManager(address=self.cluster.scheduler_address)
        await self.manager.start()
        return self

    async def close(self) -> None:
        await self.manager.close()
        await asyncio.to_thread(self.cluster.close)

    @property
    def threads(self) -> int:
        return self.manager.n_threads

    async def groupby_tab(self) -> GroupByView:
        """What one browser session gets: its own store, job runner and Group-by tab."""
        store = SessionStore(manager=self.manager)
        await settled(store)
        return GroupByView(store=store)


async def run_button(view: GroupByView):
    """The Run button for real work: ``use_cache=False`` is what "Compare with pandas"
    uses to time a run (the estimate's one-partition sample stays cached, as for a user)."""
    job = await view.run(use_cache=False)
    if job is None or job.status != "done":
        raise RuntimeError(f"the Group-by tab did not finish: {job and job.error or view.error}")
    return job


def breakdown(stream: list[dict], wall: float, threads: int) -> str:
    """Where the workers' time went in one run: busy share, and seconds per task group."""
    seconds: dict[str, float] = defaultdict(float)
    for task in stream:
        for span in task["startstops"]:
            what = key_split(task["key"]) if span["action"] == "compute" else span["action"]
            seconds[what] += span["stop"] - span["start"]
    busy = sum(seconds.values())
    parts = ", ".join(f"{name} {s:.2f} s" for name, s in
                      sorted(seconds.items(), key=lambda kv: -kv[1])[:5])
    return (f"{len(stream)} tasks; worker threads busy {busy / (wall * threads):.0%} of "
            f"{wall:.2f} s × {threads} threads; by task group: {parts}")


def machine(size: Size, cluster_text: str) -> list[str]:
    """The machine and software the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    packages = ["dask", "distributed", "panel", "bokeh", "pandas", "pyarrow", "numpy",
                "duckdb", "polars", "scikit-learn", "datashader", "playwright"]
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (missing)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- **When**: {dt.datetime.now().isoformat(timespec='seconds')}, size `{size.name}`",
        f"- **CPU**: {cpu}; {os.cpu_count()} logical cores "
        f"({psutil.cpu_count(logical=False)} physical)",
        f"- **Memory**: {format_bytes(psutil.virtual_memory().total)}",
        f"- **OS**: {platform.platform()}; Python {platform.python_version()}",
        f"- **Cluster**: {cluster_text}",
        f"- **Load average at start** (1, 5, 15 min): {load} — other work on the machine "
        "shows up here and in every figure",
        f"- **Versions**: {', '.join(versions)}",
    ]


def table(rows: list[Row], header: list[str], notes: list[str]) -> str:
    """The Markdown report: machine, the figures, then what the misses came from."""
    lines = ["# Dask Workbench benchmarks", "", *header, "",
             "| # | Figure | Measured (median) | Anchor, same run (median) | Ratio | Goal | "
             "Verdict | Runs and notes |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
        anchor = f"{r.anchor_name}: {fmt(r.anchor, r.unit)}" if r.anchor_name else "—"
        lines.append(f"| {r.figure} | {r.name} | {fmt(r.value, r.unit)} | {anchor} | {ratio} | "
                     f"{r.goal or '—'} | {r.verdict} | {r.note} |")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines += ["", f"Load average at the end: {load}.", ""]
    missed = [r for r in rows if r.met is False]
    lines += ["## Goals missed, and why", ""]
    if not missed:
        lines.append("Every goal was met in this run.")
    for r in missed:
        lines.append(f"- **{r.figure} {r.name}** ({fmt(r.value, r.unit)}; goal {r.goal}): "
                     f"{r.cause or r.note}")
    if notes:
        lines += ["", "## Measured along the way", "", *notes]
    return "\n".join(lines) + "\n"
