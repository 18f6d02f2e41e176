"""The Model search tab in a shareable link: what goes into the URL, and reading it back.

A link's settings are applied once the dataset's columns are known, in ``KEYS``
order (the target decides the estimators offered, the estimator its scorings and
grid), each checked on its own: a bad one keeps its default and is named in one
notice. Only settings that differ from a fresh page's go into the URL.
"""
from __future__ import annotations

from ..compute.estimators import ESTIMATORS, Hyper, SearchError, check_grid, parse_entry
from ..compute.search import SCORINGS
from ..compute.search_data import default_features
from .url import literal

KEYS = {"target": "ms_target", "features": "ms_features", "estimator": "ms_est",
        "scoring": "ms_score", "cv": "ms_cv", "holdout": "ms_holdout", "rows": "ms_rows",
        "dropna": "ms_dropna", "encode": "ms_encode", "grid": "ms_grid", "heat_x": "ms_hx",
        "heat_y": "ms_hy"}


def default_entry(hyper: Hyper):
    """A grid editor entry as a fresh page shows it: a list for choices, else text."""
    return list(hyper.default) if hyper.kind in ("choice", "boolean") else str(hyper.default)


def state(view) -> dict:
    """The view's settings that differ from what a fresh page shows, by name."""
    kind = ESTIMATORS[view.estimator]
    p = view.param
    defaults = {"estimator": p.estimator.default, "cv": p.cv.default,
                "scoring": SCORINGS[kind.task][0], "holdout": p.holdout.default,
                "rows": p.rows.default, "dropna": p.dropna.default,
                "encode": p.encode.default, "heat_x": view.heat_defaults[0],
                "heat_y": view.heat_defaults[1]}
    if view.dtypes:  # before the schema the columns are not chosen yet
        target = view.store.dataset.target
        target = target if target in view.dtypes else None
        # What a fresh page picks: the dataset's target, its numeric columns as features
        # (less a target chosen instead), the estimator the target calls for.
        defaults.update(target=target, estimator=view.suggested_estimator(), features=[
            c for c in default_features(view.dtypes, target) if c != view.target])
    changed = {name: getattr(view, name) for name in defaults
               if getattr(view, name) is not None and getattr(view, name) != defaults[name]}
    entries = view.entries()
    grid = {h.name: entries[h.name] for h in kind.hypers if entries[h.name] != default_entry(h)}
    if grid:
        changed["grid"] = grid
    return changed


def apply(view, columns: list[str]) -> None:
    """Put a shared link's settings on ``view``, now that the dataset's ``columns`` are known."""
    def check(name, value):
        if name == "target" and value not in columns:
            raise ValueError(value)
        if name == "features" and (not value or not set(value) <= set(columns) - {view.target}):
            raise ValueError(value)
        if name in ("heat_x", "heat_y"):
            try:
                grid = view.spec().grid
            except SearchError:
                return value  # the grid cannot be read: the run picks the axes
            if value not in [k for k, v in grid.items() if len(v) > 1]:
                raise ValueError(value)
        return value

    link = view.query_link
    bad = link.apply(view, ["target", "features", "estimator", "scoring", "cv", "holdout",
                            "rows", "dropna", "encode"], check, report=False)
    text = link.take("grid")
    if text is not None:
        try:
            entries = literal(text)
            if not isinstance(entries, dict):
                raise ValueError(text)
        except ValueError:
            bad.append(("grid", text))
        else:
            bad += [(f"ms_grid[{name}]", entry) for name, entry in entries.items()
                    if not _set_entry(view, str(name), entry)]
    bad += link.apply(view, ["heat_x", "heat_y"], check, report=False)
    link.report(bad)


def _set_entry(view, name: str, entry) -> bool:
    """Put a link's grid entry in the editor if the estimator can take its values."""
    try:
        hyper = ESTIMATORS[view.estimator].hyper(name)
        if hyper.kind in ("choice", "boolean"):
            if not isinstance(entry, list):
                return False
        elif isinstance(entry, (int, float)) and not isinstance(entry, bool):
            entry = str(entry)
        elif not isinstance(entry, str):
            return False
        values = parse_entry(hyper, entry)
        if values:
            check_grid(view.estimator, {name: values})
        view.grid.param.update({name: entry})
    except Exception:  # anything the editor or scikit-learn refuses
        return False
    return True
