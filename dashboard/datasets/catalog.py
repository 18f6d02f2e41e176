"""User datasets: named CSV / Parquet files listed in a YAML catalog.

The catalog (``datasets.catalog``, by default ``<data-dir>/catalog.yml``) reads::

    datasets:
      sales:
        path: sales/*.csv            # file, glob or fsspec URL; relative to the data folder
        format: csv                  # optional: inferred from the extension
        description: Daily sales per store
        target: amount
        groupby: [store]
        read_options: {dtype: {store: str}}   # passed to dd.read_csv / dd.read_parquet
        storage_options: {anon: true}         # passed to fsspec

This module is the dataset kind (reading, validating options, converting to
Parquet); ``catalog_file`` reads and writes the YAML file itself.
"""
from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import param
from fsspec.implementations.local import LocalFileSystem

from .. import config
from .atomic import publish, temporary_sibling
from .base import Dataset, DatasetError
from .errors import explain
from .paths import (confine_files, files_token, glob_prefix, has_glob, is_local,
                    parquet_rows, resolve_local)

FORMATS = ("csv", "parquet")
# fsspec options a hosted dataset may set: none of them changes which host is read.
HOSTED_STORAGE_OPTIONS = {"anon", "requester_pays", "default_block_size", "default_cache_type"}
_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".parq": "parquet", ".pq": "parquet"}
# Compressed CSV keeps its format: "x.csv.gz" is CSV.
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst", ".zip")
ENTRY_KEYS = ("path", "format", "description", "target", "groupby", "read_options",
              "storage_options")
TOP_KEYS = ("datasets",)
# Names appear in URLs and the picker: keep them to a safe, readable charset.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _keywords(*functions) -> set[str]:
    return {name for f in functions for name, p in inspect.signature(f).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


# Read options are checked against the readers' own keyword names (for the
# installed versions), so a typo is caught here rather than deep inside dask.
# The path and storage options have their own fields; the rest dask refuses.
_NOT_READ_OPTIONS = {"filepath_or_buffer", "urlpath", "path", "storage_options", "iterator",
                     "chunksize", "index_col", "converters"}
READ_OPTIONS = {
    "csv": frozenset(_keywords(pd.read_csv, dd.read_csv) - _NOT_READ_OPTIONS),
    # read_parquet passes "dataset", "read" and "open_file_options" on to its engine.
    "parquet": frozenset(_keywords(dd.read_parquet) - _NOT_READ_OPTIONS
                         | {"dataset", "read", "open_file_options"}),
}


def _did_you_mean(word, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def infer_format(path: str) -> str | None:
    """``csv`` or ``parquet`` from the path's extension (globs and URLs too), else None."""
    path = path.split("?", 1)[0].rstrip("/").lower()
    for compression in _COMPRESSIONS:
        if path.endswith(".csv" + compression):
            return "csv"
    return _EXTENSIONS.get(os.path.splitext(path)[1])


def check_read_options(fmt: str, options: dict | None, who: str = "This dataset") -> dict:
    """``options`` as keyword arguments for the reader, or DatasetError naming a bad key."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise DatasetError(f"{who}: read_options should be a mapping of option names to "
                           "values, e.g. {sep: ';'}.")
    known = READ_OPTIONS[fmt]
    for key in options:
        if key == "storage_options":
            raise DatasetError(f"{who}: storage_options go in their own storage_options "
                               "entry, not inside read_options.")
        if not isinstance(key, str) or key not in known:
            raise DatasetError(f"{who}: '{key}' is not a read option for {fmt.upper()} "
                               f"files{_did_you_mean(key, known)}.")
    return dict(options)


def _frozen(value) -> str:
    # Hashable and stable across processes; hashed so credentials never show.
    text = json.dumps(value, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class CatalogDataset(Dataset):
    """A CSV or Parquet dataset named in the catalog: local files, a glob or a URL."""

    kind = "catalog"

    path = param.String(default="", doc=(
        "A file, a glob (data/*.csv) or an fsspec URL (s3://bucket/x.parquet); relative "
        "paths are relative to the data folder."))
    format = param.Selector(default="csv", objects=list(FORMATS), doc=(
        "How to read the files: dd.read_csv or dd.read_parquet."))
    read_options = param.Dict(default={}, doc=(
        "Keyword arguments for dd.read_csv / dd.read_parquet (only their known names)."))
    storage_options = param.Dict(default={}, doc=(
        "Keyword arguments for the fsspec filesystem (credentials, anon, endpoint...)."))

    def _who(self) -> str:
        return f"Dataset '{self.name}'" if self.name else "The dataset"

    def location(self) -> str:
        """The path to read: confined to the data folders when hosted, else resolved."""
        return self._locate()[0]

    def _locate(self) -> tuple[str, list[str] | None]:
        """The path, and when hosted the files a glob was checked against (see confine_files)."""
        if config.hosted():
            roots = config.get("datasets.roots") or [config.data_dir()]
            protocols = config.get("datasets.protocols")
            protocols = ["file"] if protocols is None else list(protocols)
            return confine_files(self.path, [Path(r) for r in roots], protocols)
        return resolve_local(self.path, config.data_dir()), None

    def _check_local(self, location: str) -> None:
        # Checked here for a clear sentence; dask's own errors are vaguer (an empty
        # Parquet glob even reads as an empty frame).
        shown = self.path if location == self.path else f"{self.path} (looked for {location})"
        who = self._who()
        if has_glob(location):
            files = [f for f in LocalFileSystem().glob(location) if os.path.isfile(f)]
            if not files:
                raise DatasetError(f"{who}: no files match {shown}.")
        elif not os.path.exists(location):
            raise DatasetError(f"{who}: {shown} does not exist.")
        elif os.path.isdir(location):
            if self.format == "csv":
                raise DatasetError(f"{who}: {shown} is a folder; for CSV files give a glob "
                                   f"such as {self.path.rstrip('/')}/*.csv.")
            return
        else:
            files = [location]
        for file in files:
            if os.path.getsize(file) == 0:
                kind = "a CSV file needs at least a header row" if self.format == "csv" \
                    else "it is not a Parquet file"
                raise DatasetError(f"{who}: the file {file} is empty; {kind}.")

    def _storage_options(self, who: str) -> dict | None:
        # When hosted, an endpoint or client setting could aim a read at an internal
        # host (SSRF): only options that cannot change where data comes from pass.
        if config.hosted():
            refused = sorted(set(self.storage_options) - HOSTED_STORAGE_OPTIONS)
            if refused:
                raise DatasetError(
                    f"{who}: the storage option(s) {', '.join(refused)} are not allowed on a "
                    f"shared server; allowed: {', '.join(sorted(HOSTED_STORAGE_OPTIONS))}.")
        return dict(self.storage_options) or None

    def to_dask(self) -> dd.DataFrame:
        """The lazy frame (reads only a sample / the metadata). Raises DatasetError."""
        who = self._who()
        options = check_read_options(self.format, self.read_options, who)
        try:
            location, checked = self._locate()
        except DatasetError as e:
            raise DatasetError(f"{who} cannot be read: {e}") from e
        if is_local(location):
            self._check_local(location)
        storage = self._storage_options(who)
        # Hosted: the very files that were confined, never the glob expanded again.
        if checked and self.format == "csv":
            checked = [f for f in checked if os.path.isfile(f)]  # as dask's glob would
        source = checked or location
        try:
            if self.format == "csv":
                return dd.read_csv(source, storage_options=storage, **options)
            return dd.read_parquet(source, storage_options=storage, **options)
        except Exception as e:  # every failure becomes a sentence; the cause stays chained
            raise explain(e, self) from e

    def row_count(self) -> int | None:
        """Local Parquet: its footers count the rows. Other data: known once read."""
        if self.format != "parquet":
            return None
        try:
            location, checked = self._locate()
            return parquet_rows(checked or location) if is_local(location) else None
        except (DatasetError, OSError, ValueError):
            return None

    def parquet_files(self) -> list[str] | None:
        """Local Parquet read as it is (no read or storage options): its files. A folder of
        partition folders (``year=2013/``), a URL or CSV: None."""
        if self.format != "parquet" or self.read_options or self.storage_options:
            return None
        try:
            location, checked = self._locate()  # hosted: confined again, now
        except DatasetError:
            return None
        if not is_local(location) or "://" in location:
            return None
        if checked or has_glob(location):
            files = checked or sorted(LocalFileSystem().glob(location))
        elif os.path.isdir(location):
            entries = sorted(os.scandir(location), key=lambda e: e.name)
            if any(e.is_dir() for e in entries):
                return None
            # As pyarrow's discovery (dask's reader): no _metadata, _SUCCESS or dotfiles.
            files = [e.path for e in entries if not e.name.startswith(("_", "."))]
        else:
            files = [location]
        files = [f for f in files if os.path.isfile(f)]
        return files or None

    def frame(self) -> dd.DataFrame:
        """Kept only for local files, whose changes the token follows (a remote store's
        new or rewritten objects must be seen on the next read)."""
        try:
            local = is_local(self.location())
        except DatasetError:
            local = False
        return super().frame() if local else self.to_dask()

    def cache_token(self) -> tuple:
        """The entry's settings and, for local files, their sizes and modification times."""
        try:
            files = files_token(self.location())
        except DatasetError:  # a refused path: reading it says why
            files = ""
        return (self.kind, self.name, self.path, self.format, _frozen(self.read_options),
                _frozen(self.storage_options), files)


# --- converting ----------------------------------------------------------------


def parquet_target(dataset: CatalogDataset) -> Path:
    """Where "Convert to Parquet" writes ``dataset``: ``datasets.cache-dir``, else beside
    its local source files, else the data folder; the folder is ``<name>.parquet``."""
    configured = config.get("datasets.cache-dir")
    if configured:
        folder = Path(configured).expanduser()
    else:
        location = dataset.location()
        if is_local(location):  # the folder holding the files (a glob's), or the file's
            folder = Path(glob_prefix(location)) if has_glob(location) else Path(location).parent
        else:
            folder = config.data_dir()
    return folder / f"{dataset.name}.parquet"


def _publish(_written, tmp: str, target: str) -> str:
    # Runs after every partition is written: readers never see a half-written folder.
    publish(tmp, target)
    return target


def convert_to_parquet(dataset: CatalogDataset, target_dir=None, name: str | None = None):
    """The lazy conversion of ``dataset`` to Parquet, and the dataset that reads the result.

    Returns ``(delayed, new_dataset)``; nothing is written until ``delayed`` is
    computed (on the cluster). Partitions go to a hidden temp folder beside
    ``target_dir`` (default: ``parquet_target``), renamed into place at the end.
    A failed run leaves only that temp folder; errors go through ``explain``.
    """
    target = Path(target_dir) if target_dir else parquet_target(dataset)
    if target.exists():
        raise DatasetError(f"Dataset '{dataset.name}': {target} already exists; remove it or "
                           "choose another folder for the Parquet copy.")
    ddf = dataset.to_dask()
    tmp = temporary_sibling(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        written = ddf.to_parquet(str(tmp), compute=False, write_index=False)
    except Exception as e:
        raise explain(e, dataset) from e
    converted = CatalogDataset(
        name=name or f"{dataset.name}-parquet", path=str(target), format="parquet",
        description=dataset.description, target=dataset.target, groupby=list(dataset.groupby))
    return dask.delayed(_publish)(written, str(tmp), str(target)), converted
