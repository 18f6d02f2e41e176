"""Model search on a real LocalCluster: same results as GridSearchCV, live, cancellable, refusing bad input."""
from __future__ import annotations

import asyncio

import dask.config
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from dashboard.compute.estimators import (ESTIMATORS, SearchError, check_grid, default_estimator,
                                         parse_grid, target_task)
from dashboard.compute.search import (SEED_LARGE_GRID, SearchSpec, confirmation_question,
                                      plan_search)
from dashboard.compute.search_data import (default_features, prepare_data, sample_fraction,
                                           training_frame)
from dashboard.datasets.classification import ClassificationDataset, classification_arrays
from dashboard.jobs import CACHE, Job, JobRunner
from dashboard.work.search import search

FEATURES = ["f0", "f1", "f2", "f3"]


def small_frame(n_samples: int = 300, **columns) -> pd.DataFrame:
    X, y = classification_arrays(n_samples=n_samples)
    return pd.DataFrame(X, columns=FEATURES).assign(y=y, **columns)


def lazy(frame: pd.DataFrame) -> dd.DataFrame:
    return dd.from_pandas(frame, npartitions=2)


async def run(runner: JobRunner, ddf, spec: SearchSpec, target="y", features=FEATURES,
              **options) -> Job:
    CACHE.clear()  # each test times and watches real fits
    job = Job(kind="search", title=spec.code())
    return await runner.run(job, lambda ctx: search(ctx, ddf, target, features, spec, **options))


async def fits_seen(client, run_id: str) -> int:
    """Fit tasks of run ``run_id`` the scheduler was ever told about (its transition log)."""
    prefix = f"search-{run_id}-fit-"
    return await client.run_on_scheduler(lambda dask_scheduler: len({
        str(t.key) for t in dask_scheduler.transition_log if str(t.key).startswith(prefix)}))


async def search_keys(client) -> list[str]:
    return await client.run_on_scheduler(lambda dask_scheduler: [
        str(k) for k in dask_scheduler.tasks if str(k).startswith("search-")])


def assert_same_as_sklearn(results, expected: GridSearchCV) -> None:
    ours = results.cv_results()
    for key in ("mean_test_score", "std_test_score", "rank_test_score", "split0_test_score",
                "split1_test_score"):
        np.testing.assert_allclose(ours[key], expected.cv_results_[key], rtol=0, atol=1e-12)
    assert ours["params"] == expected.cv_results_["params"]
    assert results.best_params == expected.best_params_
    assert results.best_score == pytest.approx(expected.best_score_, abs=1e-12)


async def test_seed_small_grid_is_reproduced(runner):
    dataset = ClassificationDataset()  # the seed's make_classification(10000, 4, random_state=0)
    job = await run(runner, dataset.to_dask(), SearchSpec())
    assert job.status == "done", job.error
    results = job.result
    assert results.best_params == {"C": 10.0, "kernel": "rbf"}
    assert round(results.best_score, 4) == 0.9086
    # scikit-learn's GridSearchCV(cv=2) on these data gives these means, in ParameterGrid order.
    np.testing.assert_allclose(results.cv_results()["mean_test_score"],
                               [0.7945, 0.774, 0.9086, 0.8466], atol=1e-12)


@pytest.mark.parametrize("estimator, grid, target", [
    ("SVC", {"C": [0.01, 1.0, 100.0], "kernel": ["rbf", "linear"]}, "y"),
    ("Ridge", {"alpha": [0.01, 1.0, 100.0], "fit_intercept": [True, False]}, "f3"),
])
async def test_same_as_gridsearchcv_on_the_same_folds_and_streamed(runner, estimator, grid,
                                                                   target):
    spec = SearchSpec(estimator=estimator, grid=grid, cv=3, holdout=0.25)
    features = [c for c in [*FEATURES, "y"] if c != target]
    updates = []
    job = await run(runner, lazy(small_frame()), spec, target=target, features=features,
                    on_update=lambda r: updates.append(r.done))
    assert job.status == "done", job.error
    results = job.result
    # One update per fit as it lands (then one with the refit): results stream.
    assert updates[:results.total] == list(range(1, results.total + 1))
    assert (job.done, job.total) == (results.total, results.total)

    X, y = small_frame()[features].to_numpy(), small_frame()[target].to_numpy()
    plan = plan_search(spec, X, y)
    expected = GridSearchCV(spec.kind.make(), grid, cv=3, scoring=spec.scorer_name).fit(plan.X,
                                                                                      plan.y)
    assert_same_as_sklearn(results, expected)
    # The refit best model is scored on rows the search never saw.
    assert results.refit["score"] == pytest.approx(
        expected.best_estimator_.score(plan.X_test, plan.y_test), abs=1e-12)


async def test_a_failing_fit_fails_only_its_candidate(runner):
    grid = {"l1_ratio": [0.0, 1.0], "solver": ["lbfgs", "liblinear"]}
    job = await run(runner, lazy(small_frame()), SearchSpec(estimator="LogisticRegression", grid=grid))
    assert job.status == "done", job.error
    results = job.result
    table = results.table().set_index(["l1_ratio", "solver"])
    failed = table.loc[("1.0", "lbfgs")]
    assert failed["status"] == "failed"
    assert "Solver lbfgs supports only 'l2' or None penalties" in failed["error"]
    assert list(results.errors) == [results.candidates.index({"l1_ratio": 1.0, "solver": "lbfgs"})]
    assert (table.drop(index=("1.0", "lbfgs"))["status"] == "done").all()
    assert results.best_params != {"l1_ratio": 1.0, "solver": "lbfgs"}

    X, y = small_frame()[FEATURES].to_numpy(), small_frame()["y"].to_numpy()
    with pytest.warns(Warning):  # sklearn warns of the failed fits, and keeps going too
        expected = GridSearchCV(SearchSpec(estimator="LogisticRegression").kind.make(), grid,
                                cv=2).fit(X, y)
    assert_same_as_sklearn(results, expected)


async def test_cancel_stops_the_fits_and_releases_every_future(runner, async_client):
    spec = SearchSpec(grid=dict(SEED_LARGE_GRID), cv=3)
    updates, started = [], asyncio.Event()

    def on_update(results):
        updates.append(results.done)
        started.set()

    task = asyncio.create_task(run(runner, lazy(small_frame(3000)), spec, on_update=on_update,
                                   confirmed=True))
    await asyncio.wait_for(started.wait(), 120)
    assert await search_keys(async_client), "the search's data and fits are on the cluster"
    assert await runner.cancel("search")
    job = await task
    assert job.status == "cancelled" and job.result is None
    seen = len(updates)
    assert updates[-1] < 36 * 3
    # Released: the scheduler forgets the search's data and every fit (a bounded wait).
    for _ in range(200):
        if not await search_keys(async_client):
            break
        await asyncio.sleep(0.05)
    assert await search_keys(async_client) == []
    assert len(updates) == seen  # nothing lands after Cancel


# -- bad input: a sentence, and no fit dispatched ------------------------------

@pytest.mark.parametrize("estimator, entries, message", [
    ("SVC", {"C": "-1"}, "SVC cannot take C=-1.0: The 'C' parameter of SVC must be a float in "
                         "the range (0.0, inf]. Got -1.0 instead."),
    ("SVC", {"C": "1", "kernel": ["rbff"]},
     "SVC cannot take kernel='rbff': The 'kernel' parameter of SVC must be a str among"),
    ("KNeighborsClassifier", {"n_neighbors": "0"},
     "KNeighborsClassifier cannot take n_neighbors=0: The 'n_neighbors' parameter"),
    ("SVC", {"C": "", "kernel": []},
     "The grid is empty: enter at least one value for one parameter of SVC."),
    ("SVC", {"C": "__import__('os').system('true')"},
     "C: cannot read '__import__('os')'. Enter numbers separated by commas"),
    ("SVC", {"C": "1+1"}, "C: cannot read '1+1'"),
    ("SVC", {"C": "logspace(-3, 1)"},
     "C: logspace(start, stop, count) needs a whole count of values"),
    ("SVC", {"C": "logspace(0, 3, 5000)"}, "a range may give at most 1000"),
    ("SVC", {"gamma": "scale, 0.1, sometimes"},
     "SVC cannot take gamma='sometimes': The 'gamma' parameter of SVC must be"),
    ("SVC", {"epsilon": "0.1"}, "SVC has no grid parameter 'epsilon'"),
])
def test_bad_grid_values_are_refused_with_sklearns_own_words(estimator, entries, message):
    with pytest.raises(SearchError) as e:
        check_grid(estimator, parse_grid(estimator, entries))
    assert message in str(e.value)


def test_grid_entries_are_read_structurally():
    grid = parse_grid("SVC", {"C": "logspace(-3, 1, 5), 0.5", "kernel": ["rbf"],
                              "shrinking": [True, False], "gamma": "scale, 0.1",
                              "degree": "range(2, 5)"})
    assert grid == {"C": [0.001, 0.01, 0.1, 1.0, 10.0, 0.5], "kernel": ["rbf"],
                    "shrinking": [True, False], "gamma": ["scale", 0.1], "degree": [2, 3, 4]}
    forest = parse_grid("RandomForestClassifier", {"n_estimators": "logspace(1, 2, 4)",
                                                   "max_depth": "None, 4.0",
                                                   "max_features": "sqrt, 0.5"})
    assert forest == {"n_estimators": [10, 22, 46, 100], "max_depth": [None, 4],
                      "max_features": ["sqrt", 0.5]}


@pytest.mark.parametrize("case, message", [
    ("one class", "The target has only one class (1); a classifier needs at least two."),
    ("text feature", "Feature columns 'city' are not numeric. Tick 'Encode categorical "
                     "features' to one-hot encode them, or leave them out of the features."),
    ("missing feature", "Feature columns have missing values: 'f1' (3 rows). Tick 'Drop rows "
                        "with missing values', or leave the columns out of the features."),
    ("missing target", "The target 'y' has 2 missing values; tick 'Drop rows with missing "
                       "values' or choose another target."),
    ("folds over smallest class", "CV folds (5) is larger than the smallest class: 1 "
                                  "has 3 rows. Use at most 3 folds."),
    ("neighbors over a fold", "n_neighbors=50 is larger than the 40 rows a CV fold trains on; "
                              "use at most 40 (or fewer folds, or more data)."),
    ("continuous target", "The target looks continuous"),
    ("text target for a regressor", "The target is not numeric; Ridge is a regressor: "
                                    "choose a classifier."),
    ("compare too large", "Compare with local runs in the app's own process, so it is limited "
                          "to 100 fits (search.compare-max-fits); this grid has 144."),
    ("too many rows", "This dataset has about 5,000,000 rows; a search loads its rows into "
                      "memory, up to 1,000,000 (search.max-rows). Search a sample: set the rows "
                      "to search to at most 1,000,000."),
    ("too large a sample", "A search loads its rows into memory, up to 1,000,000 "
                           "(search.max-rows); 2,000,000 rows to search is more."),
])
async def test_bad_data_is_refused_before_any_fit(runner, async_client, case, message):
    frame = small_frame(80)
    spec, features, target, options = SearchSpec(), FEATURES, "y", {}
    if case == "one class":
        frame["y"] = 1
    elif case == "text feature":
        frame["city"], features = "Paris", [*FEATURES, "city"]
    elif case == "missing feature":
        frame.loc[:2, "f1"] = np.nan
    elif case == "missing target":
        frame["y"] = frame["y"].astype(float)
        frame.loc[:1, "y"] = np.nan
    elif case == "folds over smallest class":
        frame["y"] = 0
        frame.loc[:2, "y"] = 1
        spec = SearchSpec(cv=5)
    elif case == "neighbors over a fold":
        spec = SearchSpec(estimator="KNeighborsClassifier", grid={"n_neighbors": [5, 50]})
    elif case == "continuous target":
        target, features = "f0", ["f1", "f2"]
    elif case == "text target for a regressor":
        frame["y"] = frame["y"].map({0: "no", 1: "yes"})
        spec = SearchSpec(estimator="Ridge", grid={"alpha": [1.0]})
    elif case == "compare too large":
        spec, options = SearchSpec(grid=dict(SEED_LARGE_GRID), cv=4), {"compare": True}
    elif case == "too many rows":
        options = {"rows_estimate": 5_000_000}
    elif case == "too large a sample":
        options = {"rows": 2_000_000, "rows_estimate": 5_000_000}
    job = await run(runner, lazy(frame), spec, target=target, features=features,
                    run_id=case.replace(" ", "-"), **options)
    assert job.status == "failed"
    assert message in job.error
    assert await fits_seen(async_client, case.replace(" ", "-")) == 0


async def test_text_features_can_be_one_hot_encoded(runner):
    ddf = lazy(small_frame(120, city=["Paris", "Lyon", "Nice"] * 40))
    job = await run(runner, ddf, SearchSpec(), features=[*FEATURES, "city"], encode=True)
    assert job.status == "done", job.error
    assert job.result.best_params is not None


async def test_a_huge_grid_asks_first_then_runs_when_confirmed(runner, async_client):
    spec = SearchSpec(grid=dict(SEED_LARGE_GRID), cv=2)
    with dask.config.set({"workbench.search.confirm-fits": 50}):
        job = await run(runner, lazy(small_frame(60)), spec, run_id="asked")
        assert job.status == "failed"
        assert job.error.startswith("36 candidates × 2 folds = 72 fits, roughly ")
        assert job.error.endswith(" on 2 worker threads. Run it anyway?")
        assert await fits_seen(async_client, "asked") == 0
        job = await run(runner, lazy(small_frame(60)), spec, confirmed=True, run_id="confirmed")
    assert job.status == "done", job.error
    assert job.result.done == 72
    assert await fits_seen(async_client, "confirmed") == 72  # the log does see fits


def test_the_question_shows_an_estimate_in_hours():
    assert confirmation_question(36, 5, 3 * 3600, 2) == (
        "36 candidates × 5 folds = 180 fits, roughly 3.0 h on 2 worker threads. "
        "Run it anyway?")
    assert confirmation_question(36, 5, 10, 2) is None


async def test_the_rows_go_from_workers_to_workers_never_through_the_server(runner,
                                                                            async_client):
    # Every key of the run was computed by a worker (went through "processing"): the
    # plan (rows, held-out split, folds) included; nothing was scattered from here.
    job = await run(runner, lazy(small_frame(200)), SearchSpec(holdout=0.25), run_id="where")
    assert job.status == "done", job.error
    assert job.result.refit is not None
    log = await async_client.run_on_scheduler(lambda dask_scheduler: [
        (str(t.key), t.start) for t in dask_scheduler.transition_log
        if str(t.key).startswith("search-where-")])
    keys = {key for key, _ in log}
    computed = {key for key, start in log if start == "processing"}
    assert {"search-where-plan", "search-where-refit"} <= computed
    assert keys == computed


async def test_compare_with_local_times_both_and_agrees(runner):
    job = await run(runner, lazy(small_frame(200)), SearchSpec(holdout=0.25), compare=True)
    assert job.status == "done", job.error
    results = job.result
    assert results.local.n_jobs == -1
    assert results.local.best_params == results.best_params
    assert results.local.best_score == pytest.approx(results.best_score, abs=1e-12)
    assert results.wall_time > 0 and results.local.wall_time > 0


# -- the rows searched: a seeded sample, rows without gaps --------------------------

async def test_a_sample_of_the_rows_is_searched_the_same_every_time(runner):
    frame = small_frame(1200)
    ddf = lazy(frame)
    spec = SearchSpec(grid={"C": [1.0, 10.0], "kernel": ["rbf"]})
    first = await run(runner, ddf, spec, rows=300, rows_estimate=1200)
    assert first.status == "done", first.error
    again = await run(runner, ddf, spec, rows=300, rows_estimate=1200)
    np.testing.assert_array_equal(first.result.scores, again.result.scores)
    # The rows are the seeded quarter the code shows: sample(frac=0.25, random_state=0).
    sample = ddf.sample(frac=sample_fraction(300, 1200), random_state=0).compute()
    assert 200 < len(sample) < 400 and len(sample) != len(frame)
    X, y, _ = prepare_data(sample, "y", FEATURES)
    expected = GridSearchCV(spec.kind.make(), spec.grid, cv=2).fit(X, y)
    assert_same_as_sklearn(first.result, expected)


def test_the_sample_fraction_is_the_one_the_code_shows():
    assert sample_fraction(10_000, 324_048) == 0.0309
    assert sample_fraction(10_000, 10_000) is None  # the seed's 10,000 rows: all of them
    assert sample_fraction(0, 10**9) is None and sample_fraction(500, None) is None


async def test_rows_with_gaps_are_dropped_when_asked(runner):
    frame = small_frame(200)
    frame.loc[:9, "f1"] = np.nan
    frame["y"] = frame["y"].astype(float)
    frame.loc[20:24, "y"] = np.nan
    job = await run(runner, lazy(frame), SearchSpec(), dropna=True)
    assert job.status == "done", job.error
    kept = frame.dropna()
    assert len(kept) == 185
    X, y, _ = prepare_data(kept, "y", FEATURES)
    expected = GridSearchCV(SearchSpec().kind.make(), SearchSpec().grid, cv=2).fit(X, y)
    assert_same_as_sklearn(job.result, expected)


def test_default_features_are_the_numeric_columns_but_the_target():
    dtypes = {"year": "int64", "dep_delay": "float64", "arr_delay": "float64",
              "carrier": "category", "tailnum": "string", "time_hour": "datetime64[us, UTC]",
              "flag": "bool", "n": "Int64"}
    assert default_features(dtypes, "arr_delay") == ["year", "dep_delay", "n"]
    frame = training_frame(lazy(small_frame(40)), "y", FEATURES, fraction=0.5, dropna=True)
    assert list(frame.columns) == [*FEATURES, "y"]


@pytest.mark.parametrize("dtype, sample, estimator", [
    ("float64", [12.0, -3.0, 4.0], "Ridge"),  # flights' arr_delay, taxi's tip_amount
    ("int64", [0, 1, 1, 0, 1], "RandomForestClassifier"),  # class codes repeat
    ("int64", [1545, 1714, 1141, 725, 461], "Ridge"),  # flight numbers: all different
    ("category", ["EWR", "JFK"], "RandomForestClassifier"),
    ("string", ["a", "b"], "RandomForestClassifier"),
    ("bool", [True, False], "RandomForestClassifier"),
    ("Int8", [1, None, 1], "RandomForestClassifier"),
])
def test_the_estimator_follows_the_kind_of_target(dtype, sample, estimator):
    assert default_estimator(dtype, sample) == estimator
    assert ESTIMATORS[estimator].task == target_task(dtype, sample)


async def test_the_row_cap_holds_when_the_size_is_not_known_yet(runner):
    # Run right after the rows changed: no summary yet (rows_estimate None). The rows
    # are counted on the cluster rather than all loaded (issue 18: 740 MB -> 2.3 GB).
    import dask.config
    import dask.dataframe as dd
    frame = pd.DataFrame({"x": np.arange(5000.0), "y": np.arange(5000) % 2})
    ddf = dd.from_pandas(frame, npartitions=5)
    spec = SearchSpec(estimator="LogisticRegression", grid={"C": [1.0]})
    with dask.config.set({"workbench.search.max-rows": 1000}):
        job = await run(runner, ddf, spec, target="y", features=["x"])
        assert job.status == "failed" and "This dataset has about 5,000 rows" in job.error
        job = await run(runner, ddf, spec, target="y", features=["x"], rows=800)
    assert job.status == "done", job.error
