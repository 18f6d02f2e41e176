"""Hosted servers confine dataset paths to the data folders and allowed protocols."""
from __future__ import annotations

import dask
import pandas as pd
import pytest

from dashboard.datasets.base import DatasetError
from dashboard.datasets.catalog import CatalogDataset
from dashboard.datasets.catalog_file import add_to_catalog, load_catalog
from dashboard.datasets.paths import confine, resolve_local


@pytest.fixture
def tree(tmp_path):
    """A data root with a CSV and a sub-folder, and a secret file beside (outside) it."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_text("x\n1\n")
    (root / "sub" / "b.csv").write_text("x\n2\n")
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    return root


def refused(path, roots, protocols=("file",)) -> str:
    with pytest.raises(DatasetError) as info:
        confine(path, roots, list(protocols))
    return str(info.value)


def test_relative_paths_are_relative_to_the_first_root(tree, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    assert confine("a.csv", [tree, other], ["file"]) == str(tree / "a.csv")
    assert confine("sub/../a.csv", [tree], ["file"]) == str(tree / "a.csv")  # ".." that stays in
    assert confine(str(other / "c.csv"), [tree, other], ["file"]) == str(other / "c.csv")


def test_dotdot_escaping_the_root_is_refused(tree, tmp_path):
    for path in ("../secret.csv", "sub/../../secret.csv", "./sub/../../root/../secret.csv"):
        message = refused(path, [tree])
        assert f"The path '{path}' points to {tmp_path / 'secret.csv'}," in message
        assert f"outside the data folders of this shared server ({tree})" in message


def test_absolute_paths_outside_the_roots_are_refused(tree, tmp_path):
    assert confine(str(tree / "sub" / "b.csv"), [tree], ["file"]) == str(tree / "sub" / "b.csv")
    assert "points to /etc/passwd" in refused("/etc/passwd", [tree])
    # A sibling whose name starts like the root is still outside it.
    sibling = tmp_path / "root2"
    sibling.mkdir()
    assert "outside the data folders" in refused(str(sibling / "x.csv"), [tree])


def test_a_symlink_out_of_the_root_is_refused_without_naming_its_target(tree, tmp_path):
    (tree / "link.csv").symlink_to(tmp_path / "secret.csv")
    message = refused("link.csv", [tree])
    assert "The path 'link.csv' goes through a link to a place outside the data folders" in message
    assert "secret" not in message
    (tree / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    assert "goes through a link" in refused("linked_dir/secret.csv", [tree])


def test_a_symlink_inside_the_root_is_fine(tree):
    (tree / "alias.csv").symlink_to(tree / "sub" / "b.csv")
    assert confine("alias.csv", [tree], ["file"]) == str(tree / "sub" / "b.csv")


def test_a_glob_matching_a_symlink_out_is_refused(tree, tmp_path):
    assert confine("sub/*.csv", [tree], ["file"]) == str(tree / "sub" / "*.csv")
    (tree / "sub" / "z.csv").symlink_to(tmp_path / "secret.csv")
    message = refused("sub/*.csv", [tree])
    assert f"reaches {tree / 'sub' / 'z.csv'}, a link to a place outside" in message
    assert "**" not in message and "secret" not in message
    assert "reaches" in refused("**/*.csv", [tree])


def test_a_glob_under_a_linked_folder_out_is_refused(tree, tmp_path):
    (tree / "escape").symlink_to(tmp_path, target_is_directory=True)
    assert "goes through a link" in refused("escape/*.csv", [tree])
    assert "points to" in refused("../*.csv", [tree])


def test_a_folder_holding_a_link_out_is_refused(tree, tmp_path):
    folder = tree / "table.parquet"
    folder.mkdir()
    pd.DataFrame({"x": [1]}).to_parquet(folder / "part.0.parquet")
    assert confine("table.parquet", [tree], ["file"]) == str(folder)
    (folder / "part.1.parquet").symlink_to(tmp_path / "secret.csv")
    assert "a link to a place outside" in refused("table.parquet", [tree])


def test_a_symlink_loop_does_not_hang(tree):
    (tree / "sub" / "loop").symlink_to(tree / "sub", target_is_directory=True)
    assert confine("sub", [tree], ["file"]) == str(tree / "sub")


def test_file_urls_follow_the_file_protocol_setting(tree, tmp_path):
    url = f"file://{tree / 'a.csv'}"
    assert confine(url, [tree], ["file"]) == str(tree / "a.csv")
    assert confine("FILE://a.csv", [tree], ["file"]) == str(tree / "a.csv")
    assert "points to" in refused(f"file://{tmp_path / 'secret.csv'}", [tree])
    message = refused(url, [tree], protocols=["s3"])
    assert f"The path '{url}' uses the protocol 'file', which this shared server does not " \
           "allow (allowed: s3)." == message
    # Plain paths are the file protocol too: an S3-only server reads no local files.
    assert "protocol 'file'" in refused("a.csv", [tree], protocols=["s3"])


def test_remote_protocols_must_be_listed(tree):
    message = refused("s3://some-bucket/x.csv", [tree])
    assert message == ("The path 's3://some-bucket/x.csv' uses the protocol 's3', which this "
                       "shared server does not allow (allowed: file).")
    assert confine("s3://some-bucket/x.csv", [tree], ["file", "s3"]) == "s3://some-bucket/x.csv"
    assert "protocol 'memory'" in refused("memory://x.csv", [tree])
    assert "protocol 'data'" in refused("data:text/csv,x%0A1", [tree])
    assert "chains several protocols" in refused("simplecache::s3://b/x.csv", [tree],
                                                 ["file", "s3", "simplecache"])


def test_home_expansion_is_confined_too(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert f"points to {tmp_path / 'secret.csv'}" in refused("~/secret.csv", [tree])
    monkeypatch.setenv("HOME", str(tree))
    assert confine("~/a.csv", [tree], ["file"]) == str(tree / "a.csv")


def test_nul_bytes_and_empty_paths_are_refused(tree):
    assert "contains a NUL byte" in refused("a.csv\x00.txt", [tree])
    assert "non-empty" in refused("  ", [tree])
    assert "no data folders configured" in refused("a.csv", [])


def test_resolve_local_when_not_hosted(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_local("x.csv", tmp_path) == str(tmp_path / "x.csv")
    assert resolve_local("~/x.csv", "/elsewhere") == str(tmp_path / "home" / "x.csv")
    assert resolve_local("/abs/../x.csv", tmp_path) == "/x.csv"
    assert resolve_local("file:///data/x.csv", tmp_path) == "/data/x.csv"
    assert resolve_local("s3://b/x.csv", tmp_path) == "s3://b/x.csv"
    with pytest.raises(DatasetError, match="NUL byte"):
        resolve_local("x\x00", tmp_path)


def test_hosted_catalog_datasets_are_confined(tree, tmp_path):
    settings = {"workbench.hosted": True, "workbench.datasets.roots": [str(tree)],
                "workbench.datasets.protocols": ["file"]}
    with dask.config.set(settings):
        assert CatalogDataset(name="a", path="a.csv").to_dask().compute().x.tolist() == [1]
        with pytest.raises(DatasetError) as info:
            CatalogDataset(name="s", path="../secret.csv").to_dask()
        assert str(info.value).startswith("Dataset 's' cannot be read: The path '../secret.csv' "
                                          f"points to {tmp_path / 'secret.csv'}")
    # Not hosted: the same path is the user's own business.
    with dask.config.set({"workbench.hosted": False, "workbench.data-dir": str(tree)}):
        frame = CatalogDataset(name="s", path="../secret.csv").to_dask().compute()
        assert frame.password.tolist() == ["hunter2"]


def test_hosted_roots_default_to_the_data_folder(tree, tmp_path):
    with dask.config.set({"workbench.hosted": True, "workbench.data-dir": str(tree),
                          "workbench.datasets.roots": []}):
        assert CatalogDataset(name="a", path="sub/b.csv").location() == str(tree / "sub" / "b.csv")
        with pytest.raises(DatasetError, match="outside the data folders"):
            CatalogDataset(name="s", path=str(tmp_path / "secret.csv")).location()


def test_hosted_adds_refuse_paths_outside_the_roots(tree, tmp_path):
    catalog = tree / "catalog.yml"
    with dask.config.set({"workbench.hosted": True, "workbench.datasets.roots": [str(tree)],
                          "workbench.datasets.protocols": ["file"]}):
        with pytest.raises(DatasetError) as info:
            add_to_catalog(catalog, "s", {"path": "../secret.csv"})
        assert str(info.value).startswith("Dataset 's' cannot be added: The path "
                                          "'../secret.csv' points to")
        with pytest.raises(DatasetError, match="protocol 's3'"):
            add_to_catalog(catalog, "s", {"path": "s3://bucket/x.csv"})
        add_to_catalog(catalog, "a", {"path": "a.csv"})
    assert sorted(load_catalog(catalog)[0]) == ["a"]


def test_hosted_storage_options_cannot_redirect_reads(tmp_path):
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "a.csv", index=False)
    with dask.config.set({"workbench.hosted": True, "workbench.datasets.roots": [str(tmp_path)]}):
        sneaky = CatalogDataset(name="s", path="a.csv", format="csv",
                                storage_options={"endpoint_url": "http://169.254.169.254/"})
        with pytest.raises(DatasetError, match="endpoint_url are not allowed on a shared server"):
            sneaky.to_dask()
        fine = CatalogDataset(name="f", path="a.csv", format="csv")
        assert len(fine.to_dask()) == 1
