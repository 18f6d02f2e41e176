"""The session store and its picker against a real cluster: summaries, errors, adding
and converting, all through the session's job runner."""
from __future__ import annotations

import asyncio

import dask.config

import pandas as pd
from distributed import get_task_stream

from dashboard.cache import CACHE
from dashboard.cluster import ClusterManager
from dashboard.store import SessionStore
from dashboard.views import DatasetPicker
from tests.conftest import ProcessCluster, free_port


async def settled(store: SessionStore, timeout: float = 60) -> None:
    """Wait for the store's latest summary (choices schedule their own refresh)."""
    await asyncio.sleep(0)
    deadline = asyncio.get_running_loop().time() + timeout
    while store.loading or (store.summary is None and not store.error):
        assert asyncio.get_running_loop().time() < deadline, "summary never arrived"
        await asyncio.sleep(0.05)


async def test_picker_summarises_the_chosen_dataset(manager, catalog):
    picker = SessionStore(manager=manager)
    assert picker.dataset_name == "nyc-flights"
    assert {"nyc-flights", "nyc-taxi", "timeseries", "classification"} <= set(
        picker.param.dataset_name.objects)
    await settled(picker)
    assert picker.error == "" and picker.summary.npartitions == 12
    assert "dep_delay" in picker.summary.columns

    picker.dataset_name = "nyc-taxi"
    picker.dataset.rows = 2_000_000
    await settled(picker)
    assert picker.summary.npartitions == 2
    assert picker.summary.rows_estimate == 2_000_000


async def test_add_convert_and_bad_input(manager, catalog, tmp_path):
    pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]}).to_csv(tmp_path / "small.csv",
                                                                index=False)
    store = SessionStore(manager=manager)
    picker = DatasetPicker(store=store)

    # A path that does not exist: a sentence, nothing saved, the picker still works.
    picker.param.update(new_name="missing", new_path=str(tmp_path / "nope.csv"))
    await picker.add_dataset()
    assert not catalog.exists() or "missing" not in catalog.read_text()
    assert "missing" not in store.param.dataset_name.objects and not picker.busy

    job = await store.add("small", str(tmp_path / "small.csv"), "csv")
    assert job.status == "done", job.error
    assert "small" in catalog.read_text()
    assert store.dataset_name == "small"
    await settled(store)
    assert store.summary.rows_estimate == 3

    # A duplicate name is refused and the catalog is untouched.
    before = catalog.read_bytes()
    job = await store.add("small", str(tmp_path / "small.csv"), "csv")
    assert job.status == "failed" and "small" in job.error
    assert catalog.read_bytes() == before

    job = await store.convert()
    assert job.status == "done", job.error
    assert store.dataset_name == "small-parquet"
    await settled(store)
    assert store.error == "" and store.summary.rows_estimate == 3
    # The form's work went through the session's job path and left nothing running.
    assert store.jobs.running("add") is None and store.jobs.running("convert") is None


async def test_the_add_button_adds_through_the_form(manager, catalog, tmp_path):
    # As a user does it: fill the form, press Add (the picker's ``add`` event).
    pd.DataFrame({"k": ["a"], "v": [1]}).to_csv(tmp_path / "one.csv", index=False)
    store = SessionStore(manager=manager)
    picker = DatasetPicker(store=store)
    await settled(store)
    picker.param.update(new_name="one", new_path=str(tmp_path / "one.csv"), new_format="csv")
    picker.param.trigger("add")
    deadline = asyncio.get_running_loop().time() + 60
    while store.dataset_name != "one":
        assert asyncio.get_running_loop().time() < deadline, "the dataset was never added"
        await asyncio.sleep(0.05)
    await settled(store)
    assert store.summary.rows_estimate == 1 and picker.new_name == "" and not picker.busy


async def test_pages_choosing_one_dataset_read_its_first_partition_once(
        manager, catalog, tmp_path):
    # What the picker's own guard did, now the one cache's rule: pages asking for the
    # same summary meanwhile share one read, and a repeated refresh joins it.
    for name in ("one", "many"):
        pd.DataFrame({"k": ["a", "b"] * 50, "v": range(100)}).to_csv(tmp_path / f"{name}.csv",
                                                                   index=False)
    catalog.write_text("datasets:\n" + "".join(
        f"  {name}: {{path: {tmp_path / name}.csv, format: csv}}\n" for name in ("one", "many")))
    pages = [SessionStore(manager=manager) for _ in range(5)]
    for page in pages:
        await settled(page)

    async def tasks_run(pickers, name) -> int:
        async with get_task_stream(manager.client) as stream:
            for picker in pickers:
                picker.dataset_name = name
            await pickers[0].refresh()  # the same summary asked for again meanwhile
            for picker in pickers:
                await settled(picker)
        assert {p.summary.rows_estimate for p in pickers} == {100}
        return len(stream.data)

    alone = await tasks_run(pages[:1], "one")
    assert alone > 0
    assert await tasks_run(pages, "many") == alone
    # A page opened afterwards reads nothing: the figures were kept.
    later = SessionStore(manager=manager)
    await settled(later)
    assert await tasks_run([later], "many") == 0


async def test_a_rewritten_file_is_summarised_again(manager, catalog, tmp_path):
    pd.DataFrame({"k": ["a"] * 3}).to_csv(tmp_path / "grows.csv", index=False)
    catalog.write_text(f"datasets:\n  grows: {{path: {tmp_path / 'grows.csv'}, format: csv}}\n")
    picker = SessionStore(manager=manager)
    picker.dataset_name = "grows"
    await settled(picker)
    assert picker.summary.rows_estimate == 3
    pd.DataFrame({"k": ["a"] * 7}).to_csv(tmp_path / "grows.csv", index=False)
    picker.reload()  # a fresh read of the catalog, as a new page gets
    await settled(picker)
    assert picker.summary.rows_estimate == 7


async def test_bad_catalog_entry_is_reported_and_others_still_listed(manager, catalog):
    catalog.write_text("datasets:\n  typo:\n    path: x.csv\n    fromat: csv\n")
    picker = SessionStore(manager=manager)
    assert any("fromat" in p for p in picker.catalog_problems)
    assert "nyc-flights" in picker.param.dataset_name.objects


async def test_hosted_convert_is_offered_nowhere_and_refused(manager, catalog, tmp_path):
    # Converting writes files and adds an entry: when adding is off, so is converting.
    pd.DataFrame({"k": ["a"], "v": [1]}).to_csv(tmp_path / "team.csv", index=False)
    catalog.write_text(f"datasets:\n  team: {{path: {tmp_path / 'team.csv'}, format: csv}}\n")
    with dask.config.set({"workbench.datasets.allow-add": False}):
        store = SessionStore(manager=manager)
        picker = DatasetPicker(store=store)
        store.dataset_name = "team"
        await settled(store)
        shown = str(picker.__panel__())
        assert "Convert to Parquet" not in shown and "Add dataset" not in shown
        before = catalog.read_bytes()
        await picker.convert_dataset()
        job = await store.convert()  # the store checks again, whatever the page showed
        assert job.status == "failed" and "turned off" in job.error
        job = await store.add("x", str(tmp_path / "team.csv"), "csv")
        assert job.status == "failed" and "turned off" in job.error
        assert catalog.read_bytes() == before
        assert not [p for p in tmp_path.rglob("*") if "parquet" in p.name]
        assert store.dataset_name == "team"


async def test_a_page_opened_before_the_cluster_reads_its_dataset_once_it_is_up(catalog, tmp_path):
    # A page opened while the scheduler is unreachable says so; when the scheduler
    # comes up, the summary arrives by itself (and with it the tabs' Run buttons).
    port = free_port()
    with dask.config.set({"workbench.connection.timeout": 1,
                          "workbench.connection.check-interval": 0.5}):
        manager = ClusterManager(address=f"tcp://127.0.0.1:{port}")
        CACHE.clear()  # a summary kept from an earlier read would be shown meanwhile
        try:
            picker = SessionStore(manager=manager)
            await settled(picker)
            assert picker.summary is None and "Cannot reach" in picker.error
            cluster = ProcessCluster(tmp_path, n_workers=1, port=port)
            await asyncio.to_thread(cluster.start)
            try:
                deadline = asyncio.get_running_loop().time() + 60
                while picker.summary is None:
                    assert asyncio.get_running_loop().time() < deadline, picker.error
                    await asyncio.sleep(0.1)
                assert picker.summary.npartitions == 12 and picker.error == ""
            finally:
                await asyncio.to_thread(cluster.stop)
        finally:
            await manager.close()


async def test_a_classification_too_big_for_a_worker_gets_a_sentence(manager, catalog):
    # As a link would ask: ?dataset=classification&n_samples=10000000&n_features=1000.
    store = SessionStore(manager=manager)
    store.dataset_name = "classification"
    store.dataset.param.update(n_samples=10_000_000, n_features=1000)
    await settled(store)
    assert store.summary is None
    assert "74.58 GiB in memory" in store.error and "fewer rows or features" in store.error
    store.dataset.param.update(n_samples=1_000, n_features=4)  # the page stays usable
    await settled(store)
    assert store.error == "" and store.summary.rows_estimate == 1_000
