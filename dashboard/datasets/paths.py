"""Where a dataset path may point.

Locally a path is the user's own business: ``resolve_local`` only expands ``~``
and makes it relative to the data folder. On a shared (hosted) server ``confine``
keeps paths inside the configured root folders and URLs to the allowed fsspec
protocols, so one user cannot read another's files or the server's secrets.
Both return the path to read: callers must read *that*, not the original.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

from .base import DatasetError

# What fsspec expands in a path; the folders before the first such part are the
# "prefix" that must itself lie inside a root.
GLOB_CHARS = "*?["
# "s3://...", "file://...": fsspec's spelling of a protocol.
_PROTOCOL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# Protocols that mean "this machine's files".
LOCAL_PROTOCOLS = ("file", "local")


def protocol_of(path: str) -> str | None:
    """The fsspec protocol of ``path`` in lower case, or None for a plain path."""
    match = _PROTOCOL.match(path)
    if match:
        return match.group(1).lower()
    if path.startswith("data:"):  # fsspec reads inline "data:" URLs too
        return "data"
    return None


def is_local(path: str) -> bool:
    """Whether ``path`` names files on this machine (plain path or ``file://``)."""
    return protocol_of(path) in (None, *LOCAL_PROTOCOLS)


def has_glob(path: str) -> bool:
    return any(c in path for c in GLOB_CHARS)


def _strip_local_protocol(path: str) -> str:
    protocol = protocol_of(path)
    if protocol in LOCAL_PROTOCOLS:
        return path[len(protocol) + len("://"):]
    return path


def _check_text(path) -> str:
    if not isinstance(path, str) or not path.strip():
        raise DatasetError("A dataset path must be a non-empty piece of text.")
    if "\x00" in path:
        raise DatasetError(f"The path {path!r} contains a NUL byte, which no file name may hold.")
    return path.strip()


def resolve_local(path: str, base: str | os.PathLike) -> str:
    """The path to read when not hosted: ``~`` expanded, relative to ``base``.

    URLs other than ``file://`` are returned unchanged; ``file://`` becomes a plain path.
    """
    path = _check_text(path)
    if not is_local(path):
        return path
    path = os.path.expanduser(_strip_local_protocol(path))
    if not os.path.isabs(path):
        path = os.path.join(os.path.expanduser(os.fspath(base)), path)
    return os.path.normpath(path)


def _inside(real: str, roots: list[str]) -> bool:
    return any(os.path.commonpath([real, root]) == root for root in roots)


def glob_prefix(path: str) -> str:
    """The folders of ``path`` before its first part holding a glob character."""
    parts = Path(path).parts
    for i, part in enumerate(parts):
        if has_glob(part):
            return str(Path(*parts[:i]))
    return path


def _walk(folder: str):
    """Every entry under ``folder``, following symlinked folders once each."""
    seen = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:  # a symlink loop, or two links to one folder
            dirs[:] = []
            continue
        seen.add(real)
        for name in dirs + files:
            yield os.path.join(top, name)


def confine(path: str, roots: list[Path], protocols: list[str]) -> str:
    """The path to read on a hosted server, or DatasetError naming the rule it breaks.

    See ``confine_files``, which also returns the files a glob was checked against.
    """
    return confine_files(path, roots, protocols)[0]


def confine_files(path: str, roots: list[Path],
                  protocols: list[str]) -> tuple[str, list[str] | None]:
    """``(path to read, files)`` on a hosted server, or DatasetError naming the rule it breaks.

    - URLs must use one of ``protocols``; ``file://`` and plain paths count as
      ``file``, and chained URLs (``a::b://...``) are refused outright.
    - Local paths (after ``~`` expansion; relative ones are relative to the
      first root) must resolve, symlinks included, inside one of ``roots``. For a
      glob, the folders before the glob and every file it matches are checked;
      for a folder, everything inside it.

    Returns the normalised path: an absolute path with symlinks resolved (for a
    glob, its prefix resolved), or the URL unchanged. For a local glob, ``files``
    lists what it matched when checked (resolved, in glob order); else None. A
    reader must be given that list, not the glob: expanding the glob again (dask
    does, and for Parquet only at compute time) would read whatever matches *then*,
    a link out of the root created after the check included.
    """
    path = _check_text(path)
    allowed = {p.lower() for p in protocols}
    if {"file", "local"} & allowed:
        allowed |= set(LOCAL_PROTOCOLS)
    if "::" in path:
        raise DatasetError(
            f"The path {path!r} chains several protocols with '::', which this shared "
            "server does not allow.")
    protocol = protocol_of(path) or "file"
    if protocol not in allowed:
        shown = ", ".join(sorted(p for p in allowed if p != "local")) or "none"
        raise DatasetError(
            f"The path {path!r} uses the protocol '{protocol}', which this shared server "
            f"does not allow (allowed: {shown}).")
    if protocol not in LOCAL_PROTOCOLS:
        return path, None
    if not roots:
        raise DatasetError("This shared server has no data folders configured, so no local "
                           f"path is allowed, not even {path!r}.")
    real_roots = [os.path.realpath(os.path.expanduser(os.fspath(r))) for r in roots]

    local = os.path.expanduser(_strip_local_protocol(path))
    if not os.path.isabs(local):
        local = os.path.join(real_roots[0], local)
    local = os.path.normpath(local)  # collapses "..", so the check below sees the target
    where = " or ".join(real_roots)
    given_roots = real_roots + [os.path.abspath(os.path.expanduser(os.fspath(r))) for r in roots]

    def refuse(what: str) -> DatasetError:
        return DatasetError(
            f"The path {path!r} {what} outside the data folders of this shared server "
            f"({where}); only files inside them may be read.")

    def outside(lexical: str) -> DatasetError:
        # Name the place only when the user spelt it; a link's target stays private.
        if not _inside(lexical, given_roots):
            return refuse(f"points to {lexical},")
        return refuse("goes through a link to a place")

    glob = has_glob(local)
    if glob:
        prefix = glob_prefix(local)
        real_prefix = os.path.realpath(prefix)
        if not _inside(real_prefix, real_roots):
            raise outside(prefix)
        local = os.path.join(real_prefix, os.path.relpath(local, prefix))
        matches = LocalFileSystem().glob(local)
    else:
        real = os.path.realpath(local)
        if not _inside(real, real_roots):
            raise outside(local)
        local = real
        matches = [real] if os.path.exists(real) else []

    for match in matches:
        entries = [match, *(_walk(match) if os.path.isdir(match) else ())]
        for entry in entries:
            real = os.path.realpath(entry)
            if not _inside(real, real_roots):
                raise refuse(f"reaches {entry}, a link to a place")
    files = list(dict.fromkeys(os.path.realpath(m) for m in matches)) if glob else None
    return local, files


def parquet_rows(source) -> int:
    """Rows of local Parquet files (a file, folder, glob or list), from their footers."""
    import pyarrow.dataset as ds
    if isinstance(source, str) and has_glob(source):
        source = LocalFileSystem().glob(source)
    return ds.dataset(source, format="parquet").count_rows()


def files_token(location: str) -> str:
    """A digest of the name, size and modification time of every local file ``location``
    reads (a file, a glob, or a folder such as a Parquet dataset), for cache keys: a
    rewritten file changes it.

    URLs other than ``file://`` give "": asking a remote store for each object's
    ETag would cost a round trip on every run, so a rewritten remote object can still
    be served from the cache.
    """
    if not is_local(location):
        return ""
    path = _strip_local_protocol(location)
    matches = LocalFileSystem().glob(path) if has_glob(path) else [path]
    listing = []
    for match in sorted(matches):
        for entry in ([match, *sorted(_walk(match))] if os.path.isdir(match) else [match]):
            try:
                info = os.stat(entry)
            except OSError:  # gone meanwhile, or never there: reading it will say so
                continue
            if stat.S_ISREG(info.st_mode):
                listing.append(f"{entry}\0{info.st_size}\0{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(listing).encode()).hexdigest()[:16] if listing else ""
