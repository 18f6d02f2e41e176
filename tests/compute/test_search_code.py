"""The code the Model search tab shows: what the workshop wrote, and running it gives the tab's
numbers (same rows, split, folds, fixed settings and grid) through joblib's Dask backend."""
from __future__ import annotations

import ast
import asyncio
import importlib

import numpy as np
import pandas as pd
import pytest
from distributed import Client

from dashboard.compute.estimators import ESTIMATORS
from dashboard.compute.search import SearchSpec
from dashboard.compute.search_code import public_module, search_code
from dashboard.compute.search_data import sample_fraction
from tests.compute.test_search import FEATURES, lazy, run, small_frame

SEED_CODE = """\
import joblib
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

# df: the dataset as a Dask DataFrame; a dask.distributed Client is connected.
features = ['f0', 'f1', 'f2', 'f3']
data = df[features + ['y']].compute()
X, y = data[features], data['y']
search = GridSearchCV(SVC(gamma='auto', probability=True, random_state=0),
                      {'C': [0.001, 10.0], 'kernel': ['rbf', 'poly']},
                      cv=2)
with joblib.parallel_backend('dask'):
    search.fit(X, y)
print(search.best_params_, search.best_score_)"""


def test_the_seed_search_reads_as_the_workshop_wrote_it():
    # Every fixed setting is in the estimator's call: nothing is applied unseen.
    assert search_code(SearchSpec(), "y", FEATURES) == SEED_CODE
    assert SearchSpec().code() == ("GridSearchCV(SVC(gamma='auto', probability=True, "
                                   "random_state=0), {'C': [0.001, 10.0], 'kernel': "
                                   "['rbf', 'poly']}, cv=2)")


def run_code(code: str, ddf, address: str) -> dict:
    """Run the shown code as a notebook user would: a Client connected, ``df`` defined."""
    with Client(address):
        namespace = {"df": ddf}
        exec(compile(code, "<the tab's code>", "exec"), namespace)  # our own output, in a test
    return namespace


def frame_with_gaps_and_text(n: int = 1200) -> pd.DataFrame:
    frame = small_frame(n, city=(["Paris", "Lyon", "Nice"] * n)[:n])
    frame.loc[5:14, "f2"] = np.nan
    return frame


@pytest.mark.parametrize("spec, target, features", [
    (SearchSpec(grid={"C": [0.1, 10.0], "kernel": ["rbf", "linear"]}, holdout=0.25),
     "y", [*FEATURES, "city"]),
    (SearchSpec(estimator="Ridge", grid={"alpha": [0.01, 1.0, 100.0]}, cv=3, holdout=0.2,
                scoring="neg_mean_absolute_error"), "f3", ["f0", "f1", "f2", "city", "y"]),
])
async def test_running_the_code_gives_the_tabs_numbers(runner, local_cluster, spec, target,
                                                       features):
    frame = frame_with_gaps_and_text()
    ddf = lazy(frame)
    options = dict(encode=True, dropna=True, rows=600, rows_estimate=len(frame))
    job = await run(runner, ddf, spec, target=target, features=features, **options)
    assert job.status == "done", job.error
    ours = job.result

    code = search_code(spec, target, features, encode=["city"], dropna=True,
                       fraction=sample_fraction(600, len(frame)))
    assert ".sample(frac=0.5, random_state=0).dropna().compute()" in code
    shown = (await asyncio.to_thread(run_code, code, ddf, local_cluster.scheduler_address))
    search = shown["search"]
    assert search.best_params_ == ours.best_params
    assert search.best_score_ == pytest.approx(ours.best_score, abs=1e-12)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               ours.cv_results()["mean_test_score"], rtol=0, atol=1e-12)
    held_out = search.score(shown["X_test"], shown["y_test"])
    assert held_out == pytest.approx(ours.refit["score"], abs=1e-12)


def test_the_code_says_only_what_differs_from_scikit_learns_defaults():
    regression = search_code(SearchSpec(estimator="Ridge", grid={"alpha": [1.0]}, holdout=0.2,
                                        scoring="r2"), "f3", ["f0"])
    assert "GridSearchCV(Ridge(), {'alpha': [1.0]}, cv=2)" in regression
    assert "train_test_split(X, y, test_size=0.2, random_state=0)" in regression  # no stratify
    classes = search_code(SearchSpec(scoring="f1_macro", holdout=0.1), "y", FEATURES)
    assert "cv=2, scoring='f1_macro')" in classes.replace("\n", " ").replace("  ", "")
    assert "stratify=y" in classes and "print(search.score(X_test, y_test))" in classes


def test_column_names_stay_literals_whatever_they_hold():
    names = ["a'b", 'x"]\n```\n<img src=x onerror=alert(1)>', "features", "two words " * 12]
    code = search_code(SearchSpec(), "y\n```", names)
    ast.parse(code)  # valid Python: every name is a literal, wrapped between items only
    tree = ast.parse(code)
    assigned = next(n for n in tree.body if isinstance(n, ast.Assign)
                    and getattr(n.targets[0], "id", None) == "features")
    assert ast.literal_eval(assigned.value) == names
    # Nothing the data holds starts a line, so it cannot close the Markdown code block.
    assert not [line for line in code.splitlines() if line.lstrip().startswith("`")]


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_the_imports_shown_are_public(name):
    kind = ESTIMATORS[name]
    module = public_module(kind.cls)
    assert not any(part.startswith("_") for part in module.split("."))
    assert getattr(importlib.import_module(module), name) is kind.cls
