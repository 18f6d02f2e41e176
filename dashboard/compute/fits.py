"""What runs on a worker for model search: one fit and its score.

Self-contained (scikit-learn and the standard library only) and pickled by value,
so a cluster whose workers do not have this package installed (Coiled,
Kubernetes, a shared jobqueue) can still run it.
"""
from __future__ import annotations

import sys
import time
import warnings

import cloudpickle
from sklearn.base import clone
from sklearn.metrics import get_scorer


def fit_and_score(estimator, params: dict, X, y, folds, fold: int | None, scoring: str,
                  X_test=None, y_test=None) -> dict:
    """Fit a clone of ``estimator`` with ``params`` on fold ``fold``'s training rows, score it.

    With ``fold=None`` it trains on all of ``X`` and scores on ``X_test`` (the
    refit on the held-out split). A failure is returned as its message, so one
    bad candidate never fails the search.
    """
    if fold is None:
        X_train, y_train, X_score, y_score = X, y, X_test, y_test
    else:
        train, test = folds[fold]
        X_train, y_train, X_score, y_score = X[train], y[train], X[test], y[test]
    model = clone(estimator).set_params(**params)
    start = time.perf_counter()
    fit_time = score_time = 0.0
    try:
        with warnings.catch_warnings():
            # The seed's SVC(probability=True) is deprecated in scikit-learn 1.9, and
            # the search reproduces the seed; say it once in the docs, not per fit.
            warnings.filterwarnings("ignore", message=".*`probability` parameter",
                                    category=FutureWarning)
            model.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        score = float(get_scorer(scoring)(model, X_score, y_score))
        score_time = time.perf_counter() - start - fit_time
    except Exception as e:  # the candidate failed, not the search
        return {"error": f"{type(e).__name__}: {e}",
                "fit_time": fit_time or time.perf_counter() - start, "score_time": score_time}
    return {"score": score, "fit_time": fit_time, "score_time": score_time}


cloudpickle.register_pickle_by_value(sys.modules[__name__])
