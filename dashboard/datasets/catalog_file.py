"""The catalog file: reading it without losing a problem, adding to it without corrupting it.

A bad entry never hides the good ones: ``load_catalog`` returns the datasets it
could build and one sentence per problem. ``add_to_catalog`` rewrites the file
atomically under a lock, so a failure leaves the previous catalog as it was.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from .. import config
from .base import DatasetError
from .catalog import (ENTRY_KEYS, FORMATS, NAME, TOP_KEYS, CatalogDataset, _did_you_mean,
                      check_read_options, infer_format)

def catalog_path() -> Path:
    """The configured catalog file (``datasets.catalog``), else ``<data-dir>/catalog.yml``."""
    configured = config.get("datasets.catalog")
    return Path(configured).expanduser() if configured else config.data_dir() / "catalog.yml"


def adding_allowed() -> bool:
    """Whether users may add datasets (``datasets.allow-add``; null: only when not hosted)."""
    allowed = config.get("datasets.allow-add")
    return (not config.hosted()) if allowed is None else bool(allowed)


class _Mapping(dict):
    """A YAML mapping that remembers the line of each key and the keys given twice."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines: dict = {}
        self.duplicates: list[tuple] = []  # (key, first line, repeated line)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps the *first* of duplicate keys and records the others.

    Plain YAML loading silently keeps the last one, so a second ``sales:`` entry
    would replace the first without a word.
    """

    def construct_mapping(self, node, deep=False):
        own = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
        self.flatten_mapping(node)  # "<<" merge keys come first, own keys override them
        merged = node.value[:len(node.value) - len(own)]
        mapping = _Mapping()
        for key_node, value_node in merged:
            mapping[self.construct_object(key_node, deep=True)] = \
                self.construct_object(value_node, deep=deep)
        for key_node, value_node in own:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError as e:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found unhashable key", key_node.start_mark) from e
            line = key_node.start_mark.line + 1
            if key in mapping.lines:
                mapping.duplicates.append((key, mapping.lines[key], line))
                continue
            mapping.lines[key] = line
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_map(self, node):
        data = _Mapping()
        yield data
        value = self.construct_mapping(node)
        data.update(value)
        data.lines, data.duplicates = value.lines, value.duplicates


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


def _parse(text: str, source) -> object:
    """The YAML document, or DatasetError with the line of the problem."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = e.problem or e.context
        raise DatasetError(f"The catalog {source} is not valid YAML ({where}{problem}); no "
                           "dataset could be read from it.") from e
    except (yaml.YAMLError, RecursionError) as e:
        raise DatasetError(f"The catalog {source} is not valid YAML ({e}); no dataset could "
                           "be read from it.") from e


def _plain(value, memo=None):
    """Plain dicts and lists (what yaml.safe_dump and param expect); shared parts stay shared."""
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, dict):
        out = memo[id(value)] = {}
        out.update((k, _plain(v, memo)) for k, v in value.items())
        return out
    if isinstance(value, list):
        out = memo[id(value)] = []
        out.extend(_plain(v, memo) for v in value)
        return out
    return value


def _line(mapping, key) -> int | None:
    return getattr(mapping, "lines", {}).get(key)


def _entries(doc, source) -> tuple[dict, list[str]]:
    """The ``datasets`` mapping of a parsed catalog, and the problems around it."""
    if doc is None:
        return {}, []
    if not isinstance(doc, dict):
        return {}, [f"The catalog {source} should be a mapping starting with 'datasets:', "
                    "with one entry per dataset under it."]
    errors = []
    for key in doc:
        if key not in TOP_KEYS:
            errors.append(f"The catalog {source} has an unknown top-level key '{key}' (line "
                          f"{_line(doc, key)}){_did_you_mean(key, TOP_KEYS)}; only "
                          "'datasets:' is read.")
    for key, first, again in getattr(doc, "duplicates", []):
        errors.append(f"The catalog {source} has '{key}:' twice (lines {first} and {again}); "
                      f"the one at line {again} is ignored.")
    datasets = doc.get("datasets")
    if datasets is None:
        return {}, errors
    if not isinstance(datasets, dict):
        return {}, errors + [f"In the catalog {source}, 'datasets:' should hold one entry per "
                             "dataset (name: {path: ...}), not a list or a single value."]
    for key, first, again in getattr(datasets, "duplicates", []):
        errors.append(f"The catalog {source} lists the dataset '{key}' twice (lines {first} "
                      f"and {again}); the entry at line {again} is ignored. Rename or remove "
                      "one of them.")
    return datasets, errors


def dataset_from_entry(name, entry, source=None, line: int | None = None) -> CatalogDataset:
    """Validate one catalog entry and build its dataset; DatasetError says what is wrong.

    ``source`` (the catalog file) and ``line`` only make the messages precise.
    """
    where = f"Dataset '{name}'" + (f" in {source}" if source else "") + \
        (f" (line {line})" if line else "")
    if not isinstance(name, str) or not NAME.match(name):
        raise DatasetError(
            f"The dataset name '{name}'" + (f" in {source}" if source else "") + " is not "
            "allowed: use up to 64 letters, digits, '-', '_' or '.', starting with a letter "
            "or digit.")
    if not isinstance(entry, dict):
        raise DatasetError(f"{where} should be a mapping with at least a path, e.g. "
                           "{path: data/sales.csv}.")
    if getattr(entry, "duplicates", None):
        key, first, again = entry.duplicates[0]
        raise DatasetError(f"{where} gives '{key}' twice (lines {first} and {again}); keep "
                           "one of them.")
    unknown = [k for k in entry if k not in ENTRY_KEYS]
    if unknown:
        raise DatasetError(f"{where}: " + "; ".join(
            f"unknown key '{k}'{_did_you_mean(k, ENTRY_KEYS)}" for k in unknown) +
            f". Known keys: {', '.join(ENTRY_KEYS)}.")
    entry = _plain(entry)

    path = entry.get("path")
    if not isinstance(path, str) or not path.strip():
        raise DatasetError(f"{where} has no path: give a file, a glob such as data/*.csv, "
                           "or a URL such as s3://bucket/sales.parquet.")
    if "\x00" in path:
        raise DatasetError(f"{where}: the path contains a NUL byte, which no file name may hold.")
    fmt = entry.get("format")
    if fmt is None:
        fmt = infer_format(path)
        if fmt is None:
            raise DatasetError(f"{where}: cannot tell the format of {path} from its "
                               "extension; add format: csv or format: parquet.")
    elif not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise DatasetError(f"{where}: the format '{fmt}' is not supported; use 'csv' or "
                           f"'parquet'{_did_you_mean(fmt, FORMATS)}.")
    fmt = fmt.lower()
    read_options = check_read_options(fmt, entry.get("read_options"), where)
    storage_options = entry.get("storage_options") or {}
    if not isinstance(storage_options, dict) or not all(isinstance(k, str)
                                                        for k in storage_options):
        raise DatasetError(f"{where}: storage_options should be a mapping of option names "
                           "to values, e.g. {anon: true}.")
    groupby = entry.get("groupby") or []
    if isinstance(groupby, str):
        groupby = [groupby]
    if not isinstance(groupby, list) or not all(isinstance(g, str) for g in groupby):
        raise DatasetError(f"{where}: groupby should be a list of column names, e.g. [store].")
    for key in ("description", "target"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise DatasetError(f"{where}: {key} should be text.")
    try:
        return CatalogDataset(
            name=name, path=path.strip(), format=fmt, read_options=read_options,
            storage_options=storage_options, description=entry.get("description") or "",
            target=entry.get("target"), groupby=groupby)
    except (ValueError, TypeError) as e:  # param's own checks; should not happen
        raise DatasetError(f"{where}: {e}") from e


def load_catalog(path) -> tuple[dict[str, CatalogDataset], list[str]]:
    """The datasets in the catalog at ``path``, and one sentence per problem found.

    A missing file is an empty catalog; malformed YAML is one error and no datasets;
    a bad entry is an error that leaves the other entries loaded.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except UnicodeDecodeError:
        return {}, [f"The catalog {path} is not UTF-8 text; save it as UTF-8."]
    except OSError as e:
        return {}, [f"The catalog {path} cannot be read ({e.strerror or e})."]
    try:
        doc = _parse(text, path)
    except DatasetError as e:
        return {}, [str(e)]
    entries, errors = _entries(doc, path)
    datasets = {}
    for name, entry in entries.items():
        try:
            datasets[name] = dataset_from_entry(name, entry, path, _line(entries, name))
        except DatasetError as e:
            errors.append(str(e))
    return datasets, errors


# --- adding -----------------------------------------------------------------------


def _duplicates(value) -> list[tuple]:
    found, stack, seen = [], [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            found += getattr(item, "duplicates", [])
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item
    return found


def _header(text: str) -> str:
    """The leading comment block of a catalog, kept when the file is rewritten."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def _clean(entry: dict) -> dict:
    """The entry as it is saved: known keys in a fixed order, empty ones left out."""
    out = {key: _plain(entry[key]) for key in ENTRY_KEYS
           if entry.get(key) not in (None, "", [], {})}
    if isinstance(out.get("groupby"), str):
        out["groupby"] = [out["groupby"]]
    return out


@contextlib.contextmanager
def _locked(path: Path):
    """Serialise writers of one catalog (threads and processes) with a lock file beside it."""
    try:
        import fcntl
    except ImportError:  # Windows: atomic replace still protects readers
        yield
        return
    with open(path.parent / f".{path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a temp file in the same folder, fsync, os.replace.

    Readers see the old file or the new one, never half of one; on failure the
    old file is untouched and the temp file removed.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        except FileNotFoundError:
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a new catalog from others
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def add_to_catalog(path, name: str, entry: dict, reserved: Iterable[str] = ()) -> CatalogDataset:
    """Validate ``entry`` and save it as dataset ``name``; return the new dataset.

    Refuses (DatasetError) a bad name or entry, a name already in the catalog or in
    ``reserved`` (e.g. the built-in datasets), and a catalog that cannot be parsed
    or repeats a key (rewriting it would lose data). The other entries are kept;
    comments other than the leading block are not.
    """
    path = Path(os.path.realpath(Path(path).expanduser()))  # a symlinked catalog stays a link
    dataset = dataset_from_entry(name, entry)
    try:
        dataset.location()  # on a shared server, refuse paths it would never read
    except DatasetError as e:
        raise DatasetError(f"Dataset '{name}' cannot be added: {e}") from e
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"The catalog folder {path.parent} cannot be created "
                           f"({e.strerror or e}).") from e
    with _locked(path):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(f"The catalog {path} cannot be read ({e}); nothing was "
                               "added.") from e
        doc = _parse(text, path) if text.strip() else None
        if doc is None:
            doc = {}
        # Unknown keys and bad entries elsewhere are kept as they are; only a shape
        # that cannot take a new entry, or repeated keys, stop the add.
        if not isinstance(doc, dict) or not isinstance(doc.get("datasets") or {}, dict):
            raise DatasetError(f"The catalog {path} must be fixed before a dataset can be "
                               "added: it should be a mapping starting with 'datasets:'.")
        entries = doc.get("datasets") or {}
        for key, first, again in _duplicates(doc):
            raise DatasetError(f"The catalog {path} repeats the key '{key}' (lines {first} and "
                               f"{again}); fix it before adding a dataset, so that saving "
                               "does not drop one of them.")
        if name in entries or name in set(reserved):
            where = (f"already in {path}" if name in entries
                     else "already taken by a built-in dataset")
            raise DatasetError(f"A dataset named '{name}' is {where}; choose another name.")
        doc = _plain(doc)
        doc["datasets"] = {**(doc.get("datasets") or {}), name: _clean(entry)}
        try:
            new_text = _header(text) + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True,
                                                      default_flow_style=False)
        except yaml.YAMLError as e:
            raise DatasetError(f"Dataset '{name}' cannot be saved in {path}: its options may "
                               "only hold text, numbers, true/false, lists and mappings.") from e
        try:
            write_atomically(path, new_text)
        except OSError as e:
            raise DatasetError(f"The catalog {path} could not be written ({e.strerror or e}); "
                               "it was left unchanged.") from e
    return dataset


