"""What the picker shows of a dataset, worked out from its first partition only."""
from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.dataframe as dd
import pandas as pd
from dask.delayed import Delayed
from distributed import Client

HEAD_KEPT = 20  # rows kept of a first partition; a summary shows up to this many


@dataclass
class DatasetSummary:
    columns: dict[str, str]
    npartitions: int
    rows_estimate: int
    bytes_estimate: int
    head: pd.DataFrame
    exact: bool = False  # rows_estimate is the row count, not an estimate


def _figures(frame: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
    return len(frame), int(frame.memory_usage(deep=True).sum()), frame.head(HEAD_KEPT)


def first_partition(ddf: dd.DataFrame) -> Delayed:
    """Lazy ``(rows, bytes in memory, first rows)`` of ``ddf``'s first partition,
    worked out where the partition is read: only ``HEAD_KEPT`` rows travel back."""
    (part,) = ddf.partitions[0].to_delayed()
    return dask.delayed(_figures, pure=True)(part)


def summary_of(ddf: dd.DataFrame, figures: tuple[int, int, pd.DataFrame], rows: int = 5,
               count: int | None = None) -> DatasetSummary:
    """Schema, partitions, size estimate and first rows from ``first_partition``'s figures.

    Sizes are the first partition's times the partition count, unless the dataset
    knows its ``count`` of rows (file metadata, an option): good enough to tell
    300 MB from 30 GB without reading the 30 GB.
    """
    length, nbytes, head = figures
    exact = count is not None or ddf.npartitions == 1
    if count is None:
        count = length * ddf.npartitions
    return DatasetSummary(
        columns={name: str(dtype) for name, dtype in ddf.dtypes.items()},
        npartitions=ddf.npartitions,
        rows_estimate=count,
        bytes_estimate=int(nbytes / max(length, 1) * count),
        head=head.head(rows),
        exact=exact,
    )


async def summarize(client: Client, ddf: dd.DataFrame, rows: int = 5,
                    count: int | None = None) -> DatasetSummary:
    """The summary of ``ddf`` computed with an asynchronous ``client`` (a notebook's
    way; the app's sessions go through their job runner, which shares and keeps it)."""
    figures = await client.compute(first_partition(ddf))
    return summary_of(ddf, figures, rows, count)
