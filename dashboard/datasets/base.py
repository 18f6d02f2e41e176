"""What a dataset is: a named, described recipe for a lazy Dask DataFrame.

Datasets never import Panel. Their params are the options a user may set (size,
seed, file format...); ``to_dask()`` builds the lazy collection and reads nothing
beyond metadata.
"""
from __future__ import annotations

from typing import ClassVar

import dask.dataframe as dd
import param


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
