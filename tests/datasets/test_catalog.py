"""The YAML catalog: parsing, validation, format inference and atomic adds."""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import dask
import pandas as pd
import pytest
import yaml
from filelock import FileLock

from dashboard.datasets import catalog_file as catalog_module
from dashboard.datasets.base import DatasetError
from dashboard.datasets.catalog import (
    CatalogDataset, check_read_options, convert_to_parquet, infer_format, parquet_target)
from dashboard.datasets.catalog_file import (
    add_to_catalog, adding_allowed, catalog_path, load_catalog)

SALES = pd.DataFrame({"store": ["a", "b", "a", "c"], "amount": [1.5, 2.0, 3.25, 4.0],
                      "units": [1, 2, 3, 4]})


@pytest.fixture
def data(tmp_path):
    """A data folder holding sales as two CSV shards and as Parquet; dask runs in-process."""
    (tmp_path / "sales").mkdir()
    SALES.iloc[:2].to_csv(tmp_path / "sales" / "2024-01.csv", index=False)
    SALES.iloc[2:].to_csv(tmp_path / "sales" / "2024-02.csv", index=False)
    SALES.to_parquet(tmp_path / "sales.parquet", index=False)
    with dask.config.set({"workbench.data-dir": str(tmp_path), "workbench.hosted": False,
                          "scheduler": "sync"}):
        yield tmp_path


def write(path, text: str):
    path.write_text(text)
    return path


def test_a_catalog_with_csv_and_parquet_entries(data):
    catalog = write(data / "catalog.yml", """\
datasets:
  sales-csv:
    path: sales/*.csv
    description: Sales, one CSV per month
    target: amount
    groupby: [store]
    read_options: {dtype: {store: string}}
  sales-parquet:
    path: sales.parquet
    read_options: {columns: [store, amount]}
""")
    datasets, errors = load_catalog(catalog)
    assert errors == []
    csv, parquet = datasets["sales-csv"], datasets["sales-parquet"]
    assert (csv.kind, csv.format, parquet.format) == ("catalog", "csv", "parquet")
    assert (csv.description, csv.target, csv.groupby) == ("Sales, one CSV per month", "amount",
                                                          ["store"])
    assert csv.read_options == {"dtype": {"store": "string"}}
    ddf = csv.to_dask()
    assert ddf.npartitions == 2
    pd.testing.assert_frame_equal(ddf.compute().reset_index(drop=True), SALES,
                                  check_dtype=False)
    assert list(parquet.to_dask().columns) == ["store", "amount"]
    assert parquet.to_dask().amount.sum().compute() == SALES.amount.sum()


def test_missing_or_empty_catalog_is_an_empty_catalog(tmp_path):
    assert load_catalog(tmp_path / "nope.yml") == ({}, [])
    assert load_catalog(write(tmp_path / "empty.yml", "")) == ({}, [])
    assert load_catalog(write(tmp_path / "bare.yml", "datasets:\n")) == ({}, [])
    assert load_catalog(write(tmp_path / "comments.yml", "# nothing yet\n")) == ({}, [])


def test_malformed_yaml_is_one_sentence(tmp_path):
    catalog = write(tmp_path / "catalog.yml", "datasets:\n  a: {path: x.csv\n  b: [\n")
    datasets, errors = load_catalog(catalog)
    assert datasets == {}
    assert len(errors) == 1
    assert errors[0].startswith(f"The catalog {catalog} is not valid YAML (line ")
    assert errors[0].endswith("); no dataset could be read from it.")


def test_wrong_shapes_are_reported(tmp_path):
    _, errors = load_catalog(write(tmp_path / "list.yml", "- a\n- b\n"))
    assert errors == [f"The catalog {tmp_path / 'list.yml'} should be a mapping starting with "
                      "'datasets:', with one entry per dataset under it."]
    _, errors = load_catalog(write(tmp_path / "ds.yml", "datasets: [a.csv]\n"))
    assert "'datasets:' should hold one entry per dataset" in errors[0]
    datasets, errors = load_catalog(write(tmp_path / "top.yml",
                                          "datset: {}\ndatasets:\n  a: {path: a.csv}\n"))
    assert list(datasets) == ["a"]
    assert errors == [f"The catalog {tmp_path / 'top.yml'} has an unknown top-level key 'datset' "
                      "(line 1) (did you mean 'datasets'?); only 'datasets:' is read."]


def test_bad_entries_are_reported_and_good_ones_kept(tmp_path):
    catalog = write(tmp_path / "catalog.yml", """\
datasets:
  good: {path: a.csv}
  typo: {path: b.csv, fromat: csv, descripton: x}
  no-path: {format: csv}
  bad name: {path: c.csv}
  just-a-path: c.csv
  weird-format: {path: d.dat}
  bad-format: {path: e.csv, format: parquett}
  bad-option: {path: f.csv, read_options: {sepp: ";"}}
  bad-groupby: {path: g.csv, groupby: {a: 1}}
  twice:
    path: h.csv
    path: i.csv
  also-good: {path: j.parquet, groupby: store}
""")
    datasets, errors = load_catalog(catalog)
    assert sorted(datasets) == ["also-good", "good"]
    assert datasets["also-good"].groupby == ["store"]
    where = f"in {catalog}"
    assert errors == [
        f"Dataset 'typo' {where} (line 3): unknown key 'fromat' (did you mean 'format'?); "
        "unknown key 'descripton' (did you mean 'description'?). Known keys: path, format, "
        "description, target, groupby, read_options, storage_options.",
        f"Dataset 'no-path' {where} (line 4) has no path: give a file, a glob such as "
        "data/*.csv, or a URL such as s3://bucket/sales.parquet.",
        f"The dataset name 'bad name' {where} is not allowed: use up to 64 letters, digits, "
        "'-', '_' or '.', starting with a letter or digit.",
        f"Dataset 'just-a-path' {where} (line 6) should be a mapping with at least a path, "
        "e.g. {path: data/sales.csv}.",
        f"Dataset 'weird-format' {where} (line 7): cannot tell the format of d.dat from its "
        "extension; add format: csv or format: parquet.",
        f"Dataset 'bad-format' {where} (line 8): the format 'parquett' is not supported; use "
        "'csv' or 'parquet' (did you mean 'parquet'?).",
        f"Dataset 'bad-option' {where} (line 9): 'sepp' is not a read option for CSV files "
        "(did you mean 'sep'?).",
        f"Dataset 'bad-groupby' {where} (line 10): groupby should be a list of column names, "
        "e.g. [store].",
        f"Dataset 'twice' {where} (line 11) gives 'path' twice (lines 12 and 13); keep one of "
        "them.",
    ]


def test_format_inference():
    assert infer_format("data/sales.csv") == "csv"
    assert infer_format("data/*.CSV") == "csv"
    assert infer_format("logs/2024-*.csv.gz") == "csv"
    assert infer_format("sales.parquet/") == "parquet"
    assert infer_format("s3://bucket/part-*.pq") == "parquet"
    assert infer_format("https://example.invalid/x.parq?version=2") == "parquet"
    assert infer_format("data/sales") is None
    assert infer_format("data/sales.xlsx") is None


def test_read_options_are_the_readers_keywords():
    assert check_read_options("csv", {"sep": ";", "blocksize": "1MB", "dtype": {"a": "str"}}) \
        == {"sep": ";", "blocksize": "1MB", "dtype": {"a": "str"}}
    assert check_read_options("parquet", {"columns": ["a"], "filters": [["a", ">", 1]]})
    with pytest.raises(DatasetError, match=r"'columnz' is not a read option for PARQUET files "
                                           r"\(did you mean 'columns'\?\)\."):
        check_read_options("parquet", {"columnz": ["a"]})
    with pytest.raises(DatasetError, match="'sep' is not a read option for PARQUET files."):
        check_read_options("parquet", {"sep": ";"})
    with pytest.raises(DatasetError, match="storage_options go in their own storage_options"):
        check_read_options("csv", {"storage_options": {"anon": True}})
    with pytest.raises(DatasetError, match="'chunksize' is not a read option"):
        check_read_options("csv", {"chunksize": 10})  # dask refuses it: say so up front


def test_merge_keys_share_options(data):
    catalog = write(data / "catalog.yml", """\
defaults: &csv {format: csv, read_options: {dtype: {store: string}}}
datasets:
  jan: {<<: *csv, path: sales/2024-01.csv}
  feb: {<<: *csv, path: sales/2024-02.csv, format: csv}
""")
    datasets, errors = load_catalog(catalog)
    assert sorted(datasets) == ["feb", "jan"]
    assert datasets["jan"].read_options == {"dtype": {"store": "string"}}
    assert len(errors) == 1 and "unknown top-level key 'defaults'" in errors[0]
    assert datasets["feb"].to_dask().compute().store.tolist() == ["a", "c"]


def test_cache_token_is_hashable_and_follows_the_options():
    a = CatalogDataset(name="a", path="x.csv", read_options={"dtype": {"k": "str"}},
                       storage_options={"key": "secret"})
    b = CatalogDataset(name="a", path="x.csv", read_options={"dtype": {"k": "int64"}},
                       storage_options={"key": "secret"})
    assert hash(a.cache_token()) != hash(b.cache_token())
    assert a.cache_token() == CatalogDataset(name="a", path="x.csv",
                                             read_options={"dtype": {"k": "str"}},
                                             storage_options={"key": "secret"}).cache_token()
    assert "secret" not in repr(a.cache_token())


def _rewrite(path, frame: pd.DataFrame, **to) -> None:
    """Write ``frame`` over ``path`` and give it a modification time of its own, as a
    rewrite a moment later would (some file systems count mtimes in whole seconds)."""
    before = os.stat(path).st_mtime_ns
    getattr(frame, f"to_{to.pop('fmt', 'csv')}")(path, index=False)
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.mark.parametrize("path, fmt, changed", [
    ("sales/2024-01.csv", "csv", "sales/2024-01.csv"),
    ("sales/*.csv", "csv", "sales/2024-02.csv"),
    ("sales.parquet", "parquet", "sales.parquet"),
])
def test_cache_token_follows_a_rewritten_file(data, path, fmt, changed):
    dataset = CatalogDataset(name="sales", path=path, format=fmt)
    before = dataset.cache_token()
    assert before == CatalogDataset(name="sales", path=path, format=fmt).cache_token()
    same_size = SALES.assign(units=[4, 3, 2, 1])  # other numbers, the same bytes count
    _rewrite(data / changed, same_size, fmt=fmt)
    assert dataset.cache_token() != before
    after = dataset.cache_token()
    # A new size alone (the mtime put back) counts too.
    stat = os.stat(data / changed)
    (data / changed).write_bytes((data / changed).read_bytes() + b"\n")
    os.utime(data / changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert dataset.cache_token() != after


def test_cache_token_follows_files_a_glob_gains_and_a_parquet_folder_holds(data):
    shards = CatalogDataset(name="sales", path="sales/*.csv")
    before = shards.cache_token()
    SALES.to_csv(data / "sales" / "2024-03.csv", index=False)
    assert shards.cache_token() != before

    folder = data / "sales.pq"
    folder.mkdir()
    SALES.to_parquet(folder / "part.0.parquet", index=False)
    parquet = CatalogDataset(name="pq", path="sales.pq", format="parquet")
    before = parquet.cache_token()
    SALES.to_parquet(folder / "part.1.parquet", index=False)
    assert parquet.cache_token() != before


def test_cache_token_of_a_missing_refused_or_remote_path_is_still_a_token(data):
    missing = CatalogDataset(name="m", path="nope.csv")
    assert missing.cache_token() == CatalogDataset(name="m", path="nope.csv").cache_token()
    remote = CatalogDataset(name="r", path="s3://bucket/sales/*.csv")
    assert remote.cache_token()[-1] == ""  # no round trip to the store per run
    with dask.config.set({"workbench.hosted": True, "workbench.datasets.roots": [str(data)]}):
        outside = CatalogDataset(name="o", path="/etc/passwd")
        with pytest.raises(DatasetError):
            outside.to_dask()
        assert outside.cache_token()[-1] == ""
        inside = CatalogDataset(name="i", path="sales/*.csv")
        assert inside.cache_token()[-1] != ""


def test_catalog_path_and_allow_add_follow_config(tmp_path):
    with dask.config.set({"workbench.data-dir": str(tmp_path), "workbench.datasets.catalog": None,
                          "workbench.hosted": False, "workbench.datasets.allow-add": None}):
        assert catalog_path() == tmp_path / "catalog.yml"
        assert adding_allowed()
        with dask.config.set({"workbench.hosted": True}):
            assert not adding_allowed()
            with dask.config.set({"workbench.datasets.allow-add": True}):
                assert adding_allowed()
        with dask.config.set({"workbench.datasets.catalog": str(tmp_path / "team.yml")}):
            assert catalog_path() == tmp_path / "team.yml"


# --- adding ---------------------------------------------------------------------


def test_add_creates_then_extends_the_catalog(data):
    catalog = data / "cfg" / "catalog.yml"
    dataset = add_to_catalog(catalog, "sales", {"path": "sales/*.csv", "groupby": ["store"],
                                                "target": None, "description": ""})
    assert isinstance(dataset, CatalogDataset) and dataset.format == "csv"
    assert yaml.safe_load(catalog.read_text()) == {
        "datasets": {"sales": {"path": "sales/*.csv", "groupby": ["store"]}}}
    add_to_catalog(catalog, "sales-pq", {"path": "sales.parquet", "format": "parquet",
                                         "read_options": {"columns": ["amount"]}})
    datasets, errors = load_catalog(catalog)
    assert errors == [] and sorted(datasets) == ["sales", "sales-pq"]
    assert datasets["sales-pq"].to_dask().amount.sum().compute() == SALES.amount.sum()
    assert oct(catalog.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in catalog.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_add_keeps_other_entries_even_broken_ones_and_the_header(tmp_path):
    catalog = write(tmp_path / "catalog.yml", """\
# Team datasets -- keep sorted.

datasets:
  old: {path: old.csv, description: "Ünïcode"}
  broken: {path: b.csv, fromat: csv}
""")
    os.chmod(catalog, 0o640)
    add_to_catalog(catalog, "new", {"path": "new.parquet"})
    text = catalog.read_text()
    assert text.startswith("# Team datasets -- keep sorted.\n\n")
    assert "Ünïcode" in text
    datasets, errors = load_catalog(catalog)
    assert sorted(datasets) == ["new", "old"]
    assert len(errors) == 1 and "unknown key 'fromat'" in errors[0]
    assert oct(catalog.stat().st_mode & 0o777) == oct(0o640)


def test_add_validates_before_writing(tmp_path):
    catalog = write(tmp_path / "catalog.yml", "datasets:\n  a: {path: a.csv}\n")
    before = catalog.read_bytes()
    cases = [
        ("../evil", {"path": "x.csv"}, "The dataset name '../evil' is not allowed"),
        ("b", {"path": "x.csv", "fromat": "csv"}, "unknown key 'fromat' (did you mean 'format'?)"),
        ("b", {"path": "x.unknown"}, "cannot tell the format of x.unknown"),
        ("b", {"path": "x.csv", "read_options": {"eval": "1+1"}}, "'eval' is not a read option"),
        ("a", {"path": "x.csv"}, f"A dataset named 'a' is already in {catalog}; choose another"),
        ("flights", {"path": "x.csv"}, "'flights' is already taken by a built-in dataset"),
    ]
    for name, entry, fragment in cases:
        with pytest.raises(DatasetError) as info:
            add_to_catalog(catalog, name, entry, reserved=["flights"])
        assert fragment in str(info.value)
    assert catalog.read_bytes() == before


def test_add_refuses_a_catalog_it_would_damage(tmp_path):
    malformed = write(tmp_path / "bad.yml", "datasets:\n  a: {path: a.csv\n")
    with pytest.raises(DatasetError, match="is not valid YAML"):
        add_to_catalog(malformed, "b", {"path": "b.csv"})
    repeated = write(tmp_path / "dup.yml", "datasets:\n  a: {path: a.csv}\n  a: {path: b.csv}\n")
    with pytest.raises(DatasetError, match=r"repeats the key 'a' \(lines 2 and 3\); fix it"):
        add_to_catalog(repeated, "c", {"path": "c.csv"})
    assert malformed.read_text() == "datasets:\n  a: {path: a.csv\n"
    assert repeated.read_text() == "datasets:\n  a: {path: a.csv}\n  a: {path: b.csv}\n"


def test_a_value_that_cannot_be_saved_leaves_the_file_byte_identical(tmp_path):
    catalog = write(tmp_path / "catalog.yml", "# mine\ndatasets:\n  a: {path: a.csv}\n")
    before = catalog.read_bytes()
    with pytest.raises(DatasetError) as info:
        add_to_catalog(catalog, "b", {"path": "b.csv", "read_options": {"dtype": object()}})
    assert str(info.value) == (f"Dataset 'b' cannot be saved in {catalog}: its options may only "
                               "hold text, numbers, true/false, lists and mappings.")
    assert catalog.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".catalog.yml.lock", "catalog.yml"]


def test_a_failed_replace_leaves_the_file_byte_identical(tmp_path, monkeypatch):
    catalog = write(tmp_path / "catalog.yml", "datasets:\n  a: {path: a.csv}\n")
    before = catalog.read_bytes()

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(catalog_module.os, "replace", fail)
    with pytest.raises(DatasetError) as info:
        add_to_catalog(catalog, "b", {"path": "b.csv"})
    assert str(info.value) == (f"The catalog {catalog} could not be written (No space left on "
                               "device); it was left unchanged.")
    assert catalog.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    add_to_catalog(catalog, "b", {"path": "b.csv"})  # usable again afterwards
    assert sorted(load_catalog(catalog)[0]) == ["a", "b"]


def test_concurrent_adds_all_land(tmp_path):
    catalog = tmp_path / "catalog.yml"
    errors = []

    def add(i):
        try:
            add_to_catalog(catalog, f"d{i}", {"path": f"d{i}.csv"})
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(load_catalog(catalog)[0]) == sorted(f"d{i}" for i in range(12))


def _add_several(catalog: str, names: list[str]) -> None:
    # Runs in a child process: one writer among several.
    for name in names:
        add_to_catalog(catalog, name, {"path": f"{name}.csv"})


def test_concurrent_adds_from_processes_all_land(tmp_path):
    catalog = tmp_path / "catalog.yml"
    write(catalog, "# shared by four writers\ndatasets:\n  first: {path: first.csv}\n")
    batches = [[f"p{p}-{i}" for i in range(5)] for p in range(4)]
    spawn = multiprocessing.get_context("spawn")  # no fork of a threaded test process
    with ProcessPoolExecutor(len(batches), mp_context=spawn) as pool:
        for done in [pool.submit(_add_several, str(catalog), batch) for batch in batches]:
            done.result(timeout=120)
    datasets, errors = load_catalog(catalog)
    assert errors == []
    assert sorted(datasets) == sorted(["first", *(n for batch in batches for n in batch)])
    assert catalog.read_text().startswith("# shared by four writers\ndatasets:\n  first:")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_add_keeps_every_comment_quote_and_the_order_of_the_other_entries(data):
    text = """\
# Team datasets -- keep sorted.

datasets:
  # The monthly shards; ask Ana before changing.
  zeta: {path: sales/*.csv, description: "Sales: all months"}   # flow style kept
  alpha:
    path: sales.parquet       # the converted copy
    read_options: {columns: [store, amount], blocksize: 1.50e6}
  broken: {path: b.csv, fromat: csv}  # left for its owner to fix
# end of the list
"""
    catalog = write(data / "catalog.yml", text)
    add_to_catalog(catalog, "new", {"path": "sales/2024-01.csv", "groupby": ["store"]})
    rewritten = catalog.read_text()
    old_part, _, _ = text.partition("# end of the list")
    assert rewritten.startswith(old_part)  # every byte before the new entry, as the user wrote it
    assert rewritten.endswith("# end of the list\n")
    assert "  new:\n    path: sales/2024-01.csv\n    groupby:\n    - store\n" in rewritten
    assert list(yaml.safe_load(rewritten)["datasets"]) == ["zeta", "alpha", "broken", "new"]
    datasets, errors = load_catalog(catalog)
    assert sorted(datasets) == ["alpha", "new", "zeta"]
    assert len(errors) == 1 and "unknown key 'fromat'" in errors[0]
    # Values come back as plain Python, not ruamel's formatting-aware subclasses.
    options = datasets["alpha"].read_options
    assert options == {"columns": ["store", "amount"], "blocksize": 1.5e6}
    assert type(options["blocksize"]) is float
    assert type(datasets["zeta"].description) is str


def test_repeated_keys_anywhere_in_an_entry_stop_an_add_with_their_lines(tmp_path):
    catalog = write(tmp_path / "catalog.yml", "datasets:\n  a:\n    path: a.csv\n"
                    "    read_options: {sep: ',', sep: ';'}\n")
    before = catalog.read_bytes()
    with pytest.raises(DatasetError) as info:
        add_to_catalog(catalog, "b", {"path": "b.csv"})
    assert str(info.value) == (f"The catalog {catalog} repeats the key 'sep' (lines 4 and 4); "
                               "fix it before adding a dataset, so that saving does not drop "
                               "one of them.")
    assert catalog.read_bytes() == before


def test_a_tag_is_refused_with_its_line_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    catalog = write(tmp_path / "catalog.yml", "datasets:\n  good: {path: a.csv}\n"
                    f"  x: !!python/object/apply:os.system ['touch {marker}']\n")
    datasets, errors = load_catalog(catalog)
    assert datasets == {} and not marker.exists()
    assert errors == [f"The catalog {catalog} is not valid YAML (line 3, column 6: could not "
                      "determine a constructor for the tag "
                      "'tag:yaml.org,2002:python/object/apply:os.system'); no dataset could be "
                      "read from it."]


def test_a_busy_catalog_is_a_sentence_not_a_hang(tmp_path, monkeypatch):
    catalog = write(tmp_path / "catalog.yml", "datasets: {}\n")
    monkeypatch.setattr(catalog_module, "LOCK_TIMEOUT", 0.2)
    with FileLock(tmp_path / ".catalog.yml.lock"):  # another writer holds it
        with pytest.raises(DatasetError) as info:
            add_to_catalog(catalog, "a", {"path": "a.csv"})
    assert str(info.value) == (f"The catalog {catalog} is being changed by someone else; try "
                               "again in a moment. Nothing was added.")
    assert catalog.read_text() == "datasets: {}\n"
    add_to_catalog(catalog, "a", {"path": "a.csv"})
    assert list(load_catalog(catalog)[0]) == ["a"]


def test_a_symlinked_catalog_stays_a_link(tmp_path):
    real = write(tmp_path / "real.yml", "datasets: {}\n")
    link = tmp_path / "catalog.yml"
    link.symlink_to(real)
    add_to_catalog(link, "a", {"path": "a.csv"})
    assert link.is_symlink()
    assert "a" in load_catalog(real)[0]


# --- converting -------------------------------------------------------------------


def test_convert_to_parquet_is_lazy_and_atomic(data):
    source = CatalogDataset(name="sales", path="sales/*.csv", groupby=["store"], target="amount")
    target = data / "out" / "sales.parquet"
    written, converted = convert_to_parquet(source, target)
    assert not target.exists()  # nothing is written before compute
    assert (converted.name, converted.format, converted.path) == ("sales-parquet", "parquet",
                                                                  str(target))
    assert (converted.groupby, converted.target) == (["store"], "amount")
    assert written.compute() == str(target)
    pd.testing.assert_frame_equal(converted.to_dask().compute().reset_index(drop=True), SALES,
                                  check_dtype=False)
    assert [p.name for p in target.parent.iterdir()] == ["sales.parquet"]  # no temp left
    with pytest.raises(DatasetError, match="already exists"):
        convert_to_parquet(source, target)


def test_convert_to_parquet_default_target(data):
    source = CatalogDataset(name="sales", path="sales/*.csv")
    assert parquet_target(source) == data / "sales" / "sales.parquet"
    with dask.config.set({"workbench.datasets.cache-dir": str(data / "cache")}):
        assert parquet_target(source) == data / "cache" / "sales.parquet"
