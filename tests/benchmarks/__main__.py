"""``python -m tests.benchmarks [--size tiny|default|large] [--only NAME ...] [--out FILE]``."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import traceback
import warnings
from pathlib import Path

from dask.utils import format_bytes

from tests.conftest import ARTIFACTS

from . import (all_rows, clients, dispatch, engines, formats, neighbours, out_of_core,
               responsiveness, scaling, search)
from .harness import SIZES, Bench, Row, failed_row, machine, table

# name: (module, the figure numbers and titles its rows carry if it fails)
FIGURES = {
    "dispatch": (dispatch, ("1", "Dispatch overhead")),
    "engines": (engines, ("2", "Group-by engine")),
    "formats": (formats, ("3", "CSV vs Parquet")),
    "search": (search, ("4", "Model search")),
    "out-of-core": (out_of_core, ("5", "Out-of-core group-by")),
    "responsiveness": (responsiveness, ("6", "Responsiveness")),
    "all-rows": (all_rows, ("7", "All-rows view")),
    "clients": (clients, ("8a", "Clients per session")),
    "scaling": (scaling, ("9a", "Scaling")),
    "neighbours": (neighbours, ("10", "Neighbours")),
}


async def main(size_name: str, only: list[str], out: Path) -> str:
    size = SIZES[size_name]
    bench = await Bench(size).start()
    manager = bench.manager
    cluster_text = (f"the app's embedded LocalCluster: {manager.n_workers} workers, "
                    f"{manager.n_threads} threads, {format_bytes(manager.memory_limit)} "
                    "memory limit in all")
    header = machine(size, cluster_text)
    rows: list[Row] = []
    notes: list[str] = []
    try:
        for name, (module, (figure, title)) in FIGURES.items():
            if only and name not in only:
                continue
            start = time.perf_counter()
            print(f"[benchmarks] {name}…", file=sys.stderr, flush=True)
            try:
                got = await module.run(bench)
            except Exception as e:
                traceback.print_exc()
                got = [failed_row(figure, title, e)]
            rows += [r for r in got if isinstance(r, Row)]
            notes += [n for n in got if isinstance(n, str)]
            print(f"[benchmarks] {name} took {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)
    finally:
        await bench.close()
    report = table(rows, header, notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    return report


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=(
        "Run the benchmarks of issue #8 and write a Markdown table."))
    parser.add_argument("--size", choices=list(SIZES), default="default", help=(
        "tiny: a check that everything runs (CI); default: ~25 min on 2 cores and 12 GB "
        "of Parquet; "
        "large: for bigger machines"))
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), default=[],
                        metavar="NAME", help=f"run only these: {', '.join(FIGURES)}")
    parser.add_argument("--out", type=Path, default=ARTIFACTS / "benchmarks.md",
                        help="where to write the Markdown table (default: %(default)s)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    logging.basicConfig(level=logging.WARNING)
    # The seed's SVC(probability=True) warns on every local fit (the cluster's fits say it once).
    warnings.filterwarnings("ignore", message=".*`probability` parameter", category=FutureWarning)
    started = time.perf_counter()
    print(asyncio.run(main(args.size, args.only, args.out)))
    print(f"Written to {args.out} in {time.perf_counter() - started:.0f} s.", file=sys.stderr)
