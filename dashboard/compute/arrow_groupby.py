"""Group-bys on Arrow: each partition reduced by pyarrow's vectorised hash aggregate,
the partial aggregates combined in a tree, pandas only for the small result.

Still a Dask graph that any cluster runs and the task stream shows. Two roots:
``from_files`` reads Parquet files straight into Arrow on the workers (no pandas frame
of the rows is ever made); ``from_frame`` reduces the partitions of any Dask frame.

Partial aggregates: sum and count for mean; count, mean and the sum of squared
deviations (M2) for var and std, combined with Chan et al.'s formula, which stays
exact where sums of squares would cancel. nunique and results split over several
partitions stay on Dask's own group-by (``groupby.build``).

The tasks' functions are self-contained (numpy, pandas, pyarrow) and travel by value
(``by_value``): workers need not have this package. The query travels as plain data
(``plan``).
"""
from __future__ import annotations

import math
import sys

import cloudpickle
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .by_value import ByValue

# The partial aggregates each aggregation is combined from.
PARTS = {"mean": ("sum", "count"), "sum": ("sum",), "count": ("count",),
         "min": ("min",), "max": ("max",),
         "var": ("count", "mean", "m2"), "std": ("count", "mean", "m2")}
SPLIT_EVERY = 8  # partials combined per tree task
BATCH_ROWS = 1_000_000  # rows of small files reduced at once (see read_partial)
TASK_BYTES = 64 * 2**20  # of files, per reading task (see chunks_for)


def plan_of(spec) -> dict:
    """A ``GroupBySpec`` as plain data: what the tasks need, with nothing of this package."""
    return {"keys": list(spec.keys), "values": list(spec.values), "agg": spec.agg,
            "dropna": spec.dropna,
            "filters": [(f.column, f.low, f.high, None if f.values is None else list(f.values))
                        for f in spec.filters]}


def columns_of(plan: dict) -> list[str]:
    seen = dict.fromkeys([*plan["keys"], *plan["values"], *(f[0] for f in plan["filters"])])
    return list(seen)


def supported(plan: dict, dtypes: pd.Series) -> bool:
    """Whether the Arrow path answers this query as pandas would (else Dask's group-by)."""
    if plan["agg"] not in PARTS:
        return False
    if plan["agg"] in ("min", "max"):  # numbers, dates and text: Arrow orders them as pandas
        return not any(isinstance(dtypes[v], pd.CategoricalDtype) for v in plan["values"])
    return True


def _part(part: str, value: str) -> str:
    # NUL cannot be in a real column name: no clash with a key's name.
    return f"\0{part}\0{value}"


# -- one partition ---------------------------------------------------------------------

def _plain(column):
    """Dictionary (categorical) columns as their values: filtered and grouped as pandas does."""
    return pc.cast(column, column.type.value_type) if pa.types.is_dictionary(column.type) \
        else column


def _scalar(value, type_):
    if pa.types.is_timestamp(type_):
        stamp = pd.Timestamp(value)
        if type_.tz is not None and stamp.tz is None:
            stamp = stamp.tz_localize(type_.tz)
        return pa.scalar(stamp, type=type_)
    return pa.scalar(value)


def _kind(type_) -> str:
    for kind, test in (("number", lambda t: pa.types.is_integer(t) or pa.types.is_floating(t)),
                       ("text", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
                       ("bool", pa.types.is_boolean), ("time", pa.types.is_timestamp)):
        if test(type_):
            return kind
    return str(type_)


def _value_set(values: list, type_) -> pa.Array:
    """The chosen values in the column's type. As pandas' ``isin``: a value of another
    kind (text for numbers) or that the type cannot hold exactly (3.5 for integers)
    matches no row."""
    kept = []
    for value in values:
        try:
            one = pa.array([value])
            if _kind(one.type) == _kind(type_):
                kept.append(one.cast(type_, safe=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                ValueError, OverflowError):
            continue
    return pa.concat_arrays(kept) if kept else pa.array([], type=type_)


def _keep(table: pa.Table, plan: dict):
    """The mask of rows the filters keep, with no missing key (pandas' dropna), or None."""
    masks = []
    for column, low, high, values in plan["filters"]:
        data = _plain(table[column])
        if values is not None:
            masks.append(pc.is_in(data, value_set=_value_set(values, data.type)))
        if low is not None:
            masks.append(pc.greater_equal(data, _scalar(low, data.type)))
        if high is not None:
            masks.append(pc.less_equal(data, _scalar(high, data.type)))
    if plan["dropna"]:
        for key in plan["keys"]:
            data = table[key]
            if data.null_count:
                masks.append(pc.is_valid(data))
            if pa.types.is_floating(data.type):
                masks.append(pc.invert(pc.is_nan(data)))
    if not masks:
        return None
    mask = masks[0]
    for more in masks[1:]:
        mask = pc.and_kleene(mask, more)
    return mask


def _as_values(data, agg: str):
    """A value column as the aggregation reads it: NaN is missing (pandas' skipna), and
    integers averaged as floats (an int64 sum for a mean must not wrap)."""
    if pa.types.is_floating(data.type) and pc.any(pc.is_nan(data)).as_py():
        data = pc.if_else(pc.is_nan(data), pa.scalar(None, data.type), data)
    if agg in ("mean", "var", "std") and pa.types.is_integer(data.type):
        data = pc.cast(data, pa.float64())
    return data


def _arrow(part: str) -> tuple:
    """pyarrow's aggregate for a partial, with its options (made here: pyarrow's options
    cannot be pickled, and this module's globals travel by value)."""
    if part == "sum":
        return "sum", pc.ScalarAggregateOptions(min_count=0)  # pandas: an empty sum is 0
    if part == "count":
        return "count", pc.CountOptions("only_valid")
    if part == "m2":
        return "variance", pc.VarianceOptions(ddof=0)  # times the count: M2
    return (part,)  # min, max, mean


def partial(table: pa.Table, plan: dict) -> pd.DataFrame:
    """One partition's partial aggregates: a small frame, one row per group it holds."""
    keys, values, agg = plan["keys"], plan["values"], plan["agg"]
    mask = _keep(table, plan)
    if mask is not None:
        table = table.filter(mask)
    # Dictionary keys are grouped as they are (on their codes); a result's few keys
    # become text in pandas.
    columns = {k: table[k] for k in keys}
    columns.update({v: _as_values(table[v], agg) for v in values})
    table = pa.table(columns)
    if any(pa.types.is_dictionary(table[k].type) for k in keys):
        table = table.unify_dictionaries()  # files concatenated: one dictionary per column
    grouped = table.group_by(keys, use_threads=False).aggregate(
        [(v, *_arrow(part)) for v in values for part in PARTS[agg]])
    # Keys come first or last, by pyarrow version; the aggregates keep their order.
    names = [n for n in grouped.column_names if n not in keys] \
        if grouped.column_names[:len(keys)] == keys else grouped.column_names[:-len(keys)]
    frame = grouped.select([*keys, *names]).to_pandas()
    frame.columns = [*keys, *(_part(p, v) for v in values for p in PARTS[agg])]
    if "m2" in PARTS[agg]:
        for v in values:  # variance times count: M2 (an empty group's variance is null)
            n = frame[_part("count", v)]
            frame[_part("m2", v)] = (frame[_part("m2", v)] * n).fillna(0.0)
    return frame


# -- combining and finishing -----------------------------------------------------------

def combine(frames: list[pd.DataFrame], plan: dict) -> pd.DataFrame:
    """Partials of several partitions as one partial: one row per group."""
    keys, values, agg = plan["keys"], plan["values"], plan["agg"]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    by = [frame[k] for k in keys]
    group = lambda series: series.groupby(by, sort=False, dropna=False, observed=True)
    out = {}
    for v in values:
        for part in PARTS[agg]:
            if part in ("sum", "count"):
                out[_part(part, v)] = group(frame[_part(part, v)]).sum()
            elif part in ("min", "max"):
                out[_part(part, v)] = getattr(group(frame[_part(part, v)]), part)()
        if "m2" in PARTS[agg]:
            n, mean, m2 = (frame[_part(p, v)] for p in ("count", "mean", "m2"))
            total = group(n).transform("sum")
            centre = group(n * mean.fillna(0.0)).transform("sum") / total.where(total > 0)
            spread = m2 + n * (mean - centre).fillna(0.0) ** 2
            out[_part("mean", v)] = group(centre).first()
            out[_part("m2", v)] = group(spread).sum()
    result = pd.DataFrame(out)
    result.index.names = keys
    return result.reset_index()


def finish(frame: pd.DataFrame, plan: dict, dtypes: dict) -> pd.DataFrame:
    """The combined partials as the group-by's result: keys as the index, one column
    per value, in the dtypes pandas gives."""
    keys, values, agg = plan["keys"], plan["values"], plan["agg"]
    out = {}
    for v in values:
        if agg == "mean":
            n = frame[_part("count", v)]
            out[v] = frame[_part("sum", v)] / n.where(n > 0)
        elif agg in ("var", "std"):
            n = frame[_part("count", v)]
            var = frame[_part("m2", v)] / (n - 1).where(n > 1)
            out[v] = np.sqrt(var) if agg == "std" else var
        else:
            out[v] = frame[_part(PARTS[agg][0], v)]
            if agg in ("min", "max") and not out[v].isna().any():
                out[v] = _astype(out[v], dtypes.get(v))
    index = [_astype(frame[k], dtypes.get(k)) for k in keys]
    result = pd.DataFrame(out)
    result.index = pd.MultiIndex.from_arrays(index, names=keys) if len(keys) > 1 \
        else pd.Index(index[0], name=keys[0])
    return result


def _astype(series: pd.Series, dtype) -> pd.Series:
    if dtype is None:
        return series
    if isinstance(dtype, pd.CategoricalDtype):  # Dask's may be "unknown": found here
        return series.astype("category")
    try:
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series


# -- the graphs ------------------------------------------------------------------------

def read_partial(paths: list[str], plan: dict, dtypes: dict | None = None,
                 batch_rows: int = BATCH_ROWS) -> tuple[pd.DataFrame, int]:
    """Files read into Arrow (the query's columns only) and reduced: (partial, rows read);
    given ``dtypes`` (the only reading task), the finished result instead of the partial.
    Small files are reduced together, up to ``batch_rows`` rows at a time: each reduction
    has a fixed cost, and memory stays bounded whatever the files' sizes."""
    frames, batch, rows = [], [], 0
    for i, path in enumerate(paths):
        batch.append(pq.ParquetFile(path).read(columns=columns_of(plan), use_threads=False))
        if sum(t.num_rows for t in batch) >= batch_rows or i == len(paths) - 1:
            table = pa.concat_tables(batch, promote_options="default")
            rows += table.num_rows
            frames.append(partial(table, plan))
            batch = []
    # One batch without missing keys is one row per group already (pandas would merge
    # Arrow's null, NaN and -NaN keys): combining it would cost pandas 3-20 ms.
    alone = len(frames) == 1 and plan["dropna"]
    return _counted(frames[0] if alone else combine(frames, plan), rows, plan, dtypes)


def combine_counted(parts: list[tuple[pd.DataFrame, int]], plan: dict,
                    dtypes: dict | None = None):
    """Several tasks' (partial, rows) as one; given ``dtypes`` (the tree's root), finished."""
    return _counted(combine([p for p, _ in parts], plan), sum(rows for _, rows in parts),
                    plan, dtypes)


def _counted(frame: pd.DataFrame, rows: int, plan: dict, dtypes: dict | None):
    return (frame if dtypes is None else finish(frame, plan, dtypes)), rows


def from_files(paths: list[str], plan: dict, dtypes: dict, tasks: int, token: str):
    """(result, rows read), lazy, as one Delayed: ``tasks`` reading tasks over the files,
    then a tree of combines whose root finishes. Each step is a task of its own only
    where it must be: on a cluster every hop costs milliseconds. ``token`` names the
    graph (files, their versions and the query): the same Run twice is the same graph."""
    from dask import delayed
    from dask.base import tokenize

    tasks = max(1, min(tasks, len(paths)))
    chunks = [paths[i::tasks] for i in range(tasks)]
    token = tokenize(token, chunks)  # another split of the files is another graph
    last = dtypes if tasks == 1 else None
    level = [delayed(_READ, pure=True)(chunk, plan, last,
                                              dask_key_name=("groupby-read-arrow", token, i))
             for i, chunk in enumerate(chunks)]
    depth = 0
    while len(level) > 1:
        depth += 1
        last = dtypes if len(level) <= SPLIT_EVERY else None
        level = [delayed(_COMBINE, pure=True)(
            level[i:i + SPLIT_EVERY], plan, last,
            dask_key_name=("groupby-combine-arrow", token, depth, i // SPLIT_EVERY))
            for i in range(0, len(level), SPLIT_EVERY)]
    return level[0]


def frame_partial(df: pd.DataFrame, plan: dict) -> pd.DataFrame:
    return partial(pa.Table.from_pandas(df, preserve_index=False), plan)


def from_frame(ddf, plan: dict, dtypes: dict):
    """The grouped result of a Dask frame's partitions, lazy, as a tree reduction."""
    keys, values = plan["keys"], plan["values"]
    meta = finish(pd.DataFrame({**{k: pd.Series(dtype=dtypes[k]) for k in keys},
                                **{_part(p, v): pd.Series(dtype="float64")
                                   for v in values for p in PARTS[plan["agg"]]}}),
                  plan, dtypes)
    return ddf[columns_of(plan)].reduction(
        _FRAME_PARTIAL, combine=_COMBINE_FRAME, aggregate=_FINISH_FRAME,
        chunk_kwargs={"plan": plan}, combine_kwargs={"plan": plan},
        aggregate_kwargs={"plan": plan, "dtypes": dtypes}, meta=meta,
        split_every=SPLIT_EVERY, token="groupby-arrow")


def combine_frame(frame: pd.DataFrame, plan: dict) -> pd.DataFrame:
    return combine([frame], plan)


def finish_frame(frame: pd.DataFrame, plan: dict, dtypes: dict) -> pd.DataFrame:
    return finish(combine([frame], plan), plan, dtypes)


def chunks_for(sizes: list[int], threads: int) -> int:
    """Reading tasks for files of these sizes (bytes): one per ``TASK_BYTES``, at most
    two per thread (so one slow file does not hold up the rest). Small data is one
    task: on a cluster each task costs milliseconds of its own."""
    return max(1, min(len(sizes), 2 * max(threads, 1), math.ceil(sum(sizes) / TASK_BYTES)))


cloudpickle.register_pickle_by_value(sys.modules[__name__])
_READ, _COMBINE = ByValue(read_partial), ByValue(combine_counted)
_FRAME_PARTIAL, _COMBINE_FRAME = ByValue(frame_partial), ByValue(combine_frame)
_FINISH_FRAME = ByValue(finish_frame)
