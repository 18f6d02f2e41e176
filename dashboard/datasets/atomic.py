"""Writing a file or a folder so that readers see the old one or the new one, never half.

The one recipe for the catalog, the flights copies and "Convert to Parquet": write
under a hidden temporary name in the same folder (so the rename never crosses file
systems), fsync, rename into place, fsync the folder. A failure removes the temporary
copy and leaves the target as it was.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path


def temporary_sibling(target) -> Path:
    """A hidden, unique name beside ``target`` to write it under: ``.<name>.<hex>.tmp``."""
    target = Path(target)
    return target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"


def publish(tmp, target) -> None:
    """Move the finished ``tmp`` (a file or a folder) to ``target``, durably.

    A file replaces ``target`` and keeps its permissions. A folder is only ever
    published once: if another writer got there first, its copy is kept and ``tmp``
    dropped. On any other failure ``tmp`` is removed and the error raised.
    """
    tmp, target = Path(tmp), Path(target)
    folder = tmp.is_dir()
    try:
        if folder:
            for parent, _, files in os.walk(tmp):
                for name in files:
                    _fsync(os.path.join(parent, name))
        else:
            _fsync(tmp)
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException as e:
        _remove(tmp)
        if not (folder and isinstance(e, OSError) and target.is_dir()):
            raise
        return  # lost a race to another writer of the same folder: theirs is as good
    with contextlib.suppress(OSError):  # make the rename itself durable
        _fsync(target.parent, directory=True)


@contextlib.contextmanager
def replacing(target, *, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``target`` to; publish it when the block succeeds.

    With ``folder=True`` the path is an empty folder to fill; otherwise it is a file
    name to create. If the block raises, the temporary copy is removed and ``target``
    left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(target)
    if folder:
        tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    publish(tmp, target)


def _fsync(path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()
