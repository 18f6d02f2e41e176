"""Group-by queries: a structured spec, checked against the schema, built lazily.

The same ``build`` runs on a Dask DataFrame (on the cluster) and on a pandas
DataFrame (the single-process comparison, and the tests' reference), so the two
cannot drift apart. Filters are data, never code: no ``eval`` or ``query`` of
user text anywhere.
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dask.base import tokenize
from pandas.api import types as ptypes

from .. import config
from . import arrow_groupby
from .duration import duration

# What each aggregation needs of a column.
NUMERIC_AGGS = ("mean", "sum", "std", "var")
ORDERED_AGGS = ("min", "max")
ANY_AGGS = ("count", "nunique")
AGGREGATIONS = ("mean", "sum", "count", "min", "max", "std", "var", "nunique")


class QueryError(ValueError):
    """The query cannot run as asked; the message is a sentence meant for the user."""


@dataclass(frozen=True)
class Filter:
    """Keep rows whose ``column`` lies in [low, high] (either may be open) or in ``values``."""

    column: str
    low: Any = None
    high: Any = None
    values: tuple | None = None

    def describe(self) -> str:
        if self.values is not None:
            return f"{self.column} in {list(self.values)}"
        parts = [f"{self.column} >= {self.low!r}" if self.low is not None else "",
                 f"{self.column} <= {self.high!r}" if self.high is not None else ""]
        return " and ".join(p for p in parts if p) or f"any {self.column}"


@dataclass(frozen=True)
class GroupBySpec:
    """What to compute: ``df[filters].groupby(keys)[values].agg(agg)``, then sort and top-N."""

    keys: tuple[str, ...]
    values: tuple[str, ...]
    agg: str = "mean"
    filters: tuple[Filter, ...] = ()
    sort: str = "value"  # "value" (the first value column) or "key"
    ascending: bool = False
    top_n: int | None = None
    dropna: bool = True

    @property
    def columns(self) -> list[str]:
        """Every column the query reads, in order, once: the projection."""
        seen: dict[str, None] = {}
        for name in (*self.keys, *self.values, *(f.column for f in self.filters)):
            seen.setdefault(name)
        return list(seen)


def validate(spec: GroupBySpec, dtypes: pd.Series) -> None:
    """Refuse a query that cannot work on this schema, with a sentence saying why."""
    if not spec.keys:
        raise QueryError("Choose at least one column to group by.")
    if not spec.values:
        raise QueryError("Choose at least one value column to aggregate.")
    if spec.agg not in AGGREGATIONS:
        raise QueryError(f"Unknown aggregation '{spec.agg}'; choose one of "
                         f"{', '.join(AGGREGATIONS)}.")
    missing = [c for c in spec.columns if c not in dtypes.index]
    if missing:
        raise QueryError(f"Column {', '.join(repr(c) for c in missing)} is not in this "
                         "dataset; pick from its columns.")
    overlap = set(spec.keys) & set(spec.values)
    if overlap:
        raise QueryError(f"{', '.join(sorted(overlap))} cannot be both a group-by key and a "
                         "value; remove it from one of them.")
    for column in spec.values:
        dtype = dtypes[column]
        if spec.agg in NUMERIC_AGGS and not _numeric(dtype):
            raise QueryError(
                f"{spec.agg.capitalize()} needs numbers, but '{column}' holds {_kind(dtype)}. "
                "Choose count, nunique, min or max, or a numeric value column.")
        if spec.agg in ORDERED_AGGS and isinstance(dtype, pd.CategoricalDtype) \
                and not dtype.ordered:
            raise QueryError(f"{spec.agg.capitalize()} needs ordered values, but '{column}' "
                             "is an unordered category. Choose count or nunique.")
    for f in spec.filters:
        _validate_filter(f, dtypes[f.column])
    if spec.top_n is not None and spec.top_n < 1:
        raise QueryError("Top N must be a positive number of groups (or empty for all).")


def _validate_filter(f: Filter, dtype) -> None:
    if f.values is not None:
        if not f.values:
            raise QueryError(f"The filter on '{f.column}' keeps no values; choose at least one.")
        return
    if not (_numeric(dtype) or ptypes.is_datetime64_any_dtype(dtype)):
        raise QueryError(f"A range filter needs numbers or dates, but '{f.column}' holds "
                         f"{_kind(dtype)}; filter it by choosing values instead.")
    # Bounds come from widgets, links and restored runs: a wrong type is refused here,
    # never compared on the cluster (and never read as anything but a value).
    for end, bound in (("low", f.low), ("high", f.high)):
        if bound is not None and not _bound_fits(bound, dtype):
            kind = "numbers" if _numeric(dtype) else "dates"
            raise QueryError(f"The filter on '{f.column}' has {bound!r} as its {end} end, but "
                             f"'{f.column}' holds {kind}; enter a {kind[:-1]} there.")
    if f.low is not None and f.high is not None and _bound(f.low, dtype) > _bound(f.high, dtype):
        raise QueryError(f"The filter on '{f.column}' runs from {f.low} to {f.high}: "
                         "its low end is above its high end.")


def _bound_fits(bound, dtype) -> bool:
    if _numeric(dtype):
        return isinstance(bound, (int, float)) and not isinstance(bound, bool) \
            and bound == bound  # NaN bounds nothing
    try:
        stamp = pd.Timestamp(bound)
    except (TypeError, ValueError, OverflowError):
        return False
    return not isinstance(bound, bool) and stamp is not pd.NaT


def _numeric(dtype) -> bool:
    return ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype)


def _kind(dtype) -> str:
    if isinstance(dtype, pd.CategoricalDtype) or ptypes.is_string_dtype(dtype) \
            or ptypes.is_object_dtype(dtype):
        return "text"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "dates"
    if ptypes.is_bool_dtype(dtype):
        return "true/false values"
    return str(dtype)


def _mask(df, f: Filter):
    column = df[f.column]
    if f.values is not None:
        return column.isin(list(f.values))
    mask = None
    for bound, compare in ((f.low, column.ge), (f.high, column.le)):
        if bound is None:
            continue
        part = compare(_bound(bound, column.dtype))
        mask = part if mask is None else mask & part
    return mask


def _bound(value, dtype):
    if ptypes.is_datetime64_any_dtype(dtype):
        stamp = pd.Timestamp(value)
        tz = getattr(dtype, "tz", None)
        return stamp.tz_localize(tz) if tz is not None and stamp.tz is None else stamp
    return value


def select(df, spec: GroupBySpec):
    """The rows and columns the query reads: projection, then the filters."""
    df = df[spec.columns]
    for f in spec.filters:
        mask = _mask(df, f)
        if mask is not None:
            df = df[mask]
    return df


def build(df, spec: GroupBySpec, split_out: int | bool | None = None):
    """The aggregated frame, lazily for Dask (pandas computes at once).

    Keys become the index; categorical keys keep only groups that occur.
    ``split_out`` spreads a result with very many groups over several
    partitions (Dask only).
    """
    grouped = select(df, spec).groupby(list(spec.keys), observed=True, dropna=spec.dropna)
    if isinstance(df, pd.DataFrame):
        return grouped[list(spec.values)].agg(spec.agg)
    kwargs = {"split_out": split_out} if split_out else {}
    if spec.agg == "nunique":
        # Dask's frame-wide agg has no nunique: one per column, joined on the keys.
        frames = [grouped[value].nunique(**kwargs).to_frame() for value in spec.values]
        return functools.reduce(lambda left, right: left.join(right), frames)
    return grouped[list(spec.values)].agg(spec.agg, **kwargs)


def finish(result: pd.DataFrame, spec: GroupBySpec) -> pd.DataFrame:
    """Sort and cut the computed result (small: one row per group) as the spec asks;
    no group at all is refused with a sentence."""
    if result.empty:
        raise QueryError(_no_rows(spec))
    if spec.sort == "key":
        result = result.sort_index(ascending=spec.ascending)
    else:
        result = result.sort_values(spec.values[0], ascending=spec.ascending,
                                    na_position="last", kind="stable")
    if spec.top_n:
        result = result.head(spec.top_n)
    return result


def to_code(spec: GroupBySpec, frame: str = "df") -> str:
    """The query as the pandas/Dask code a user would type."""
    code = frame
    for f in spec.filters:
        col = f"{frame}[{f.column!r}]"
        if f.values is not None:
            cond = f"{col}.isin({list(f.values)!r})"
        else:
            conds = [f"({col} >= {f.low!r})" if f.low is not None else "",
                     f"({col} <= {f.high!r})" if f.high is not None else ""]
            cond = " & ".join(c for c in conds if c)
        if cond:
            code += f"[{cond}]"
    keys = spec.keys[0] if len(spec.keys) == 1 else list(spec.keys)
    values = spec.values[0] if len(spec.values) == 1 else list(spec.values)
    code += f".groupby({keys!r})"
    code += f".{values}" if isinstance(values, str) and values.isidentifier() \
        else f"[{values!r}]"
    return code + f".{spec.agg}()"


def estimate_groups(sample: pd.DataFrame, keys: list[str], npartitions: int) -> int:
    """Rough number of groups the full data makes, from one partition.

    Categorical keys know their categories. For other keys, a key that is
    mostly unique within the sample is assumed to keep growing with the data.
    """
    estimate = 1
    rows = max(len(sample), 1)
    for key in keys:
        column = sample[key]
        if isinstance(column.dtype, pd.CategoricalDtype):
            count = len(column.cat.categories)
        else:
            seen = column.nunique(dropna=True)
            count = seen * npartitions if seen > rows / 2 else seen
        estimate *= max(count, 1)
    return int(min(estimate, rows * npartitions))


def frequent_values(ddf, column: str, n: int):
    """The ``n`` most frequent values of ``column`` with their counts, lazy: the choices a
    text column's filter offers."""
    return ddf[column].value_counts().nlargest(n)


def key_sample(ddf, keys: list[str]):
    """The key columns of the first partition, lazy: what the estimates read."""
    return ddf[list(keys)].partitions[0]


def estimate_seconds(partition_seconds: float, npartitions: int, threads: int) -> float:
    """Rough wall time of a query: the first partition's time for each partition,
    spread over the cluster's threads. Reading all the query's columns costs more
    than the sample's keys; the figure says seconds from minutes, no more."""
    return partition_seconds * npartitions / max(threads, 1)


def default_sort(keys, dtypes: dict[str, str]) -> tuple[str, bool]:
    """(sort, ascending) a user expects: ordered keys (numbers, dates) in their own
    order, 1 2 3; other keys by value, largest first."""
    if keys and all(is_range_dtype(str(dtypes.get(k, ""))) for k in keys):
        return "key", True
    return "value", False


def query(ddf, spec: GroupBySpec, split_out: int | bool | None = None,
          files: list[str] | None = None, source: str = "", threads: int = 1):
    """What the Run button computes, lazy: the grouped result and the rows it read, as
    two lazies or (the Arrow path on files) one that computes to both; ``pair`` takes
    them apart once computed.

    On Arrow where it answers as pandas would (``arrow_groupby``): straight from
    ``files`` (the dataset's Parquet files, ``source`` naming their version) in a few
    reading tasks per thread, else from ``ddf``'s partitions. nunique and results split
    over partitions use Dask's group-by. The row count shares the query's read tasks.
    ``finish`` sorts and cuts the computed result.
    """
    plan = arrow_groupby.plan_of(spec)
    dtypes = ddf.dtypes.to_dict()
    if not split_out and arrow_groupby.supported(plan, ddf.dtypes):
        if files:
            tasks = arrow_groupby.chunks_for([os.path.getsize(f) for f in files], threads)
            return (arrow_groupby.from_files(files, plan, dtypes, tasks,
                                             tokenize(source, files, plan)),)
        projected = ddf[spec.columns]
        return arrow_groupby.from_frame(projected, plan, dtypes), projected.shape[0]
    projected = ddf[spec.columns]
    return build(projected, spec, split_out), projected.shape[0]


def pair(computed: list) -> tuple[pd.DataFrame, int]:
    """(result, rows read) from ``query``'s lazies, computed."""
    return computed[0] if len(computed) == 1 else tuple(computed)


@dataclass(frozen=True)
class QueryPlan:
    """How to run a query, from its first partition: split the result or not, and the
    questions to ask the user first (none: run at once)."""

    groups: int
    seconds: float
    split_out: bool
    questions: tuple[str, ...] = ()


def plan_query(spec: GroupBySpec, sample: pd.DataFrame, partition_seconds: float,
               npartitions: int, threads: int) -> QueryPlan:
    """Groups and time estimated from the first partition's keys (``key_sample``) and the
    seconds it took: a query that may make very many groups or run for minutes asks first."""
    groups = estimate_groups(sample, list(spec.keys), npartitions)
    seconds = estimate_seconds(partition_seconds, npartitions, threads)
    questions = []
    if groups > config.get("groupby.warn-groups"):
        questions.append(
            f"Grouping by {', '.join(spec.keys)} may make about {groups:,} groups. "
            f"The chart will show the first {config.get('groupby.chart-groups')}, "
            "the table and the CSV keep all.")
    # Few partitions never ask: there one slow first read is more likely a cold or
    # restarting worker than a long query (and the estimate is kept with the sample).
    if (seconds > config.get("groupby.warn-seconds")
            and npartitions >= config.get("groupby.warn-partitions")):
        questions.append(
            f"It reads {npartitions:,} partitions and may take about "
            f"{duration(seconds)} on this cluster's {threads} threads (Cancel stops it "
            "at any time).")
    return QueryPlan(groups, seconds, groups > config.get("groupby.split-out-groups"),
                     tuple(questions))


def run_pandas(ddf, spec: GroupBySpec) -> tuple[pd.DataFrame, float]:
    """The same query with pandas in one process: read one partition after another
    (dask's synchronous scheduler, no parallelism), then one pandas group-by.

    Returns the result and the wall time in seconds. Blocking: the app runs it on a
    worker (``JobContext.run_on_worker``), never in the server that sessions share.
    """
    start = time.perf_counter()
    frame = ddf[spec.columns].compute(scheduler="sync")
    return finish(build(frame, spec), spec), time.perf_counter() - start


def _no_rows(spec: GroupBySpec) -> str:
    if spec.filters:
        return ("No rows match the filters (" + "; ".join(f.describe() for f in spec.filters)
                + "). Widen or remove a filter.")
    return "The dataset has no rows with values in these columns."


def explain_failure(exc: BaseException, spec: GroupBySpec) -> str:
    """A failure inside the computation as a sentence naming the operation and columns."""
    if isinstance(exc, QueryError):
        return str(exc)
    what = f"{spec.agg} of {', '.join(spec.values)} by {', '.join(spec.keys)}"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"Computing the {what} failed on the cluster: {type(exc).__name__}" + (
        f": {message}" if message else "") + "."


def spec_from_settings(query: dict) -> GroupBySpec:
    """The query that a tab's saved widget values ({param: value}) describe."""
    filters = []
    for column in query["filter_columns"]:
        chosen = query["filters"].get(column, {})
        # Widgets make these; a link or a restored run may hold anything.
        if not isinstance(chosen, dict):
            raise QueryError(f"The filter on '{column}' should be a range (low, high) or a "
                             f"choice of values, not {chosen!r}.")
        if "values" in chosen:
            values = chosen["values"]
            # One value given on its own, not inside a list: that value, not its letters.
            values = (values,) if isinstance(values, (str, int, float)) else tuple(values)
            filters.append(Filter(column, values=values))
        elif chosen.get("low") is not None or chosen.get("high") is not None:
            filters.append(Filter(column, low=chosen.get("low"), high=chosen.get("high")))
    for column, bounds in (query["selection"] or {}).items():
        if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
            raise QueryError(f"The map selection on '{column}' should be a (low, high) pair, "
                             f"not {bounds!r}.")
        filters.append(Filter(column, low=bounds[0], high=bounds[1]))
    return GroupBySpec(keys=tuple(query["group_by"]), values=tuple(query["value_columns"]),
                       agg=query["agg"], filters=tuple(filters), sort=query["sort"],
                       ascending=query["ascending"], top_n=query["top_n"])


def is_number_dtype(dtype: str) -> bool:
    """Whether a dtype as the summary names it (``"float64"``, ``"Int8"``...) holds numbers."""
    try:
        dtype = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return False
    return _numeric(dtype)


def is_range_dtype(dtype: str) -> bool:
    return is_number_dtype(dtype) or dtype.startswith("datetime")


def same_result(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a.sort_index(), b.sort_index(), check_dtype=False,
                                      check_categorical=False, check_index_type=False)
        return True
    except AssertionError:
        return False
