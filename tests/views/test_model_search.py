"""The Model search tab driven without a browser, against a real cluster."""
from __future__ import annotations

import asyncio

import dask.config
import pandas as pd
import pytest

from dashboard.cluster import ClusterManager
from dashboard.compute.estimators import ESTIMATORS
from dashboard.compute.groupby import is_number_dtype
from dashboard.jobs import CACHE
from dashboard.store import SessionStore
from dashboard.views import model_search_form as form
from dashboard.views.model_search import ModelSearchView
from tests.views.page import buttons, layout, shown

SMALL, LARGE = "Seed small grid (2 × 2)", "Seed large grid (36 candidates)"


async def until(predicate, what: str, timeout: float = 60) -> None:
    """Wait (bounded) for ``predicate``: summaries and runs land on their own."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def view(local_cluster, tmp_path):
    manager = ClusterManager(address=local_cluster.scheduler_address)
    await manager.start()
    CACHE.clear()
    with dask.config.set({"workbench.datasets.catalog": str(tmp_path / "catalog.yml")}):
        store = SessionStore(manager=manager)
        view = ModelSearchView(store=store)
        yield view
    await view.store.jobs.close()
    await manager.close()


async def seed_preset(view: ModelSearchView, preset: str, n_samples: int) -> None:
    """The seed's preset on fewer rows, so the test stays fast."""
    view.apply_preset(preset)
    view.store.dataset.n_samples = n_samples
    await until(lambda: view.store.summary is not None and not view.store.loading
                and view.store.summary.rows_estimate == n_samples, "the summary")
    await until(lambda: view.target == "y", "the target")


def best_text(view: ModelSearchView) -> str:
    return view.best_text


async def test_seed_preset_runs_and_fills_in_live(view):
    await seed_preset(view, SMALL, 400)
    assert (view.estimator, view.cv, view.holdout) == ("SVC", 2, 0.0)
    assert view.features == ["f0", "f1", "f2", "f3"]
    updates = []
    view.param.watch(lambda e: updates.append(e.new.done if e.new else None), "results")
    job = await view.run()
    assert job.status == "done", job.error
    shown_done = [u for u in updates if u is not None]
    assert shown_done[0] < 8 and shown_done[-1] == 8  # live: shown before the last fit
    assert shown_done == sorted(shown_done)
    assert '**Best parameters** `{"C": 10.0, "kernel": "rbf"}`' in best_text(view)
    assert "**Best score** 0." in best_text(view)
    table = view.table
    assert len(table) == 4 and (table["status"] == "done").all()
    assert (view.heat_x, view.heat_y) == ("C", "kernel")
    assert view.progress_text == "8 / 8 fits done"
    assert view.busy is False
    # The page shows the same: the best candidate, the heatmap's cells, the table, the
    # progress line; every action offered but Cancel.
    page = layout(view)
    assert shown(page, "search-best").object == view.best_text
    assert len(shown(page, "search-heatmap").object.data) == 4
    assert shown(page, "search-table").value.equals(table)
    assert shown(page, "search-progress-text").object == "8 / 8 fits done"
    assert buttons(page) == {form.SEED_SMALL: False, form.SEED_LARGE: False,
                             "Run search": False, "Cancel": True, "Compare with local": False}
    assert view.store.jobs.history[0] is job and job.title.startswith("GridSearchCV(SVC(")


async def test_many_fast_fits_redraw_a_few_times_a_second_and_end_complete(view):
    # 60 candidates x 2 folds of a tiny ridge: fits land far faster than a page redraws.
    await seed_preset(view, SMALL, 200)
    view.param.update(estimator="Ridge")
    await until(lambda: view.target == "y", "the target")
    view.grid.param.update(alpha=", ".join(str(a / 10) for a in range(1, 61)))
    draws = []
    view.param.watch(lambda e: draws.append(e.new.done if e.new else None), "results")
    started = asyncio.get_running_loop().time()
    job = await view.run(confirmed=True)
    seconds = asyncio.get_running_loop().time() - started
    assert job.status == "done", job.error
    assert job.result.done == 120
    draws = [d for d in draws if d is not None]
    assert draws[-1] == 120 and view.progress_text == "120 / 120 fits done"
    assert len(draws) <= 4 * seconds + 3, (len(draws), seconds)  # updates-per-second: 4
    assert len(view.table) == 60 and (view.table["status"] == "done").all()


async def test_held_out_refit_and_compare_with_local(view):
    await seed_preset(view, SMALL, 300)
    view.holdout = 0.25
    said = []  # what the progress line said: never silent while the local run works
    view.param.watch(lambda e: said.append(e.new), "progress_text")
    job = await view.compare()
    assert job.status == "done", job.error
    assert any("Now scikit-learn fits the same" in s for s in said), said[-6:]
    assert "**Held-out score of the refit best model** 0." in best_text(view)
    comparison = view.comparison_text
    assert "**Local** (scikit-learn, n_jobs=-1)" in comparison and "**Speedup**" in comparison
    assert "**Same best candidate and score:** yes" in comparison


async def test_bad_input_is_an_alert_and_nothing_runs(view):
    await seed_preset(view, SMALL, 300)
    view.grid.C = "-1, 10"
    assert await view.run() is None
    assert view.error.startswith("SVC cannot take C=-1.0: The 'C' parameter of SVC must be")
    assert shown(layout(view), "search-error").alert_type == "danger"
    assert view.store.jobs.history == []

    view.grid.C = "10"
    view.param.update(target="f2", features=["f0"])  # a continuous target...
    assert view.estimator == "Ridge"  # ...calls for a regressor; a classifier is refused
    view.estimator = "SVC"
    view.grid.C = "10"
    job = await view.run()
    assert job.status == "failed" and "The target looks continuous" in view.error


async def test_regressors_follow_a_numeric_target(view):
    await seed_preset(view, SMALL, 300)
    view.target = "f0"
    assert "Ridge" in view.param.estimator.objects and "f0" not in view.features
    assert view.estimator == "Ridge"  # a continuous target: the default regressor
    assert view.scoring == "r2" and "alpha" in view.entries()
    job = await view.run()
    assert job.status == "done", job.error
    assert "(r2, mean over 2 folds)" in best_text(view)


async def test_a_huge_grid_asks_then_runs_anyway(view):
    await seed_preset(view, LARGE, 200)
    with dask.config.set({"workbench.search.confirm-fits": 20}):
        view.param.trigger("compare_clicked")  # as the button does
        await until(lambda: view.job is not None and view.job.finished and not view.busy,
                    "the question")
        assert view.job.status == "failed" and view.error == ""
        assert view.question.startswith("36 candidates × 2 folds = 72 fits, roughly")
        page = layout(view)
        assert buttons(page)["Run anyway"] is False
        asked = view.job
        view.param.trigger("confirm_clicked")  # Run anyway
        await until(lambda: view.job is not asked and view.job.finished and not view.busy,
                    "the search run anyway", 120)
    job = view.job
    assert job.status == "done", job.error
    assert "Run anyway" not in buttons(page)
    assert view.question == "" and view.results.done == 72
    assert view.results.local is not None  # "Run anyway" ran what was asked: the comparison


async def test_cancel_from_the_tab(view):
    await seed_preset(view, LARGE, 3000)
    view.cv = 3
    page = layout(view)
    run = asyncio.create_task(view.run(confirmed=True))
    await until(lambda: view.results is not None and view.results.done >= 1, "a first fit", 120)
    assert view.busy is True
    assert buttons(page) == {form.SEED_SMALL: True, form.SEED_LARGE: True,
                             "Run search": True, "Cancel": False, "Compare with local": True}
    view.param.trigger("cancel_clicked")  # as the Cancel button does
    job = await run
    assert job.status == "cancelled"
    assert job.error == "Search cancelled; the remaining fits were dropped."
    assert view.results.done < 108
    assert view.busy is False and buttons(page)["Run search"] is False
    assert buttons(page)["Cancel"] is True


# -- defaults that work on every dataset -------------------------------------------

@pytest.mark.parametrize("dataset, task", [
    ("nyc-flights", "regression"), ("nyc-taxi", "regression"), ("timeseries", "regression"),
    ("classification", "classification")])
async def test_a_fresh_tab_runs_with_its_defaults_on_every_builtin_dataset(view, dataset, task):
    layout(view)  # as on a page: widgets made from the params write back to them
    view.store.dataset_name = dataset
    job = await view.run()  # at once: Run waits for the dataset's columns itself
    assert job.status == "done", job.error
    summary = view.store.summary
    assert view.target == view.store.dataset.target
    assert ESTIMATORS[view.estimator].task == task
    assert view.features and view.target not in view.features
    assert all(is_number_dtype(summary.columns[f]) for f in view.features)
    assert view.results.best_params is not None and not view.results.errors
    # About 10,000 rows are searched, a seeded sample of the larger datasets.
    assert (".sample(frac=" in view.code) is (summary.rows_estimate > view.rows)
    assert job.title.startswith(f"GridSearchCV({view.estimator}(")


async def test_a_catalog_dataset_with_a_text_target_and_gaps_runs_with_its_defaults(
        view, tmp_path):
    n = 240
    pd.DataFrame({
        "when": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
        "city": ["Paris", "Lyon", "Nice"] * (n // 3),
        "amount": [float(i % 17) if i % 25 else None for i in range(n)],
        "visits": [i % 7 for i in range(n)],
        "label": ["yes", "no", "no", "yes"] * (n // 4),
    }).to_csv(tmp_path / "shop.csv", index=False)
    (tmp_path / "catalog.yml").write_text(
        f"datasets:\n  shop: {{path: {tmp_path / 'shop.csv'}, target: label}}\n")
    view.store.reload(select="shop")
    job = await view.run()
    assert job.status == "done", job.error
    # Classes on raw scales: a forest (the seed grid's poly SVC would never converge).
    assert (view.target, view.estimator) == ("label", "RandomForestClassifier")
    assert view.features == ["amount", "visits"]  # not the text, not the dates
    assert view.results.best_params is not None


# -- the seed buttons set everything, whenever the columns arrive ----------------------

SEED_ENTRIES = {"C": "0.001, 10.0", "kernel": ["rbf", "poly"], "shrinking": [], "gamma": "",
                "degree": ""}


def assert_seed_settings(view: ModelSearchView) -> None:
    assert view.store.dataset_name == "classification"
    assert (view.estimator, view.cv, view.scoring, view.holdout, view.rows, view.encode,
            view.dropna) == ("SVC", 2, "accuracy", 0.0, 0, False, True)
    assert view.entries() == SEED_ENTRIES


async def columns(view: ModelSearchView) -> None:
    await until(lambda: view.store.summary is not None and view.target == "y", "the columns")


async def test_seed_button_sets_everything_when_the_columns_arrive_after_it(view):
    await until(lambda: view.target == "arr_delay", "the flights' columns")
    view.param.update(holdout=0.3, rows=500, cv=5, encode=True, dropna=False)
    view.param.trigger("seed_small_clicked")  # as the preset's button does
    assert_seed_settings(view)  # at once, though the columns are still being read
    await columns(view)
    assert_seed_settings(view)  # and still, after the new schema picked its defaults
    assert view.features == ["f0", "f1", "f2", "f3"]
    assert "GridSearchCV(SVC(gamma='auto', probability=True, random_state=0)," in view.code


async def test_seed_button_sets_everything_when_the_columns_are_there(view):
    view.store.dataset_name = "classification"
    await columns(view)
    view.param.update(holdout=0.25, rows=50, target="f0")
    view.apply_preset(SMALL)
    assert view.store.summary is not None  # nothing to wait for: all set now
    assert_seed_settings(view)
    assert (view.target, view.features) == ("y", ["f0", "f1", "f2", "f3"])


async def test_seed_button_clicked_while_the_columns_are_read(view):
    view.store.dataset_name = "classification"
    view.param.trigger("seed_large_clicked")
    await columns(view)
    assert view.store.dataset_name == "classification"
    assert view.entries()["shrinking"] == [True, False] and view.holdout == 0.0


async def test_seed_small_grid_then_run_at_once_reproduces_the_workshop(view):
    await until(lambda: view.target == "arr_delay", "the flights' columns")
    view.apply_preset(SMALL)
    job = await view.run()  # before the seed data's columns have arrived
    assert job.status == "done", job.error
    assert job.settings["search"]["holdout"] == 0.0 and job.settings["search"]["rows"] == 0
    assert job.settings["options"]["n_samples"] == 10_000
    assert view.results.best_params == {"C": 10.0, "kernel": "rbf"}
    assert round(view.results.best_score, 4) == 0.9086
    assert "**Best score** 0.9086 (accuracy, mean over 2 folds)" in best_text(view)


# -- every setting in view: the fixed ones, and the search as code ----------------------

async def test_every_fixed_setting_is_shown_and_the_code_follows_the_form(view):
    await seed_preset(view, SMALL, 300)
    fixed = form.fixed_settings(ESTIMATORS["SVC"])
    for setting in ("gamma='auto'", "probability=True", "random_state=0"):
        assert f"`{setting}`" in fixed
    editor = form.grid_editor(ESTIMATORS["SVC"], view.grid)
    placeholders = {w.name.lower(): w.placeholder for w in editor.layout}
    assert placeholders["gamma"] == "not searched: 'auto' (fixed)"
    assert placeholders["c"] == "not searched: 1.0 (scikit-learn's default)"

    view.grid.C = "1, 1e1"
    assert "{'C': [1.0, 10.0], 'kernel': ['rbf', 'poly']}" in view.code
    view.grid.C = "1, oops("
    assert view.code == "# A grid entry cannot be read yet." and "oops" not in view.code
    view.grid.C = "10"
    view.param.update(holdout=0.25, rows=100)
    assert ".sample(frac=0.333, random_state=0).dropna().compute()" in view.code
    assert "test_size=0.25, random_state=0, stratify=y)" in view.code
    view.target = "f0"
    assert "GridSearchCV(Ridge(), {'alpha': [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]}" \
        in view.code.replace("\n", " ").replace("  ", "")
