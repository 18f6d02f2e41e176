"""The Group-by tab in a shareable link: what goes into the URL, and reading it back.

A link's query is applied once the dataset's columns are known, in ``KEYS`` order
(new keys bring their natural sort; a linked sort then overrides it), each value
checked on its own: a column the dataset lacks, or a value of the wrong kind, keeps
its default and is named in a notice. Only settings that differ from a fresh page's
go into the URL, so a query put back to its default leaves the address clean.
"""
from __future__ import annotations

from ..compute.groupby import default_sort, is_number_dtype
from .notify import notify

KEYS = {"group_by": "by", "value_columns": "values", "agg": "agg",
        "filter_columns": "filter_on", "filters": "filters", "sort": "sort",
        "ascending": "ascending", "top_n": "top"}
COLUMN_LISTS = ("group_by", "value_columns", "filter_columns")


def fresh_columns(dataset, dtypes: dict) -> tuple[list[str], list[str]]:
    """The keys and values a fresh page picks for ``dataset`` with columns ``dtypes``."""
    columns = list(dtypes)
    keys = [k for k in dataset.groupby if k in columns][:1] or [
        c for c in columns if not is_number_dtype(dtypes[c])][:1] or columns[:1]
    values = [v for v in [*dataset.values, dataset.target] if v in columns][:1] or [
        c for c in columns if is_number_dtype(dtypes[c]) and c not in keys][:1]
    return keys, values


def state(view, dtypes: dict) -> dict:
    """The view's query where it differs from a fresh page's, by name; ``dtypes`` are the
    dataset's columns (none before it is read: then its columns are not compared)."""
    p = view.param
    defaults = {"agg": p.agg.default, "filter_columns": [], "filters": {}, "top_n": None}
    if dtypes:
        keys, values = fresh_columns(view.store.dataset, dtypes)
        sort, ascending = default_sort(view.group_by, dtypes)
        defaults.update(group_by=keys, value_columns=values, sort=sort, ascending=ascending)
    return {name: getattr(view, name) for name, default in defaults.items()
            if getattr(view, name) != default}


def apply(view, link, dtypes: dict) -> None:
    """Put a shared link's query on ``view``, now that the dataset's ``dtypes`` are known."""
    columns = set(dtypes)
    absent: list[str] = []  # the link's columns the dataset lacks
    refused_for_absent: set[str] = set()  # the settings that named them

    def check(name, value):
        if name in COLUMN_LISTS:
            if not all(isinstance(c, str) for c in value):
                raise ValueError(value)
            missing = [c for c in value if c not in columns]
            if missing:
                absent.extend(c for c in missing if c not in absent)
                refused_for_absent.add(name)
                raise ValueError(value)
            if not value and name != "filter_columns":
                raise ValueError(value)  # a query needs keys and values
        if name == "filters":
            # Kept as given for known columns: a malformed filter shows empty, and Run
            # names what is wrong with it.
            return {c: f for c, f in value.items() if c in columns}
        return value

    bad = link.apply(view, list(KEYS), check, report=False)
    if absent:
        notify(f"This link's group-by names column {', '.join(map(repr, absent))}, which "
               f"'{view.store.dataset_name}' does not have; the defaults are shown instead.",
               "warning", 8000)
    link.report([(name, text) for name, text in bad if name not in refused_for_absent])
