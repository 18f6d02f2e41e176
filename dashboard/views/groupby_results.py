"""How a group-by result looks: the chart, the table, the figures and the history."""
from __future__ import annotations

import datetime as dt
import html
import io

import hvplot.pandas  # noqa: F401  (registers .hvplot)
import pandas as pd
import panel as pn

from .. import config, downloads
from ..compute.groupby import GroupBySpec, spec_from_settings
from ..jobs import Job
from ..proxy import is_mounted
from ..session_token import current_user
from .session import in_server_session


def progress(job: Job | None):
    """Tasks done over all while ``job`` runs; nothing otherwise."""
    if job is None or job.status != "running":
        return None
    value = job.done if job.total else -1  # indeterminate until the scheduler counts
    return pn.Row(
        pn.indicators.Progress(value=value, max=max(job.total, 1), width=300,
                               css_classes=["groupby-progress"]),
        pn.pane.Markdown(progress_text(job), css_classes=["groupby-progress-text"]))


def progress_text(job: Job, now: dt.datetime | None = None) -> str:
    """Tasks done, time so far and, once some are done, a rough time left."""
    if not job.total:
        return "submitting…"
    text = f"{job.done} / {job.total} tasks"
    if job.started is None:
        return text
    elapsed = ((now or dt.datetime.now()) - job.started).total_seconds()
    text += f" · {elapsed:.1f} s"
    if 0 < job.done < job.total:
        # Tasks done so far at the rate so far: rough, but it tells seconds from minutes.
        text += f" · about {elapsed * (job.total - job.done) / job.done:.0f} s left"
    return text


def result(job: Job | None, compare: dict | None):
    """A finished run: its figures, the pandas comparison, chart, table and downloads."""
    if job is None or job.status != "done" or job.result is None:
        return None
    spec = spec_from_settings(job.settings["query"])
    frame = job.result
    return pn.Column(
        pn.pane.Markdown(figures(job), css_classes=["groupby-figures"]),
        pn.pane.Markdown(comparison(compare), css_classes=["groupby-compare"])
        if compare else None,
        chart(frame, spec, config.get("groupby.chart-groups")),
        table(frame),
        pn.Row(csv_download(frame, job.dataset), report_download(job)),
        sizing_mode="stretch_width")


def chart(result: pd.DataFrame, spec: GroupBySpec, limit: int):
    """Bars for one key, a heatmap for two; at most ``limit`` groups drawn."""
    shown = result.head(limit).reset_index()
    title = f"{spec.agg} of {', '.join(spec.values)} by {', '.join(spec.keys)}"
    if len(result) > limit:
        title += f" (first {limit} of {len(result):,} groups; the table has all)"
    for key in spec.keys:  # categories would list every category on the axis
        shown[key] = shown[key].astype(str)
    if len(spec.keys) == 2:
        return shown.hvplot.heatmap(x=spec.keys[0], y=spec.keys[1], C=spec.values[0],
                                    title=title, responsive=True, height=360,
                                    colorbar=True, tools=["hover"])
    if len(spec.keys) > 2:
        label = " / ".join(spec.keys)
        shown[label] = shown[list(spec.keys)].agg(" / ".join, axis=1)
        x = label
    else:
        x = spec.keys[0]
    # One value: plain bars over the keys, the axis saying what they measure. Several:
    # grouped bars, one colour per value column.
    y = spec.values[0] if len(spec.values) == 1 else list(spec.values)
    ylabel = f"{spec.agg} of {', '.join(spec.values)}"
    return shown.hvplot.bar(x=x, y=y, title=title, responsive=True, height=360,
                            xlabel=x, ylabel=ylabel, rot=45 if len(shown) > 8 else 0,
                            legend="top_right" if len(spec.values) > 1 else False)


def table(result: pd.DataFrame) -> pn.widgets.Tabulator:
    frame = result.reset_index()
    # Tabulator puts column titles into the page as HTML; the names come from the data.
    titles = {c: html.escape(str(c)) for c in frame.columns}
    return pn.widgets.Tabulator(frame, titles=titles, pagination="remote", page_size=15,
                                disabled=True, show_index=False, sizing_mode="stretch_width",
                                css_classes=["groupby-table"])


def figures(job: Job) -> str:
    stats = job.stats
    parts = [f"**{stats.get('groups', 0):,}** groups",
             f"**{stats.get('rows', 0):,}** rows scanned"]
    if stats.get("tasks"):
        parts.append(f"**{stats['tasks']:,}** tasks")
    parts.append("**cached**: instant, no work on the cluster" if job.cached
                 else f"**{job.elapsed:.2f} s**")
    return " · ".join(parts)


def csv_download(result: pd.DataFrame, dataset: str):
    """Served: a link to the CSV streamed over HTTP (see dashboard.downloads), never sent
    through the session's WebSocket. In a notebook: Panel's FileDownload."""
    filename = f"{dataset}-groupby.csv"
    if not (in_server_session() and is_mounted()):
        return pn.widgets.FileDownload(
            callback=lambda: io.StringIO(result.to_csv()), filename=filename,
            label="Download CSV", color="default", css_classes=["download-csv"])
    token = downloads.offer(result, filename, current_user(),
                            session=pn.state.curdoc.session_context.id)
    href = f"{pn.state.rel_path or '.'}/{downloads.ROUTE}/{token}"
    return pn.pane.HTML(
        f'<a class="download-link" role="button" href="{html.escape(href, quote=True)}" '
        f'download="{html.escape(filename, quote=True)}">Download CSV</a>',
        css_classes=["download-csv"], stylesheets=[DOWNLOAD_CSS], margin=(5, 10))


# A link that looks like the buttons beside it.
DOWNLOAD_CSS = """
.download-link { display: inline-block; padding: 6px 12px; border-radius: 4px;
  border: 1px solid var(--neutral-stroke-rest, #bbb); color: inherit; text-decoration: none;
  font-size: 14px; }
.download-link:hover { background: var(--neutral-fill-hover, #eee); }
"""


def report_download(job: Job) -> pn.widgets.FileDownload | None:
    if not job.report:
        return None
    return pn.widgets.FileDownload(
        callback=lambda: io.StringIO(job.report), filename="dask-performance-report.html",
        label="Download performance report", css_classes=["download-report"])


def comparison(compare: dict) -> str:
    """The side-by-side of one process of pandas and the cluster."""
    speedup = compare["pandas"] / compare["dask"] if compare["dask"] else float("nan")
    verdict = "faster" if speedup >= 1 else "slower"
    return (f"**pandas, one process:** {compare['pandas']:.2f} s · "
            f"**Dask, {compare['threads']} worker threads:** {compare['dask']:.2f} s · "
            f"**{speedup:.2f}×** ({'the cluster is' if speedup >= 1 else 'pandas is'} "
            f"{verdict if speedup >= 1 else 'faster'}) · same result: "
            f"{'yes' if compare['equal'] else 'NO'}")


def filter_of(filters: dict, column: str) -> dict:
    """``column``'s filter as the widgets show it: nothing chosen for one that is not a
    mapping, no values for values that are not a list."""
    chosen = filters.get(column)
    chosen = chosen if isinstance(chosen, dict) else {}
    values = chosen.get("values", [])
    return {**chosen, "values": values if isinstance(values, (list, tuple)) else []}


def number(value) -> float | None:
    """A filter bound for a number box; None (an empty box) for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def selection_text(selection: dict) -> str:
    """The map's box, column by column: 'distance in [100, 500]'."""
    parts = []
    for column, bounds in selection.items():
        try:
            low, high = bounds
            parts.append(f"{column} in [{low:.4g}, {high:.4g}]")
        except (TypeError, ValueError):  # a link's malformed box: Run names it
            parts.append(f"{column}: {bounds!r}")
    return "; ".join(parts)


def history_frame(history: list[Job]) -> pd.DataFrame:
    rows = [{
        "time": job.started.strftime("%H:%M:%S") if job.started else "",
        "dataset": job.dataset, "query": job.title, "status": job.status,
        "seconds": round(job.elapsed, 2), "cached": job.cached,
    } for job in history]
    return pd.DataFrame(rows, columns=["time", "dataset", "query", "status", "seconds",
                                       "cached"])
