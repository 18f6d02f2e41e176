"""How the Model search tab shows results: heatmap, best candidate, refit, comparison."""
from __future__ import annotations

import json

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot and loads the bokeh backend)
import pandas as pd

from ..compute.search_results import SearchResults
from .notify import plain


def heatmap(results: SearchResults | None, x: str | None, y: str | None):
    """Mean test score over two grid axes; cells appear as their candidates finish."""
    if results is None or x is None:
        return hv.Div("")
    y = y if y and y != x else None
    frame = results.heatmap(x, y)
    if y is None:  # a one-axis grid: one row of cells
        y = "score of"
        frame[y] = results.scoring
    title = f"Mean test score ({results.scoring})"
    if frame.empty:
        return hv.HeatMap(pd.DataFrame({x: [], y: [], "score": []}), [x, y], "score").opts(
            title=title, height=300, responsive=True)
    return frame.hvplot.heatmap(x=x, y=y, C="score", cmap="viridis", colorbar=True,
                                title=title, height=300, responsive=True,
                                hover_cols=["score"]).opts(
        clim=(float(frame["score"].min()), float(frame["score"].max())))


def best(results: SearchResults | None) -> str:
    """Best parameters and score, then the refit's held-out score when there is one."""
    if results is None or results.best_params is None:
        return ""
    lines = [f"**Best parameters** `{json.dumps(results.best_params, default=str)}` · "
             f"**Best score** {results.best_score:.4f} ({results.scoring}, mean over "
             f"{results.n_splits} folds)"]
    if results.refit is not None:
        refit = results.refit
        lines.append(f"**Held-out score of the refit best model** {refit['score']:.4f}"
                     if "score" in refit else
                     f"**The refit best model failed:** {plain(refit['error'])}")
    if results.errors:
        first = next(iter(results.errors.values()))
        lines.append(f"**{len(results.errors)} candidate(s) failed**, e.g. {plain(first)}")
    return "  \n".join(lines)


def comparison(results: SearchResults | None, threads: int) -> str:
    """Wall times on the cluster and with scikit-learn in the server process."""
    if results is None or results.local is None or not results.wall_time:
        return ""
    local = results.local
    same = (local.best_params == results.best_params
            and abs(local.best_score - (results.best_score or 0)) < 1e-12)
    efficiency = results.efficiency(threads)
    return (f"**Cluster** {results.wall_time:.2f} s on {threads} threads"
            + (f" ({efficiency:.0%} busy)" if efficiency is not None else "")
            + f" · **Local** (scikit-learn, n_jobs={local.n_jobs}) {local.wall_time:.2f} s · "
            f"**Speedup** {local.wall_time / results.wall_time:.2f}× · "
            f"**Same best candidate and score:** {'yes' if same else 'no'}")
