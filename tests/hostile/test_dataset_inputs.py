"""Hostile datasets through the picker: the Add form's name, path and format, and catalog
files a user (or a bad edit) left behind. Each gets a sentence as a notice, the catalog is
untouched, the form's button is usable again and the picker still reads the flights.

``tests/datasets/test_bad_input.py`` covers each kind of bad file; ``test_paths.py`` here
every way out of the data folder when hosted.
"""
from __future__ import annotations

import os

import dask.config
import pytest
import pytest_asyncio

from dashboard.datasets.catalog_file import catalog_path
from tests.hostile.views import session, told, until  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio(loop_scope="module")

NAME_RULE = "is not allowed: use up to 64 letters, digits, '-', '_' or '.'"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def picker(session, tmp_path_factory):
    picker, _ = session
    files = tmp_path_factory.mktemp("files")
    (files / "good.csv").write_text("k,v\na,1\nb,2\n")
    (files / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (files / "latin1.csv").write_bytes("k,v\ncaf\xe9,1\n".encode("latin-1"))
    (files / "text.parquet").write_text("k,v\na,1\n")
    picker.files = files
    return picker


ADDS = {
    "markup as a name": (dict(new_name="<script>alert(1)</script>", new_path="{files}/good.csv"),
                         f"The dataset name '<script>alert(1)</script>' {NAME_RULE}"),
    "a path in the name": (dict(new_name="../../etc/x", new_path="{files}/good.csv"),
                           f"The dataset name '../../etc/x' {NAME_RULE}"),
    "a 65-character name": (dict(new_name="a" * 65, new_path="{files}/good.csv"),
                            f"The dataset name '{'a' * 65}' {NAME_RULE}"),
    "a built-in's name": (dict(new_name="nyc-flights", new_path="{files}/good.csv"),
                          "A dataset named 'nyc-flights' is"),
    "no path": (dict(new_name="x", new_path="   "),
                "A dataset path must be a non-empty piece of text."),
    "a glob matching nothing": (dict(new_name="x", new_path="{files}/nothing/*.csv"),
                                "no files match"),
    "binary bytes as CSV": (dict(new_name="x", new_path="{files}/binary.csv"),
                            "binary.csv is not well-formed CSV"),
    "Latin-1 bytes as CSV": (dict(new_name="x", new_path="{files}/latin1.csv"),
                             "latin1.csv is not UTF-8 text"),
    "CSV text as Parquet": (dict(new_name="x", new_path="{files}/text.parquet",
                                 new_format="parquet"), "is not a Parquet file"),
}


@pytest.mark.hostile("inputs")
@pytest.mark.parametrize("form, sentence", ADDS.values(), ids=ADDS.keys())
async def test_a_bad_dataset_is_not_added(picker, notices, form, sentence):
    catalog = catalog_path()
    before = catalog.read_bytes() if catalog.exists() else None
    picker.param.update(new_format="csv")
    picker.param.update({k: v.format(files=picker.files) for k, v in form.items()})
    await picker.add_dataset()
    assert told(notices, sentence)
    assert (catalog.read_bytes() if catalog.exists() else None) == before
    assert picker.busy is False
    assert picker.store.dataset_name == "nyc-flights" and picker.store.error == ""


@pytest.mark.hostile("inputs")
@pytest.mark.parametrize("path, sentence", [
    ("/etc/passwd", "points to /etc/passwd"),
    ("http://169.254.169.254/latest/meta-data/x.csv", "uses the protocol 'http'"),
], ids=["system file", "cloud metadata URL"])
async def test_a_hosted_add_out_of_the_data_folder_is_refused(picker, notices, path, sentence):
    with dask.config.set({"workbench.hosted": True, "workbench.datasets.allow-add": True,
                          "workbench.datasets.roots": [str(picker.files)]}):
        picker.param.update(new_name="x", new_path=path, new_format="csv")
        await picker.add_dataset()
    told(notices, sentence)
    assert "x" not in picker.store.param.dataset_name.objects


@pytest.mark.hostile("inputs")
async def test_no_add_when_adding_is_turned_off(picker, notices):
    with dask.config.set({"workbench.hosted": True, "workbench.datasets.allow-add": None}):
        picker.param.update(new_name="x", new_path=f"{picker.files}/good.csv", new_format="csv")
        await picker.add_dataset()
    told(notices, "Adding datasets is turned off on this server")
    assert "x" not in picker.store.param.dataset_name.objects


CATALOGS = {
    "a YAML tag that runs a command": (
        "datasets:\n  x: !!python/object/apply:os.system ['touch {marker}']\n",
        "could not determine a constructor for the tag"),
    "a read option that is code": (
        "datasets:\n  x: {{path: good.csv, read_options: {{converters: {{k: eval}}}}}}\n",
        "'converters' is not a read option for CSV files"),
    "a misspelt key": ("datasets:\n  x: {{paht: good.csv}}\n", "(did you mean 'path'?)"),
    "a list for datasets": ("datasets: [1, 2, 3]\n", "'datasets:' should hold one entry per "
                                                      "dataset (name: {path: ...})"),
}


@pytest.mark.hostile("inputs")
@pytest.mark.parametrize("text, sentence", CATALOGS.values(), ids=CATALOGS.keys())
async def test_a_bad_catalog_is_reported_and_the_builtins_stay(picker, notices, tmp_path,
                                                               text, sentence):
    marker = tmp_path / "hostile-pwned"
    catalog = catalog_path()
    catalog.write_text(text.format(marker=marker))
    try:
        with dask.config.set({"workbench.data-dir": str(picker.files)}):
            picker.store.reload()
        told(notices, sentence)
        assert {"nyc-flights", "nyc-taxi"} <= set(picker.store.param.dataset_name.objects)
        assert "x" not in picker.store.param.dataset_name.objects
        assert not marker.exists()
    finally:
        os.remove(catalog)
        picker.store.reload()
    store = picker.store
    await until(lambda: store.summary is not None and not store.loading, "the flights")
