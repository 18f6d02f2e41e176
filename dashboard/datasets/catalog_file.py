"""The catalog file: reading it without losing a problem, adding to it without corrupting it.

A bad entry never hides the good ones: ``load_catalog`` returns the datasets it
could build and one sentence per problem. ``add_to_catalog`` rewrites the file
atomically under a lock, so a failure leaves the previous catalog as it was.
"""
from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable
from pathlib import Path

from filelock import FileLock, Timeout
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.tokens import CommentToken

from .. import config
from .atomic import replacing
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


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, made to go on past a repeated key.

    ruamel finds the repeat (``DuplicateKeyError``); stopping there would hide every good
    entry behind one slip. The *first* value is kept (not YAML's silent last one) and the
    repeat recorded on its mapping as ``(key, first line, repeated line)``. Unknown tags
    (``!!python/...``, ``!foo``) are refused, as a safe loader does, rather than kept.
    """

    def check_mapping_key(self, node, key_node, mapping, key, value) -> bool:
        try:
            return super().check_mapping_key(node, key_node, mapping, key, value)
        except DuplicateKeyError as e:
            repeat = (key, _line(mapping, key), e.problem_mark.line + 1)
            mapping.duplicates = [*getattr(mapping, "duplicates", []), repeat]
            return False


_Constructor.add_constructor(None, SafeConstructor.construct_undefined)


def _yaml() -> YAML:
    """A round-trip YAML instance (not thread-safe, so one per use)."""
    handler = YAML(typ="rt")
    handler.Constructor = _Constructor
    handler.preserve_quotes = True  # a rewrite keeps the user's "quoted" values quoted
    handler.width = 4096  # and never re-folds their long lines
    return handler


def _parse(text: str, source) -> object:
    """The YAML document (comments and order kept), or DatasetError with the line of the
    problem."""
    try:
        return _yaml().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = e.problem or e.context
        raise DatasetError(f"The catalog {source} is not valid YAML ({where}{problem}); no "
                           "dataset could be read from it.") from e
    except (YAMLError, RecursionError) as e:
        raise DatasetError(f"The catalog {source} is not valid YAML ({e}); no dataset could "
                           "be read from it.") from e


def _plain(value, memo=None):
    """Plain dicts, lists and scalars (what param and the readers expect); shared parts
    stay shared. ruamel's scalar subclasses only remember how a value was written."""
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
    if isinstance(value, (bool, ScalarBoolean)):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _line(mapping, key) -> int | None:
    """The line of ``key`` in a parsed mapping (None for keys brought in by ``<<``)."""
    try:
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


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


def _clean(entry: dict) -> dict:
    """The entry as it is saved: known keys in a fixed order, empty ones left out."""
    out = {key: _plain(entry[key]) for key in ENTRY_KEYS
           if entry.get(key) not in (None, "", [], {})}
    if isinstance(out.get("groupby"), str):
        out["groupby"] = [out["groupby"]]
    return out


def _commented(value):
    """``value`` as ruamel's round-trip types, which can carry comments."""
    if isinstance(value, dict):
        return CommentedMap((k, _commented(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(v) for v in value)
    return value


def _last_value(node) -> tuple | None:
    """Where ruamel keeps the comment after the deepest last value of ``node``:
    ``(comment items, key, slot)``; None for an empty or flow-style node."""
    found = None
    while isinstance(node, (CommentedMap, CommentedSeq)) and node and \
            not node.fa.flow_style():
        if isinstance(node, dict):  # keys brought in by "<<" have no line and no comments
            key = ([k for k in node if _line(node, k) is not None] or list(node))[-1]
        else:
            key = len(node) - 1
        found = (node.ca.items, key, 2 if isinstance(node, dict) else 0)
        node = node[key]
    return found


def _append(entries: CommentedMap, name: str, entry: dict) -> None:
    """Put ``name: entry`` last in ``entries``, below the comments that ended the list.

    ruamel hangs the comment lines after the last entry on that entry's deepest value;
    left there they would come out between the old last entry and the new one.
    """
    before = _last_value(entries)
    entries[name] = _commented(entry)
    after = _last_value(entries[name])
    if before is None or after is None:
        return
    items, key, slot = before
    token = (items.get(key) or [None] * 4)[slot]
    line_end, newline, following = (token.value if token else "").partition("\n")
    if "#" not in following:
        return
    token.value = line_end + newline  # a comment on the old last line stays there
    items, key, slot = after
    items.setdefault(key, [None] * 4)[slot] = CommentToken("\n" + following, token.start_mark)


# Long enough for any real rewrite; a stuck writer elsewhere becomes a sentence, not a hang.
LOCK_TIMEOUT = 30


@contextlib.contextmanager
def _locked(path: Path):
    """Serialise writers of one catalog (threads and processes) with a lock file beside it."""
    lock = FileLock(path.parent / f".{path.name}.lock", timeout=LOCK_TIMEOUT)
    try:
        lock.acquire()
    except Timeout as e:  # a TimeoutError, so an OSError: caught first
        raise DatasetError(f"The catalog {path} is being changed by someone else; try again "
                           "in a moment. Nothing was added.") from e
    except OSError as e:
        raise DatasetError(f"The catalog {path} cannot be locked for writing "
                           f"({e.strerror or e}); nothing was added.") from e
    try:
        yield
    finally:
        lock.release()


def _dump(doc) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def add_to_catalog(path, name: str, entry: dict, reserved: Iterable[str] = ()) -> CatalogDataset:
    """Validate ``entry`` and save it as dataset ``name``; return the new dataset.

    Refuses (DatasetError) a bad name or entry, a name already in the catalog or in
    ``reserved`` (e.g. the built-in datasets), and a catalog that cannot be parsed
    or repeats a key (rewriting it would lose data). Everything else in the file,
    comments, order and entries this app cannot read included, is kept.
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
        # Unknown keys and bad entries elsewhere are kept as they are; only a shape
        # that cannot take a new entry, or repeated keys, stop the add.
        if doc is not None and (not isinstance(doc, dict)
                                or not isinstance(doc.get("datasets") or {}, dict)):
            raise DatasetError(f"The catalog {path} must be fixed before a dataset can be "
                               "added: it should be a mapping starting with 'datasets:'.")
        for key, first, again in _duplicates(doc):
            raise DatasetError(f"The catalog {path} repeats the key '{key}' (lines {first} and "
                               f"{again}); fix it before adding a dataset, so that saving "
                               "does not drop one of them.")
        entries = (doc or {}).get("datasets") or {}
        if name in entries or name in set(reserved):
            where = (f"already in {path}" if name in entries
                     else "already taken by a built-in dataset")
            raise DatasetError(f"A dataset named '{name}' is {where}; choose another name.")
        try:
            if doc is None:  # empty, or only comments: keep them, start the mapping below
                head = text if not text or text.endswith("\n") else text + "\n"
                new_text = head + _dump({"datasets": {name: _clean(entry)}})
            else:
                if not isinstance(doc.get("datasets"), CommentedMap) or not entries:
                    doc["datasets"] = entries = CommentedMap()  # `datasets:` bare or `{}`
                _append(entries, name, _clean(entry))
                new_text = _dump(doc)
        except YAMLError as e:
            raise DatasetError(f"Dataset '{name}' cannot be saved in {path}: its options may "
                               "only hold text, numbers, true/false, lists and mappings.") from e
        try:
            with replacing(path) as tmp:
                tmp.write_text(new_text, encoding="utf-8")
        except OSError as e:
            raise DatasetError(f"The catalog {path} could not be written ({e.strerror or e}); "
                               "it was left unchanged.") from e
    return dataset
