"""What a dataset is: a named, described recipe for a lazy Dask DataFrame.

Datasets never import Panel. Their params are the options a user may set (size,
seed, file format...); ``to_dask()`` builds the lazy collection and reads nothing
beyond metadata.
"""
from __future__ import annotations

import threading
from typing import ClassVar

import dask.dataframe as dd
import param
from cachetools import LRUCache
from dask.base import tokenize

# Lazy frames by content (``cache_token``), for every session of the process.
_FRAMES: LRUCache = LRUCache(maxsize=16)
_FRAMES_LOCK = threading.Lock()


class DatasetError(ValueError):
    """A dataset cannot be used; the message is a sentence meant for the user."""


class Dataset(param.Parameterized):
    """Base of every dataset kind; subclasses set ``kind`` and implement ``to_dask``."""

    kind: ClassVar[str] = ""

    name = param.String(default="", doc="Unique name shown in the picker and the URL.")
    description = param.String(default="", doc="One line on what the data is.")
    synthetic = param.Boolean(default=False, constant=True, doc=(
        "Generated data rather than real measurements; the UI labels it so."))
    target = param.String(default=None, allow_None=True, doc=(
        "Default target column for model search."))
    groupby = param.List(default=[], item_type=str, doc="Suggested group-by keys.")
    values = param.List(default=[], item_type=str, doc=(
        "Suggested value columns for group-bys (else the target, else the first number)."))

    # Params shown as the dataset's options in the picker (size, seed, format...).
    options: ClassVar[tuple[str, ...]] = ()

    def to_dask(self) -> dd.DataFrame:
        """The lazy Dask DataFrame. Raises DatasetError with a clear sentence."""
        raise NotImplementedError

    def frame(self) -> dd.DataFrame:
        """``to_dask()``, built once per content and kept: building reads the files'
        metadata (~25 ms for the flights' 12 files, on every Run before), and a lazy
        frame is immutable. A rewritten file is new content (``cache_token``). Blocking:
        call it in a thread."""
        # The class too: a notebook's dataset class defined again is other content.
        key = (type(self), tokenize(self.cache_token()))
        with _FRAMES_LOCK:
            ddf = _FRAMES.get(key)
        if ddf is None:
            ddf = self.to_dask()
            with _FRAMES_LOCK:
                _FRAMES[key] = ddf
        return ddf

    def row_count(self) -> int | None:
        """Exact rows when known without reading data (an option, file metadata)."""
        return None

    def parquet_files(self) -> list[str] | None:
        """Local Parquet files holding the frame's columns as they are, which a group-by
        may read straight into Arrow (``compute.arrow_groupby``); None: use ``to_dask``."""
        return None

    def cache_token(self) -> tuple:
        """What identifies this dataset's content: name, kind and option values."""
        return (self.kind, self.name, *((o, getattr(self, o)) for o in self.options))
