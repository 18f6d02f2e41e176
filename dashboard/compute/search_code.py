"""A model search as the scikit-learn and Dask code a notebook user would write.

Running the code gives the tab's numbers: the same columns, sample, held-out split,
folds (``GridSearchCV``'s own), fixed settings and grid. It is written from parsed
values (numbers, words and column names through ``repr``), never from the text a
user typed, and nothing here evaluates it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .search_data import SAMPLE_SEED

if TYPE_CHECKING:
    from .estimators import EstimatorKind
    from .search import SearchSpec

# The score an estimator's own ``score`` gives: GridSearchCV needs no ``scoring`` for it.
OWN_SCORE = {"classification": "accuracy", "regression": "r2"}
WIDTH = 88


def public_module(cls: type) -> str:
    """Where users import ``cls`` from: ``sklearn.svm``, not ``sklearn.svm._classes``."""
    parts = cls.__module__.split(".")
    return ".".join(p for i, p in enumerate(parts) if not any(
        q.startswith("_") for q in parts[:i + 1]))


def grid_search_code(spec: SearchSpec) -> str:
    """``GridSearchCV(SVC(gamma='auto', ...), {...}, cv=2)``: the search in one line."""
    return f"GridSearchCV({', '.join(_search_args(spec))})"


def _search_args(spec: SearchSpec) -> list[str]:
    grid = {k: list(v) for k, v in spec.grid.items() if len(v)}
    args = [spec.kind.code(), repr(grid), f"cv={spec.cv}"]
    if spec.scorer_name != OWN_SCORE[spec.kind.task]:
        args.append(f"scoring={spec.scorer_name!r}")
    return args


def search_code(spec: SearchSpec, target: str | None, features: Sequence[str], *,
                encode: Sequence[str] = (), dropna: bool = False,
                fraction: float | None = None, frame: str = "df") -> str:
    """The whole search: read the rows with Dask, fit the candidates on the cluster through
    joblib's Dask backend, and score the refit best model on the held-out rows.

    ``encode`` names the text features to one-hot encode; ``fraction`` is the sample's.
    """
    kind: EstimatorKind = spec.kind
    features = [f for f in features if f != target]
    splitting = bool(spec.holdout)
    lines = ["import joblib"]
    if encode:
        lines.append("import pandas as pd")
    lines += sorted([f"from {public_module(kind.cls)} import {kind.name}",
                     "from sklearn.model_selection import GridSearchCV"
                     + (", train_test_split" if splitting else "")])
    lines += ["",
              f"# {frame}: the dataset as a Dask DataFrame; a dask.distributed Client is "
              "connected.",
              _wrapped("features = [", [repr(f) for f in features], "]")]
    read = f"data = {frame}[features + [{target!r}]]"
    if fraction is not None:
        read += f".sample(frac={fraction!r}, random_state={SAMPLE_SEED})"
    lines += [read + (".dropna()" if dropna else "") + ".compute()",
              f"X, y = data[features], data[{target!r}]"]
    if encode:
        lines.append(_wrapped("X = pd.get_dummies(X, columns=[", [repr(c) for c in encode],
                              "], dtype=float)"))
    if splitting:
        stratify = ", stratify=y" if kind.task == "classification" else ""
        lines.append(f"X, X_test, y, y_test = train_test_split(X, y, test_size={spec.holdout!r}, "
                     f"random_state={spec.random_state}{stratify})")
    lines += [_call("search = GridSearchCV", _search_args(spec)),
              "with joblib.parallel_backend('dask'):",
              "    search.fit(X, y)",
              "print(search.best_params_, search.best_score_)"]
    if splitting:
        lines.append("print(search.score(X_test, y_test))  # the refit best model, on the "
                     "held-out rows")
    return "\n".join(lines)


def _call(head: str, args: list[str]) -> str:
    """``head(args)`` on one line, or one argument a line when that is too long."""
    line = f"{head}({', '.join(args)})"
    if len(line) <= WIDTH:
        return line
    return f"{head}(" + f",\n{' ' * (len(head) + 1)}".join(args) + ")"


def _wrapped(head: str, items: list[str], tail: str) -> str:
    """``head`` + items + ``tail``, broken between items (never inside one) past WIDTH."""
    lines, line, empty = [], head, True
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else tail)
        if not empty and len(line) + len(piece) > WIDTH:
            lines.append(line.rstrip())
            line = " " * len(head)
        line, empty = line + piece + " ", False
    if empty:
        line += tail
    return "\n".join([*lines, line.rstrip()])
