"""The Model search tab driven without a browser, against a real cluster."""
from __future__ import annotations

import asyncio

import dask.config
import pytest

from dashboard.cluster import ClusterManager
from dashboard.jobs import CACHE, JobRunner
from dashboard.views import DatasetPicker
from dashboard.views.model_search import ModelSearchView

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
        picker = DatasetPicker(manager=manager)
        view = ModelSearchView(datasets=picker, jobs=JobRunner(manager=manager))
        yield view
    await view.jobs.close()
    await manager.close()


async def seed_preset(view: ModelSearchView, preset: str, n_samples: int) -> None:
    """The seed's preset on fewer rows, so the test stays fast."""
    view.apply_preset(preset)
    view.datasets.dataset.n_samples = n_samples
    await until(lambda: view.datasets.summary is not None and not view.datasets.loading
                and view.datasets.summary.rows_estimate == n_samples, "the summary")
    await until(lambda: view.target == "y", "the target")


def best_text(view: ModelSearchView) -> str:
    return view._best()[0].object


async def test_seed_preset_runs_and_fills_in_live(view):
    await seed_preset(view, SMALL, 400)
    assert (view.estimator, view.cv, view.holdout) == ("SVC", 2, 0.0)
    assert view.features == ["f0", "f1", "f2", "f3"]
    updates = []
    view.param.watch(lambda e: updates.append(e.new.done if e.new else None), "results")
    job = await view.run()
    assert job.status == "done", job.error
    assert [u for u in updates if u is not None][:8] == list(range(1, 9))  # one per fit, live
    assert '**Best parameters** `{"C": 10.0, "kernel": "rbf"}`' in best_text(view)
    assert "**Best score** 0." in best_text(view)
    table = view._table.value
    assert len(table) == 4 and (table["status"] == "done").all()
    assert len(view._heatmap.object.data) == 4
    assert (view.heat_x, view.heat_y) == ("C", "kernel")
    assert view._progress.visible and view._progress_text.object == "8 / 8 fits done"
    assert not view._buttons["Run search"].disabled and view._buttons["Cancel"].disabled
    assert view.jobs.history[0] is job and job.title.startswith("GridSearchCV(SVC(")


async def test_held_out_refit_and_compare_with_local(view):
    await seed_preset(view, SMALL, 300)
    view.holdout = 0.25
    job = await view.compare()
    assert job.status == "done", job.error
    assert "**Held-out score of the refit best model** 0." in best_text(view)
    comparison = view._best()[1].object
    assert "**Local** (scikit-learn, n_jobs=-1)" in comparison and "**Speedup**" in comparison
    assert "**Same best candidate and score:** yes" in comparison


async def test_bad_input_is_an_alert_and_nothing_runs(view):
    await seed_preset(view, SMALL, 300)
    view.grid.C = "-1, 10"
    assert await view.run() is None
    assert view.error.startswith("SVC cannot take C=-1.0: The 'C' parameter of SVC must be")
    assert view._messages().alert_type == "danger"
    assert view.jobs.history == []

    view.grid.C = "10"
    view.param.update(target="f2", features=["f0"])  # a continuous target for a classifier
    job = await view.run()
    assert job.status == "failed" and "The target looks continuous" in view.error


async def test_regressors_follow_a_numeric_target(view):
    await seed_preset(view, SMALL, 300)
    view.target = "f0"
    assert "Ridge" in view.param.estimator.objects and "f0" not in view.features
    view.estimator = "Ridge"
    assert view.scoring == "r2" and "alpha" in view.entries()
    job = await view.run()
    assert job.status == "done", job.error
    assert "(r2, mean over 2 folds)" in best_text(view)


async def test_a_huge_grid_asks_then_runs_anyway(view):
    await seed_preset(view, LARGE, 200)
    with dask.config.set({"workbench.search.confirm-fits": 20}):
        job = await view.compare()
        assert job.status == "failed" and view.error == ""
        assert view.question.startswith("36 candidates × 2 folds = 72 fits, roughly")
        assert view._messages()[1] is view._buttons["Run anyway"]
        job = await view.run_confirmed()
    assert job.status == "done", job.error
    assert view.question == "" and view.results.done == 72
    assert view.results.local is not None  # "Run anyway" ran what was asked: the comparison


async def test_cancel_from_the_tab(view):
    await seed_preset(view, LARGE, 3000)
    view.cv = 3
    run = asyncio.create_task(view.run(confirmed=True))
    await until(lambda: view.results is not None and view.results.done >= 1, "a first fit", 120)
    assert view._buttons["Run search"].disabled and not view._buttons["Cancel"].disabled
    await view.cancel()
    job = await run
    assert job.status == "cancelled"
    assert job.error == "Search cancelled; the remaining fits were dropped."
    assert view.results.done < 108
    assert not view._buttons["Run search"].disabled and view._buttons["Cancel"].disabled
