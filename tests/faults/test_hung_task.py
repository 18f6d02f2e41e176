"""A task that never returns (time.sleep(600) on a worker): Cancel frees the tab at once
and the cluster soon after (no task left on the scheduler, and the next run runs)."""
from __future__ import annotations

import asyncio

import dask.config
import dask.dataframe as dd
import param
import pytest

from dashboard.cluster import ClusterManager
from dashboard.datasets import Dataset
from dashboard.datasets.classification import ClassificationDataset
from dashboard.store import SessionStore
from dashboard.views.model_search import ModelSearchView
from tests.conftest import ProcessCluster
from tests.faults.tasks import hang
from tests.faults.test_worker_killed import frame, until
from tests.views.test_dataset_picker import settled
from tests.views.test_groupby import open_tab, use


class HungGroups(Dataset):
    """Its first partition reads (the summary works); every other one hangs."""
    kind = "hung-groups"
    name = param.String(default="hung-groups")

    def to_dask(self):
        return dd.from_pandas(frame(), npartitions=4).map_partitions(hang)


class HungClassification(ClassificationDataset):
    """make_classification whose later partitions hang: a search stuck loading its data."""
    kind = "hung-classification"
    name = param.String(default="hung-classification")

    def to_dask(self):
        return super().to_dask().map_partitions(hang)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Its own ``dask scheduler`` and ``dask worker`` processes, as a shared cluster is:
    a hung thread must not reach another module's tests. (Not a LocalCluster: it closes
    a nanny restarting its worker 15 s after that worker last left, which the app's
    own cluster heals, tests/cluster/test_manager.py, but a shared one would not.)"""
    cluster = ProcessCluster(tmp_path_factory.mktemp("hung"), n_workers=2).start()
    yield cluster
    cluster.stop()


@pytest.fixture
async def manager(cluster, catalog):
    # A worker still running cancelled work is restarted 2 s after Cancel (10 s by default);
    # this cluster is reached by address, as a shared one is: restarting must be allowed.
    with dask.config.set({"workbench.jobs.restart-stuck-after": 2,
                          "workbench.jobs.restart-stuck-workers": "always"}):
        manager = ClusterManager(address=cluster.address)
        await manager.start()
        yield manager
        await manager.close()


async def hung_tasks(manager) -> int:
    """Tasks of the hanging function the scheduler still holds."""
    return await manager.client.run_on_scheduler(
        lambda dask_scheduler: sum("hang" in str(key) for key in dask_scheduler.tasks))


async def executing(manager, hung_only: bool = False) -> int:
    """Worker threads busy right now (on the hanging function only, if asked)."""
    counts = await manager.client.run(lambda dask_worker: sum(
        not hung_only or "hang" in str(ts.key) for ts in dask_worker.state.executing))
    return sum(counts.values())


async def wait_for_zero(what, probe) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while await probe():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


async def test_cancel_a_hung_groupby_frees_the_tab_and_the_cluster(manager):
    view = await open_tab(manager)
    use(view, HungGroups())
    await settled(view.store)
    view.param.update(group_by=["k"], value_columns=["v"], agg="sum")
    running = asyncio.ensure_future(view.run())
    await until(lambda: view.job is not None and view.job.status == "running", "the run")
    await wait_for_zero("both workers stuck", lambda: _below(executing(manager, True), 2))
    assert view.busy is True  # Cancel offered

    view.param.trigger("cancel_clicked")  # as the Cancel button does
    job = await asyncio.wait_for(running, 10)
    assert job.status == "cancelled"
    assert view.busy is False and view.can_run is True
    await wait_for_zero("the scheduler dropping the hung tasks", lambda: hung_tasks(manager))
    await wait_for_zero("both workers back, no thread on the hung tasks",
                        lambda: _not_freed(manager))

    view.store.dataset_name = "nyc-flights"
    await settled(view.store)
    assert (await asyncio.wait_for(view.run(), 60)).status == "done"


async def test_cancel_a_search_stuck_loading_frees_the_tab_and_the_cluster(manager):
    picker = SessionStore(manager=manager)
    await settled(picker)
    dataset = HungClassification(n_samples=400)
    picker.choose(dataset)
    await settled(picker)
    view = ModelSearchView(store=picker)
    await until(lambda: view.target == "y", "the target")
    running = asyncio.ensure_future(view.run())
    await until(lambda: view.job is not None and view.job.status == "running", "the run")
    await wait_for_zero("both workers stuck", lambda: _below(executing(manager, True), 2))

    assert view.busy is True  # Cancel offered
    view.param.trigger("cancel_clicked")  # as the Cancel button does
    job = await asyncio.wait_for(running, 10)
    assert job.status == "cancelled"
    assert view.busy is False
    await wait_for_zero("the scheduler dropping the hung tasks", lambda: hung_tasks(manager))
    await wait_for_zero("both workers back, no thread on the hung tasks",
                        lambda: _not_freed(manager))

    # Other rows than the hung data's: its keys may still be on their way out.
    picker.dataset_name = "classification"
    picker.dataset.n_samples = 300
    await until(lambda: picker.summary is not None and not picker.loading
                and picker.summary.rows_estimate == 300 or picker.error, "the summary")
    assert picker.error == ""
    again = await asyncio.wait_for(view.run(), 60)
    assert again.status == "done", again.error


async def _below(count, n: int) -> bool:
    return await count < n


async def _not_freed(manager) -> bool:
    """Still a thread on the hung tasks, or a restarted worker not back yet (work sent
    to the cluster while a worker restarts can come back cancelled)."""
    # One call: a worker restarting between two calls fails the second ("connection refused").
    hung = await manager.client.run(lambda dask_worker: sum(
        "hang" in str(ts.key) for ts in dask_worker.state.executing), on_error="return")
    return sum(v == 0 for v in hung.values()) < 2
