"""The embedded LocalCluster's worker over its memory limit: its nanny restarts it, the
job fails at once with a sentence naming memory and what to try, and the tab runs again."""
from __future__ import annotations

import asyncio

import dask.config
import dask.dataframe as dd
import param

from dashboard.cluster import ClusterManager
from dashboard.datasets import Dataset
from tests.faults.conftest import FAST_WATCH
from tests.faults.tasks import hog
from tests.faults.test_worker_killed import frame
from tests.views.test_dataset_picker import settled
from tests.views.test_groupby import open_tab, use

LIMIT = "400MiB"  # a worker process with pandas loaded already holds ~180 MiB


class Hungry(Dataset):
    """Each partition (but the first, which the summary reads) needs 600 MiB."""
    kind = "hungry"
    name = param.String(default="hungry")

    def to_dask(self):
        return dd.from_pandas(frame(), npartitions=4).map_partitions(hog, 600 * 2**20)


async def test_worker_over_its_memory_limit_gets_a_sentence_naming_memory(catalog):
    # One failure is enough to give up on a task (the default, 3, retries it on
    # three more workers that die the same way).
    with dask.config.set({**FAST_WATCH, "distributed.scheduler.allowed-failures": 0}):
        manager = ClusterManager(cluster_kwargs={"n_workers": 1, "memory_limit": LIMIT})
        await manager.start()
        try:
            view = await open_tab(manager)
            use(view, Hungry())
            await settled(view.store)
            view.param.update(group_by=["k"], value_columns=["v"], agg="sum")
            job = await asyncio.wait_for(view.run(), 120)  # no hang

            assert job.status == "failed"
            assert view.error.startswith("A worker ran out of memory running this job: it "
                                         "reached ")
            assert "of its memory limit of 400.00 MiB, and was restarted." in view.error
            assert ("Try a smaller dataset or tighter filters, more workers (or more memory "
                    "per worker), or the data as Parquet") in view.error
            assert view.busy is False and view.can_run is True

            # The restarted worker takes the next query.
            view.store.dataset_name = "nyc-flights"
            await settled(view.store)
            assert (await asyncio.wait_for(view.run(), 120)).status == "done"
            assert view.error == ""
        finally:
            await manager.close()
