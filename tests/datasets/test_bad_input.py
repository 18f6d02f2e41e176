"""Bad input of every kind gives a sentence a user understands, naming the file or dataset.

Some problems only show when a later partition is read: those tests compute the
frame and pass the exception through ``explain``, as the app does. After each
failure the dataset (or catalog) is shown to still work once the cause is fixed.
"""
from __future__ import annotations

import importlib.util
import os
import socket

import dask
import pandas as pd
import pytest

from dashboard.datasets.base import DatasetError
from dashboard.datasets.catalog import CatalogDataset
from dashboard.datasets.catalog_file import add_to_catalog, load_catalog
from dashboard.datasets.errors import explain

ROWS = 30_000  # enough for several 64 kB blocks, so the bad row is not in dask's sample
SMALL_BLOCKS = {"blocksize": 64_000}


@pytest.fixture
def data(tmp_path):
    """The data folder (relative paths resolve here); dask computes in-process."""
    with dask.config.set({"workbench.data-dir": str(tmp_path), "workbench.hosted": False,
                          "scheduler": "sync"}):
        yield tmp_path


def fails(dataset) -> str:
    with pytest.raises(DatasetError) as info:
        dataset.to_dask()
    return str(info.value)


def fails_at_compute(dataset) -> str:
    ddf = dataset.to_dask()  # the sample (first block) is fine...
    with pytest.raises(Exception) as info:
        ddf.compute()  # ...the bad row is further down
    assert not isinstance(info.value, DatasetError)
    return str(explain(info.value, dataset))


def long_csv(path, last_line: str):
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(ROWS)) + last_line + "\n")


def test_missing_file(data):
    dataset = CatalogDataset(name="sales", path="sales.csv")
    assert fails(dataset) == (f"Dataset 'sales': sales.csv (looked for {data / 'sales.csv'}) "
                              "does not exist.")
    pd.DataFrame({"a": [1]}).to_csv(data / "sales.csv", index=False)
    assert dataset.to_dask().a.sum().compute() == 1


def test_missing_parquet_file_by_absolute_path(data):
    dataset = CatalogDataset(name="t", path=str(data / "t.parquet"), format="parquet")
    assert fails(dataset) == f"Dataset 't': {data / 't.parquet'} does not exist."


def test_empty_glob(data):
    dataset = CatalogDataset(name="logs", path="logs/2024-*.csv")
    assert fails(dataset) == (f"Dataset 'logs': no files match logs/2024-*.csv (looked for "
                              f"{data / 'logs' / '2024-*.csv'}).")
    # An empty Parquet glob would read as an empty frame without this check.
    assert "no files match" in fails(CatalogDataset(name="p", path="*.parquet", format="parquet"))
    (data / "logs").mkdir()
    pd.DataFrame({"a": [1, 2]}).to_csv(data / "logs" / "2024-01.csv", index=False)
    assert len(dataset.to_dask()) == 2


def test_malformed_csv(data):
    (data / "quotes.csv").write_text('a,b\n1,"never closed\n2,3\n')
    dataset = CatalogDataset(name="quotes", path="quotes.csv")
    message = fails(dataset)
    assert message == ("Dataset 'quotes': quotes.csv is not well-formed CSV: a quoted value is "
                       "never closed (EOF encountered while reading header).")
    (data / "quotes.csv").write_text('a,b\n1,"closed"\n2,3\n')
    assert dataset.to_dask().compute().b.tolist() == ["closed", "3"]


def test_ragged_row_in_the_sample(data):
    (data / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n6,7\n")
    dataset = CatalogDataset(name="ragged", path="ragged.csv")
    assert fails(dataset) == (
        "Dataset 'ragged': ragged.csv is not well-formed CSV: a row has 3 fields but the header "
        "has 2 (pandas reports line 3 of the block it was reading). Fix that row, or add "
        "on_bad_lines: skip to read_options to drop such rows.")
    dataset.read_options = {"on_bad_lines": "skip"}  # the suggested fix works
    assert dataset.to_dask().compute().a.tolist() == [1, 6]


def test_ragged_row_in_a_later_partition(data):
    long_csv(data / "ragged.csv", "1,2,3")
    dataset = CatalogDataset(name="ragged", path="ragged.csv", read_options=SMALL_BLOCKS)
    message = fails_at_compute(dataset)
    assert message.startswith("Dataset 'ragged': ragged.csv is not well-formed CSV: a row has 3 "
                              "fields but the header has 2")
    assert "on_bad_lines: skip" in message


def test_mixed_dtypes_show_at_compute(data):
    long_csv(data / "mixed.csv", "oops,1")
    dataset = CatalogDataset(name="mixed", path="mixed.csv", read_options=SMALL_BLOCKS)
    assert fails_at_compute(dataset) == (
        "Dataset 'mixed': column 'a' in mixed.csv holds str values further down the data, but "
        "the first rows looked like int64. Give the type in read_options, e.g. dtype: {a: str}.")
    dataset.read_options = {**SMALL_BLOCKS, "dtype": {"a": "str"}}
    assert len(dataset.to_dask().compute()) == ROWS + 1


def test_explain_names_every_mismatched_column(data):
    mismatch = ValueError(
        "Mismatched dtypes found in `pd.read_csv`/`pd.read_table`.\n\n"
        "+--------+---------+----------+\n| Column | Found   | Expected |\n"
        "+--------+---------+----------+\n| a      | str     | int64    |\n"
        "| b      | float64 | int64    |\n+--------+---------+----------+\n")
    message = str(explain(mismatch, CatalogDataset(name="m", path="m.csv")))
    assert message.startswith("Dataset 'm': columns 'a', 'b' in m.csv hold float64, str values")
    assert "dtype: {a: str, b: str}" in message


def test_non_utf8_bytes(data):
    (data / "latin.csv").write_bytes("city,n\nZürich,1\n".encode("latin-1"))
    dataset = CatalogDataset(name="latin", path="latin.csv")
    assert fails(dataset) == (
        "Dataset 'latin': latin.csv is not UTF-8 text (it contains the byte 0xfc). Give the "
        "file's encoding in read_options, e.g. encoding: latin-1.")
    dataset.read_options = {"encoding": "latin-1"}
    assert dataset.to_dask().compute().city.tolist() == ["Zürich"]


def test_non_utf8_bytes_in_a_later_partition(data):
    long_csv(data / "late.csv", "9,")
    with open(data / "late.csv", "ab") as f:
        f.write(b"10,\xff\xfe\n")
    dataset = CatalogDataset(name="late", path="late.csv", read_options=SMALL_BLOCKS)
    assert fails_at_compute(dataset).startswith(
        "Dataset 'late': late.csv is not UTF-8 text (it contains the byte 0xff).")


def test_empty_file(data):
    (data / "empty.csv").write_text("")
    dataset = CatalogDataset(name="empty", path="empty.csv")
    assert fails(dataset) == (f"Dataset 'empty': the file {data / 'empty.csv'} is empty; a CSV "
                              "file needs at least a header row.")
    (data / "blank.csv").write_text("\n\n")
    assert fails(CatalogDataset(name="blank", path="blank.csv")) == (
        "Dataset 'blank': blank.csv is empty (or holds only blank lines); a CSV file needs at "
        "least a header row.")
    (data / "empty.csv").write_text("a\n")
    assert list(dataset.to_dask().columns) == ["a"]


def test_a_parquet_file_that_is_not_parquet(data):
    pd.DataFrame({"a": [1]}).to_csv(data / "table.parquet", index=False)
    dataset = CatalogDataset(name="table", path="table.parquet", format="parquet")
    assert fails(dataset) == ("Dataset 'table': table.parquet is not a Parquet file (or it is "
                              "damaged).")
    pd.DataFrame({"a": [1]}).to_parquet(data / "table.parquet")
    assert dataset.to_dask().a.sum().compute() == 1


def test_a_folder_without_parquet_files(data):
    (data / "tables").mkdir()
    (data / "tables" / "README").write_text("nothing here")
    assert fails(CatalogDataset(name="t", path="tables", format="parquet")) == (
        "Dataset 't': the folder tables holds no Parquet files (.parquet, .parq or .pq).")
    assert fails(CatalogDataset(name="t", path="tables", format="csv")) == (
        f"Dataset 't': tables (looked for {data / 'tables'}) is a folder; for CSV files give a "
        "glob such as tables/*.csv.")


def test_unknown_format(data):
    catalog = data / "catalog.yml"
    catalog.write_text("datasets:\n  x: {path: x.xlsx, format: excel}\n  ok: {path: ok.csv}\n")
    datasets, errors = load_catalog(catalog)
    assert errors == [f"Dataset 'x' in {catalog} (line 2): the format 'excel' is not supported; "
                      "use 'csv' or 'parquet'."]
    assert list(datasets) == ["ok"]
    with pytest.raises(ValueError):  # the param itself refuses it too
        CatalogDataset(name="x", path="x.xlsx", format="excel")


def test_unknown_read_option(data):
    dataset = CatalogDataset(name="x", path="x.csv", read_options={"delimeter": ";"})
    assert fails(dataset) == ("Dataset 'x': 'delimeter' is not a read option for CSV files "
                              "(did you mean 'delimiter'?).")


def test_unreachable_url(data):
    with socket.socket() as s:  # a port nobody listens on: the connection is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.csv"
    message = fails(CatalogDataset(name="remote", path=url))
    assert message.startswith(f"Dataset 'remote': could not connect to the server holding {url} (")
    assert message.endswith("Check the address, and that it can be reached from this server and "
                            "its Dask workers.")


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None,
                    reason="s3fs is installed: reading s3:// would try to reach AWS")
def test_s3_without_s3fs(data):
    message = fails(CatalogDataset(name="cloud", path="s3://some-bucket/x.csv"))
    assert message.startswith("Dataset 'cloud': reading s3:// paths needs the s3fs package, "
                              "which is not installed on this server")


def test_missing_cloud_credentials():
    botocore = pytest.importorskip("botocore.exceptions")
    dataset = CatalogDataset(name="cloud", path="s3://some-bucket/x.csv")
    try:  # raised the way s3fs surfaces it: chained under dask's wrapper
        try:
            raise botocore.NoCredentialsError()
        except Exception as e:
            raise PermissionError("An error occurred while calling the read_csv method "
                                  "registered to the pandas backend.\nOriginal Message: "
                                  "Unable to locate credentials") from e
    except PermissionError as e:
        message = str(explain(e, dataset))
    assert message == (
        "Dataset 'cloud': no cloud credentials were found to read s3://some-bucket/x.csv. "
        "Configure credentials on the server (e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
        "or, for a public bucket, add anon: true to storage_options.")
    # By class name alone, as a distributed worker may re-raise it without its chain.
    assert "no cloud credentials" in str(explain(botocore.NoCredentialsError(), dataset))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_unreadable_file(data):
    (data / "secret.csv").write_text("a\n1\n")
    os.chmod(data / "secret.csv", 0)
    assert fails(CatalogDataset(name="s", path="secret.csv")) == (
        "Dataset 's': this server has no permission to read secret.csv.")


def test_permission_error_is_explained():
    error = PermissionError(13, "Permission denied", "/data/secret.csv")
    assert str(explain(error, CatalogDataset(name="s", path="secret.csv"))) == (
        "Dataset 's': this server has no permission to read secret.csv.")


def test_anything_else_still_names_the_dataset():
    dataset = CatalogDataset(name="x", path="x.csv")
    message = str(explain(RuntimeError("boom.\nmore detail"), dataset))
    assert message == "Dataset 'x': x.csv could not be read (RuntimeError: boom)."
    already = DatasetError("Already a sentence.")
    assert explain(already, None) is already


def test_a_catalog_entry_with_a_typo(data):
    pd.DataFrame({"a": [1]}).to_csv(data / "good.csv", index=False)
    catalog = data / "catalog.yml"
    catalog.write_text("datasets:\n  good: {path: good.csv}\n"
                       "  typo:\n    path: good.csv\n    fromat: csv\n")
    datasets, errors = load_catalog(catalog)
    assert errors == [f"Dataset 'typo' in {catalog} (line 3): unknown key 'fromat' (did you "
                      "mean 'format'?). Known keys: path, format, description, target, groupby, "
                      "read_options, storage_options."]
    assert datasets["good"].to_dask().a.sum().compute() == 1


def test_a_duplicate_dataset_name(data):
    pd.DataFrame({"a": [1]}).to_csv(data / "first.csv", index=False)
    catalog = data / "catalog.yml"
    catalog.write_text("datasets:\n  sales: {path: first.csv}\n  other: {path: o.csv}\n"
                       "  sales: {path: second.csv}\n")
    datasets, errors = load_catalog(catalog)
    assert errors == [f"The catalog {catalog} lists the dataset 'sales' twice (lines 2 and 4); "
                      "the entry at line 4 is ignored. Rename or remove one of them."]
    assert sorted(datasets) == ["other", "sales"]
    assert datasets["sales"].path == "first.csv"  # the first one wins, not YAML's last
    assert datasets["sales"].to_dask().a.sum().compute() == 1

    clean = data / "clean.yml"
    add_to_catalog(clean, "sales", {"path": "first.csv"})
    before = clean.read_bytes()
    with pytest.raises(DatasetError) as info:
        add_to_catalog(clean, "sales", {"path": "second.csv"})
    assert str(info.value) == (f"A dataset named 'sales' is already in {clean}; choose another "
                               "name.")
    assert clean.read_bytes() == before
    add_to_catalog(clean, "sales-2", {"path": "second.csv"})
    assert sorted(load_catalog(clean)[0]) == ["sales", "sales-2"]
