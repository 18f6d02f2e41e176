"""Event-loop lag of the server process, sampled only when asked (benchmarks, diagnosis).

Off by default. With ``workbench.diagnostics.loop-lag-file`` set (for example
``DASK_WORKBENCH__DIAGNOSTICS__LOOP_LAG_FILE=/tmp/lag.txt``), the first session of the
process starts one sampler on the server's event loop: every
``workbench.diagnostics.loop-lag-interval`` seconds (default 0.01) a callback notes how
late it ran, and about once a second the samples are appended to the file as
``<unix time> <lag in seconds>`` lines, for the benchmarks to read per time window.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

from . import config

_sampler: LoopLagSampler | None = None


class LoopLagSampler:
    """How late a periodic callback runs on ``loop``: what every session waits too."""

    def __init__(self, path: Path, interval: float):
        self.path, self.interval = Path(path), interval
        self._samples: list[tuple[float, float]] = []
        self._flushed = time.monotonic()
        self._due = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due = time.monotonic() + self.interval
        loop.call_later(self.interval, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        self._samples.append((time.time(), max(0.0, now - self._due)))
        if now - self._flushed >= 1.0:
            self.flush()
        self._due = time.monotonic() + self.interval
        self._loop.call_later(self.interval, self._tick)

    def flush(self) -> None:
        samples, self._samples = self._samples, []
        self._flushed = time.monotonic()
        with self.path.open("a") as f:
            f.writelines(f"{t:.4f} {lag:.6f}\n" for t, lag in samples)


def start_loop_lag_sampler() -> LoopLagSampler | None:
    """Start the process's sampler on the running loop if configured (once); else nothing."""
    global _sampler
    path = config.get("diagnostics.loop-lag-file")
    if not path or _sampler is not None:
        return _sampler
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop yet (a plain import): the next session starts it
        return None
    _sampler = LoopLagSampler(Path(path), float(config.get("diagnostics.loop-lag-interval", 0.01)))
    _sampler.start(loop)
    return _sampler
