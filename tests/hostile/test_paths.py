"""Dataset paths on a hosted server: every way out of the data folder is refused, as the
user meets it (a catalog dataset being read, or added), with a sentence that never shows
the secret; and a glob is read as the files that were checked, not expanded again.

``tests/datasets/test_paths.py`` tests ``confine`` itself; these go through
``CatalogDataset.to_dask`` and ``add_to_catalog`` with ``workbench.hosted`` on.
"""
from __future__ import annotations

import os

import dask
import pandas as pd
import pytest

from dashboard.datasets.base import DatasetError
from dashboard.datasets.catalog import CatalogDataset
from dashboard.datasets.catalog_file import add_to_catalog, load_catalog

SECRET = "hunter2"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A data root (CSV, a sub-folder, Parquet) with links out of it, and a secret beside it."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_text("x\n1\n")
    (root / "sub" / "b.csv").write_text("x\n2\n")
    (tmp_path / "secret.csv").write_text(f"password\n{SECRET}\n")
    (tmp_path / "root2").mkdir()  # a sibling whose name starts like the root
    (tmp_path / "root2" / "x.csv").write_text(f"password\n{SECRET}\n")
    (root / "link.csv").symlink_to(tmp_path / "secret.csv")
    (root / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    (root / "globbed").mkdir()
    (root / "globbed" / "a.csv").write_text("x\n1\n")
    (root / "globbed" / "z.csv").symlink_to(tmp_path / "secret.csv")
    table = root / "table.parquet"
    table.mkdir()
    pd.DataFrame({"x": [1]}).to_parquet(table / "part.0.parquet")
    (table / "part.1.parquet").symlink_to(tmp_path / "secret.csv")
    monkeypatch.setenv("HOME", str(tmp_path))
    with dask.config.set({"workbench.hosted": True, "workbench.datasets.roots": [str(root)],
                          "workbench.datasets.protocols": ["file"]}):
        yield root


# (path, fsspec protocols allowed, the sentence's telling part)
CASES = [
    ("../secret.csv", ["file"], "points to"),
    ("sub/../../secret.csv", ["file"], "points to"),
    ("./sub/../../root/../secret.csv", ["file"], "points to"),
    ("{tmp}/secret.csv", ["file"], "points to"),
    ("{tmp}/root2/x.csv", ["file"], "outside the data folders"),
    ("/etc/passwd", ["file"], "points to /etc/passwd"),
    ("/proc/self/environ", ["file"], "points to /proc/self/environ"),
    ("~/secret.csv", ["file"], "points to"),
    ("link.csv", ["file"], "goes through a link to a place outside"),
    ("linked_dir/secret.csv", ["file"], "goes through a link to a place outside"),
    ("linked_dir/*.csv", ["file"], "goes through a link to a place outside"),
    ("globbed/*.csv", ["file"], "a link to a place outside"),
    ("**/*.csv", ["file"], "a link to a place outside"),
    ("../*.csv", ["file"], "points to"),
    ("table.parquet", ["file"], "a link to a place outside"),
    ("file:///etc/passwd", ["file"], "points to /etc/passwd"),
    ("FILE:///etc/passwd", ["file"], "points to /etc/passwd"),
    ("local:///etc/shadow", ["file"], "points to /etc/shadow"),
    ("file://{tmp}/secret.csv", ["file"], "points to"),
    ("file://a.csv", ["s3"], "uses the protocol 'file', which this shared server does not allow"),
    ("a.csv", ["s3"], "uses the protocol 'file'"),
    ("s3://bucket/x.csv", ["file"], "uses the protocol 's3'"),
    ("http://169.254.169.254/latest/meta-data/", ["file"], "uses the protocol 'http'"),
    ("https://example.com/x.csv", ["file"], "uses the protocol 'https'"),
    ("memory://x.csv", ["file"], "uses the protocol 'memory'"),
    ("data:text/csv,x%0A1", ["file"], "uses the protocol 'data'"),
    ("github://dask:dask@main/README.rst", ["file"], "uses the protocol 'github'"),
    ("sftp://host/etc/passwd", ["file"], "uses the protocol 'sftp'"),
    ("hdfs://namenode/x.csv", ["file"], "uses the protocol 'hdfs'"),
    ("simplecache::file:///etc/passwd", ["file", "simplecache"], "chains several protocols"),
    ("zip://secret.csv::file://../x.zip", ["file", "zip"], "chains several protocols"),
    ("a.csv\x00/../../secret.csv", ["file"], "contains a NUL byte"),
    ("   ", ["file"], "must be a non-empty piece of text"),
    # Spelt-out traversal is not decoded by a file system: a name that does not exist.
    ("%2e%2e/secret.csv", ["file"], "does not exist"),
    ("sub\\..\\..\\secret.csv", ["file"], "does not exist"),
    ("\uff0e\uff0e/secret.csv", ["file"], "does not exist"),
]


@pytest.mark.hostile("paths")
@pytest.mark.parametrize("path, protocols, sentence", CASES,
                         ids=[repr(c[0])[1:-1][:40] for c in CASES])
def test_a_path_out_of_the_data_folder_is_refused(tree, tmp_path, path, protocols, sentence):
    path = path.format(tmp=tmp_path)
    with dask.config.set({"workbench.datasets.protocols": protocols}):
        with pytest.raises(DatasetError) as refused:
            CatalogDataset(name="s", path=path, format="csv").to_dask()
    message = str(refused.value)
    assert message.startswith("Dataset 's'") and sentence in message, message
    assert SECRET not in message


@pytest.mark.hostile("paths")
@pytest.mark.parametrize("options", [{"endpoint_url": "http://169.254.169.254/"},
                                     {"client_kwargs": {"endpoint_url": "http://evil/"}},
                                     {"fo": "/etc/passwd", "target_protocol": "file"}],
                         ids=["endpoint_url", "client_kwargs", "fo"])
def test_storage_options_that_aim_a_read_elsewhere_are_refused(tree, options):
    with pytest.raises(DatasetError, match="are not allowed on a shared server"):
        CatalogDataset(name="s", path="a.csv", format="csv", storage_options=options).to_dask()


@pytest.mark.hostile("paths")
def test_an_add_or_a_catalog_entry_out_of_the_folder_is_refused(tree):
    catalog = tree / "catalog.yml"
    with pytest.raises(DatasetError, match="cannot be added: The path '../secret.csv' points to"):
        add_to_catalog(catalog, "s", {"path": "../secret.csv"})
    # Written by hand into the catalog: listed as a problem, the good entry still works.
    catalog.write_text("datasets:\n  good: {path: a.csv}\n"
                       "  bad: {path: /etc/passwd, format: csv}\n")
    datasets, problems = load_catalog(catalog)
    assert datasets["good"].to_dask().compute().x.tolist() == [1]
    if "bad" in datasets:  # listed, but refused when read
        with pytest.raises(DatasetError, match="points to /etc/passwd"):
            datasets["bad"].to_dask()
    else:
        assert any("points to /etc/passwd" in p for p in problems), problems


# -- the time-of-check gap: a glob is read as the files that were checked ----------

@pytest.mark.hostile("paths")
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_link_added_between_check_and_read_is_not_read(tree, tmp_path, monkeypatch, fmt):
    import dashboard.datasets.catalog as catalog
    folder = tree / "glob"
    folder.mkdir()
    secret = tmp_path / f"secret.{fmt}"
    if fmt == "csv":
        (folder / "a.csv").write_text("x\n1\n")
        secret.write_text(f"x\n{SECRET}\n")
    else:
        pd.DataFrame({"x": ["1"]}).to_parquet(folder / "a.parquet")
        pd.DataFrame({"x": [SECRET]}).to_parquet(secret)
    checked = catalog.confine_files

    def check_then_race(*args, **kwargs):
        result = checked(*args, **kwargs)
        # The attacker's timing: right after the check, before dask lists the glob.
        os.symlink(secret, folder / f"z.{fmt}")
        return result

    monkeypatch.setattr(catalog, "confine_files", check_then_race)
    frame = CatalogDataset(name="g", path=f"glob/*.{fmt}", format=fmt).to_dask().compute(
        scheduler="sync")
    assert frame.x.astype(str).tolist() == ["1"]
    # The next read checks again, and refuses.
    monkeypatch.setattr(catalog, "confine_files", checked)
    with pytest.raises(DatasetError, match="a link to a place outside"):
        CatalogDataset(name="g", path=f"glob/*.{fmt}", format=fmt).to_dask()
