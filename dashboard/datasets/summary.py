"""What the picker shows of a dataset, computed from its first partition only."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import dask.dataframe as dd
import pandas as pd
from distributed import Client


@dataclass
class DatasetSummary:
    columns: dict[str, str]
    npartitions: int
    rows_estimate: int
    bytes_estimate: int
    head: pd.DataFrame

    @property
    def exact(self) -> bool:
        """One partition was read in full, so the figures are counts, not estimates."""
        return self.npartitions == 1


# First partitions being read, by key: every session summarises the default dataset
# as it opens, through the one shared client.
_reading: dict[str, asyncio.Task] = {}


async def summarize(client: Client, ddf: dd.DataFrame, rows: int = 5) -> DatasetSummary:
    """Schema, partitions, size estimate and first rows, reading one partition on the cluster.

    Sizes are the first partition's times the partition count: good enough to
    tell 300 MB from 30 GB without reading the 30 GB.
    """
    first = await _first_partition(client, ddf.partitions[0])
    return DatasetSummary(
        columns={name: str(dtype) for name, dtype in ddf.dtypes.items()},
        npartitions=ddf.npartitions,
        rows_estimate=len(first) * ddf.npartitions,
        bytes_estimate=int(first.memory_usage(deep=True).sum()) * ddf.npartitions,
        head=first.head(rows),
    )


async def _first_partition(client: Client, part: dd.DataFrame):
    """One computation per partition at a time, shared by whoever asks meanwhile.

    Two futures of one key computed at once by one client can lose the result
    ("Couldn't gather keys ... forgotten") and then wait for ever, so identical
    reads share a single compute.
    """
    key = part._name
    task = _reading.get(key)
    if task is None:
        task = _reading[key] = asyncio.ensure_future(client.compute(part))
        task.add_done_callback(lambda _: _reading.pop(key, None))
    return await asyncio.shield(task)
