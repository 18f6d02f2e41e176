"""What the picker shows of a dataset, computed from its first partition only."""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

import dask.dataframe as dd
import pandas as pd
from distributed import Client


HEAD_KEPT = 20  # rows kept of a first partition; a summary shows up to this many


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


# What the first partitions held, by partition key: every session summarises the
# default dataset as it opens, through the one shared client.
_reading: dict[str, asyncio.Task] = {}
_read: OrderedDict[str, tuple[int, int, pd.DataFrame]] = OrderedDict()
READ_KEPT = 32  # first partitions remembered (their counts and a few rows, not the data)


async def summarize(client: Client, ddf: dd.DataFrame, rows: int = 5) -> DatasetSummary:
    """Schema, partitions, size estimate and first rows, reading one partition on the cluster.

    Sizes are the first partition's times the partition count: good enough to
    tell 300 MB from 30 GB without reading the 30 GB.
    """
    length, nbytes, head = await _first_partition(client, ddf.partitions[0])
    return DatasetSummary(
        columns={name: str(dtype) for name, dtype in ddf.dtypes.items()},
        npartitions=ddf.npartitions,
        rows_estimate=length * ddf.npartitions,
        bytes_estimate=nbytes * ddf.npartitions,
        head=head.head(rows),
    )


async def _first_partition(client: Client, part: dd.DataFrame) -> tuple[int, int, pd.DataFrame]:
    """Rows, bytes and first rows of a partition: read once, then remembered.

    Computing the same keys again through one client, just as an earlier compute of
    them is released, can lose the result ("Couldn't gather keys ... forgotten") and
    wait for ever: pages opened one after another hit this. So a partition's figures
    are read by one compute, shared by whoever asks meanwhile, and kept afterwards.
    """
    key = part._name
    if key in _read:
        _read.move_to_end(key)
        return _read[key]
    task = _reading.get(key)
    if task is None:
        task = _reading[key] = asyncio.ensure_future(_read_once(client, part, key))
        task.add_done_callback(lambda _: _reading.pop(key, None))
    return await asyncio.shield(task)


async def _read_once(client: Client, part: dd.DataFrame, key: str):
    first = await client.compute(part)
    _read[key] = figures = (len(first), int(first.memory_usage(deep=True).sum()),
                            first.head(HEAD_KEPT))
    while len(_read) > READ_KEPT:
        _read.popitem(last=False)
    return figures
