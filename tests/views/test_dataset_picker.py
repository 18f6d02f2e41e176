"""The dataset picker against a real cluster: summaries, errors, adding and converting."""
from __future__ import annotations

import asyncio

import dask.config

import pandas as pd
from distributed import get_task_stream

from dashboard.cluster import ClusterManager
from dashboard.views import DatasetPicker
from tests.conftest import ProcessCluster, free_port


async def settled(picker: DatasetPicker, timeout: float = 60) -> None:
    """Wait for the picker's latest summary (choices schedule their own refresh)."""
    await asyncio.sleep(0)
    deadline = asyncio.get_running_loop().time() + timeout
    while picker.loading or (picker.summary is None and not picker.error):
        assert asyncio.get_running_loop().time() < deadline, "summary never arrived"
        await asyncio.sleep(0.05)


async def test_picker_summarises_the_chosen_dataset(manager, catalog):
    picker = DatasetPicker(manager=manager)
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
    picker = DatasetPicker(manager=manager)

    # A path that does not exist: a sentence, nothing saved, the picker still works.
    picker.param.update(new_name="missing", new_path=str(tmp_path / "nope.csv"))
    await picker.add_dataset()
    assert not catalog.exists() or "missing" not in catalog.read_text()
    assert "missing" not in picker.param.dataset_name.objects

    picker.param.update(new_name="small", new_path=str(tmp_path / "small.csv"), new_format="csv")
    await picker.add_dataset()
    assert "small" in catalog.read_text()
    assert picker.dataset_name == "small"
    await settled(picker)
    assert picker.summary.rows_estimate == 3

    # A duplicate name is refused and the catalog is untouched.
    before = catalog.read_bytes()
    picker.param.update(new_name="small", new_path=str(tmp_path / "small.csv"))
    await picker.add_dataset()
    assert catalog.read_bytes() == before

    await picker.convert()
    assert picker.dataset_name == "small-parquet"
    await settled(picker)
    assert picker.error == "" and picker.summary.rows_estimate == 3


async def test_pages_choosing_one_dataset_read_its_first_partition_once(
        manager, catalog, tmp_path):
    # What the picker's own guard did, now the one cache's rule: pages asking for the
    # same summary meanwhile share one read, and a repeated refresh joins it.
    for name in ("one", "many"):
        pd.DataFrame({"k": ["a", "b"] * 50, "v": range(100)}).to_csv(tmp_path / f"{name}.csv",
                                                                   index=False)
    catalog.write_text("datasets:\n" + "".join(
        f"  {name}: {{path: {tmp_path / name}.csv, format: csv}}\n" for name in ("one", "many")))
    pages = [DatasetPicker(manager=manager) for _ in range(5)]
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
    later = DatasetPicker(manager=manager)
    await settled(later)
    assert await tasks_run([later], "many") == 0


async def test_a_rewritten_file_is_summarised_again(manager, catalog, tmp_path):
    pd.DataFrame({"k": ["a"] * 3}).to_csv(tmp_path / "grows.csv", index=False)
    catalog.write_text(f"datasets:\n  grows: {{path: {tmp_path / 'grows.csv'}, format: csv}}\n")
    picker = DatasetPicker(manager=manager)
    picker.dataset_name = "grows"
    await settled(picker)
    assert picker.summary.rows_estimate == 3
    pd.DataFrame({"k": ["a"] * 7}).to_csv(tmp_path / "grows.csv", index=False)
    picker.reload()  # a fresh read of the catalog, as a new page gets
    await settled(picker)
    assert picker.summary.rows_estimate == 7


async def test_bad_catalog_entry_is_reported_and_others_still_listed(manager, catalog):
    catalog.write_text("datasets:\n  typo:\n    path: x.csv\n    fromat: csv\n")
    picker = DatasetPicker(manager=manager)
    assert any("fromat" in p for p in picker.catalog_problems)
    assert "nyc-flights" in picker.param.dataset_name.objects


async def test_hosted_convert_is_offered_nowhere_and_refused(manager, catalog, tmp_path):
    # Converting writes files and adds an entry: when adding is off, so is converting.
    pd.DataFrame({"k": ["a"], "v": [1]}).to_csv(tmp_path / "team.csv", index=False)
    catalog.write_text(f"datasets:\n  team: {{path: {tmp_path / 'team.csv'}, format: csv}}\n")
    with dask.config.set({"workbench.datasets.allow-add": False}):
        picker = DatasetPicker(manager=manager)
        picker.dataset_name = "team"
        await settled(picker)
        assert picker._convert() is None and picker._add_form() is None
        before = catalog.read_bytes()
        await picker.convert()
        assert catalog.read_bytes() == before
        assert not [p for p in tmp_path.rglob("*") if "parquet" in p.name]
        assert picker.dataset_name == "team"


async def test_a_page_opened_before_the_cluster_reads_its_dataset_once_it_is_up(catalog, tmp_path):
    # A page opened while the scheduler is unreachable says so; when the scheduler
    # comes up, the summary arrives by itself (and with it the tabs' Run buttons).
    port = free_port()
    with dask.config.set({"workbench.connection.timeout": 1,
                          "workbench.connection.check-interval": 0.5}):
        manager = ClusterManager(address=f"tcp://127.0.0.1:{port}")
        try:
            picker = DatasetPicker(manager=manager)
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
