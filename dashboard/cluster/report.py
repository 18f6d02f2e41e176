"""Dask performance reports of a job, made so that a failing report never fails the job."""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from distributed import Client, performance_report

log = logging.getLogger(__name__)


async def with_report(client: Client, work: Callable[[], Awaitable[Any]],
                      code: str) -> tuple[Any, str | None, str]:
    """Run ``work`` while distributed records its performance report.

    Returns ``(result, html, problem)``: the report's HTML, or None and a sentence
    saying why there is none. Only ``work`` may raise: the report is extra.
    """
    fd, path = tempfile.mkstemp(suffix=".html", prefix="dask-report-")
    os.close(fd)
    try:
        # performance_report finds the client through get_client(): make it ours.
        with client.as_current():
            recorder = performance_report(filename=path)
            try:
                await recorder.__aenter__()
            except Exception as e:
                log.warning("Could not start a performance report", exc_info=True)
                return await work(), None, _problem(e)
            result = await work()
            try:
                use_bokeh_save()
                forget_closed_documents()
                # The report's "calling code" is the job's own code, not our stack.
                await recorder.__aexit__(None, None, None, code=code)
                with open(path, encoding="utf-8") as f:
                    return result, f.read(), ""
            except Exception as e:
                log.warning("Could not make a performance report", exc_info=True)
                return result, None, _problem(e)
    finally:
        os.unlink(path)


def _problem(e: Exception) -> str:
    return (f"The result is fine, but its performance report could not be made: "
            f"{type(e).__name__}: {e}")


def use_bokeh_save() -> None:
    """Put Bokeh's own ``save`` and ``output_file`` back in ``bokeh.plotting``.

    While ``panel serve`` (like ``bokeh serve``) runs an app's script it swaps
    ``bokeh.io``'s save and output_file for functions that only log "ignored". A
    module that first imports ``bokeh.plotting`` meanwhile (HoloViews does, in the
    first session) keeps those for good. A scheduler in this process (the embedded
    cluster) draws its report with ``bokeh.plotting.save``, which then wrote nothing,
    and the report failed with FileNotFoundError on every run.
    """
    import bokeh.plotting
    from bokeh.io.output import output_file
    from bokeh.io.saving import save
    bokeh.plotting.save, bokeh.plotting.output_file = save, output_file


def forget_closed_documents() -> None:
    """Drop Bokeh's references to documents already destroyed.

    A scheduler in this process (the embedded cluster) draws the report with Bokeh,
    whose ``curdoc()`` raises for ever once the document on top of its patched stack
    is gone, which a session closed during an awaiting callback leaves behind.
    """
    from bokeh.io import doc
    doc._PATCHED_CURDOCS[:] = [ref for ref in doc._PATCHED_CURDOCS if ref() is not None]
