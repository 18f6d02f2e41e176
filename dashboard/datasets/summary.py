"""What the picker shows of a dataset, computed from its first partition only."""
from __future__ import annotations

from dataclasses import dataclass

import dask.dataframe as dd
import pandas as pd
from dask.base import tokenize
from distributed import Client

from ..cache import CACHE

HEAD_KEPT = 20  # rows kept of a first partition; a summary shows up to this many


@dataclass
class DatasetSummary:
    columns: dict[str, str]
    npartitions: int
    rows_estimate: int
    bytes_estimate: int
    head: pd.DataFrame
    exact: bool = False  # rows_estimate is the row count, not an estimate


async def summarize(client: Client, ddf: dd.DataFrame, rows: int = 5,
                    count: int | None = None) -> DatasetSummary:
    """Schema, partitions, size estimate and first rows, reading one partition on the cluster.

    Sizes are the first partition's times the partition count, unless the dataset
    knows its ``count`` of rows (file metadata, an option): good enough to tell
    300 MB from 30 GB without reading the 30 GB.
    """
    length, nbytes, head = await _first_partition(client, ddf.partitions[0])
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


async def _first_partition(client: Client, part: dd.DataFrame) -> tuple[int, int, pd.DataFrame]:
    """Rows, bytes and first rows of a partition: read once, shared, then kept.

    Every session summarises the default dataset as it opens, through the one
    shared client. Computing the same keys again, just as an earlier compute of
    them is released, can lose the result ("Couldn't gather keys ... forgotten")
    and wait for ever: pages opened one after another hit this. So a partition's
    figures are read by one compute that whoever asks meanwhile awaits, and kept.
    The key is dask's name of the partition, which follows the files' modification
    times: a rewritten file is read again.
    """
    async def read():
        first = await client.compute(part)
        return len(first), int(first.memory_usage(deep=True).sum()), first.head(HEAD_KEPT)

    return await CACHE.once(("first-partition", tokenize(part)), read)
