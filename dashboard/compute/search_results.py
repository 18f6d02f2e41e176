"""A search's results as they land: per-fit scores, ``cv_results_``, best, table, heatmap."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata


@dataclass
class LocalRun:
    """The same grid with scikit-learn's ``GridSearchCV(n_jobs=...)`` in the server process."""

    wall_time: float
    n_jobs: int
    best_params: dict
    best_score: float


@dataclass
class SearchResults:
    """Scores per (candidate, fold), filled in as fits finish; NaN while pending or failed."""

    estimator: str
    scoring: str
    candidates: list[dict]
    scores: np.ndarray
    fit_times: np.ndarray
    score_times: np.ndarray
    finished: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)
    refit: dict | None = None  # the best candidate refit on all searched rows, held-out score
    wall_time: float | None = None  # first fit sent to last fit landed, seconds
    local: LocalRun | None = None

    @classmethod
    def start(cls, spec, candidates: list[dict], n_splits: int) -> SearchResults:
        empty = np.full((len(candidates), n_splits), np.nan)
        return cls(spec.estimator, spec.scorer_name, candidates, empty.copy(), empty.copy(),
                   empty.copy(), np.zeros(empty.shape, dtype=bool))

    @property
    def n_splits(self) -> int:
        return self.scores.shape[1]

    @property
    def total(self) -> int:
        return self.scores.size

    @property
    def done(self) -> int:
        return int(self.finished.sum())

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def record(self, candidate: int, fold: int, outcome: dict) -> None:
        """One fit's outcome: its score, or its error (which fails its candidate)."""
        self.finished[candidate, fold] = True
        self.fit_times[candidate, fold] = outcome.get("fit_time", np.nan)
        self.score_times[candidate, fold] = outcome.get("score_time", np.nan)
        if "error" in outcome:
            self.errors.setdefault(candidate, outcome["error"])
        else:
            self.scores[candidate, fold] = outcome["score"]

    def status(self, candidate: int) -> str:
        if candidate in self.errors:
            return "failed"
        folds = int(self.finished[candidate].sum())
        return "done" if folds == self.n_splits else f"{folds}/{self.n_splits} folds"

    def _candidate_done(self) -> np.ndarray:
        return self.finished.all(axis=1)

    def cv_results(self) -> dict[str, Any]:
        """As ``GridSearchCV.cv_results_`` (``error_score=nan``); unfinished candidates are NaN."""
        results: dict[str, Any] = {"params": list(self.candidates)}
        for name in dict.fromkeys(k for c in self.candidates for k in c):
            results[f"param_{name}"] = np.ma.MaskedArray(
                [c.get(name) for c in self.candidates], mask=[name not in c for c in self.candidates],
                dtype=object)
        done = self._candidate_done()[:, None]
        for key, array in (("test_score", self.scores), ("fit_time", self.fit_times),
                           ("score_time", self.score_times)):
            array = np.where(done, array, np.nan)
            for split in range(self.n_splits):
                if key == "test_score":
                    results[f"split{split}_{key}"] = array[:, split]
            means = np.average(array, axis=1)
            results[f"mean_{key}"] = means
            results[f"std_{key}"] = np.sqrt(np.average((array - means[:, None]) ** 2, axis=1))
        results["rank_test_score"] = _rank(results["mean_test_score"])
        return results

    @property
    def best_index(self) -> int | None:
        cv = self.cv_results()
        if np.isnan(cv["mean_test_score"]).all():
            return None
        return int(cv["rank_test_score"].argmin())

    @property
    def best_params(self) -> dict | None:
        index = self.best_index
        return None if index is None else dict(self.candidates[index])

    @property
    def best_score(self) -> float | None:
        index = self.best_index
        return None if index is None else float(self.cv_results()["mean_test_score"][index])

    @property
    def busy_time(self) -> float:
        """Seconds the workers spent fitting and scoring (for parallel efficiency)."""
        return float(np.nansum(self.fit_times) + np.nansum(self.score_times))

    def efficiency(self, threads: int) -> float | None:
        if not self.wall_time or not threads:
            return None
        return self.busy_time / (self.wall_time * threads)

    def table(self) -> pd.DataFrame:
        """One row per candidate: its params, mean/std test score, fit time, status."""
        cv, done = self.cv_results(), self._candidate_done()
        params = pd.DataFrame([{k: _label(v) for k, v in c.items()} for c in self.candidates])
        return params.assign(**{
            "mean test score": cv["mean_test_score"],
            "std test score": cv["std_test_score"],
            # Folds done so far (pandas skips the NaN of pending ones).
            "mean fit time (s)": pd.DataFrame(self.fit_times).mean(axis=1).to_numpy(),
            "rank": np.where(done & ~np.isnan(cv["mean_test_score"]), cv["rank_test_score"],
                             np.nan),
            "status": [self.status(i) for i in range(len(self.candidates))],
            "error": [self.errors.get(i, "") for i in range(len(self.candidates))],
        })

    def heatmap(self, x: str, y: str | None) -> pd.DataFrame:
        """Mean test score over two grid axes, the best over any other axes; finished cells only."""
        cv = self.cv_results()
        rows = [{x: _label(c.get(x)), **({y: _label(c.get(y))} if y else {}),
                 "score": cv["mean_test_score"][i]}
                for i, c in enumerate(self.candidates) if self._candidate_done()[i]]
        keys = [x, y] if y else [x]
        if not rows:
            return pd.DataFrame(columns=[*keys, "score"])
        frame = pd.DataFrame(rows)
        return frame.groupby(keys, sort=False, dropna=False)["score"].max().reset_index()


def _label(value) -> str:
    return "None" if value is None else str(value)


def _rank(means: np.ndarray) -> np.ndarray:
    """scikit-learn's ranking: NaN (failed) ranks last."""
    if np.isnan(means).all():
        return np.ones_like(means, dtype=np.int32)
    filled = np.nan_to_num(means, nan=np.nanmin(means) - 1)
    return rankdata(-filled, method="min").astype(np.int32)


def grid_axes(candidates: Sequence[dict]) -> list[str]:
    """The grid's parameters that take more than one value, in grid order."""
    names = dict.fromkeys(k for c in candidates for k in c)
    return [n for n in names if len({_label(c.get(n)) for c in candidates}) > 1]
