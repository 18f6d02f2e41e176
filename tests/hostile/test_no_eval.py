"""No user-entered string is ever evaluated as code.

A scan of the package's source (``ast``, not grep: comments and docstrings that
*say* "no eval" do not count, calls spelled differently do) and a filter value
that would run a shell command if anything evaluated it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from dashboard.compute.groupby import Filter, GroupBySpec, QueryError, build, to_code, validate
from dashboard.compute.estimators import SearchError, parse_grid

PACKAGE = Path(__file__).resolve().parents[2] / "dashboard"
# Built-ins that run or import text given to them.
CODE_BUILTINS = {"eval", "exec", "compile", "__import__", "execfile", "breakpoint"}
# Methods that evaluate an expression string: DataFrame.query / DataFrame.eval,
# pandas.eval, numexpr.evaluate.
CODE_METHODS = {"query", "eval", "evaluate"}
# Calls that import a module named by a string.
IMPORTERS = {"import_module"}
# (file, call) pairs allowed, each with why.
ALLOWED = {
    # The cluster factory imports dask-labextension style ``module:`` / ``class:`` from
    # dask.config, which only the server's operator writes (a YAML file or an
    # environment variable): never a browser user.
    ("cluster/factory.py", "import_module"),
}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal_args(call: ast.Call) -> bool:
    return all(isinstance(a, ast.Constant) for a in [*call.args, *(k.value for k in call.keywords)])


def code_evaluating_calls(source: str, path: str) -> list[str]:
    """Every call in ``source`` that could run a string as code, as "path:line call"."""
    found = []
    for node in ast.walk(ast.parse(source, filename=path)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name is None:
            continue
        if name in CODE_BUILTINS and isinstance(node.func, ast.Name):
            if name == "__import__" and _literal_args(node):
                continue
            found.append((name, node.lineno))
        elif name in CODE_METHODS and isinstance(node.func, ast.Attribute):
            found.append((name, node.lineno))
        elif name in IMPORTERS and not _literal_args(node):
            found.append((name, node.lineno))
        elif name == "getattr" and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) \
                and node.args[0].id == "builtins":
            found.append(("getattr(builtins, ...)", node.lineno))
    return [f"{path}:{line} {name}" for name, line in found if (path, name) not in ALLOWED]


def test_the_scanner_finds_what_it_looks_for():
    # A scanner that finds nothing in anything proves nothing.
    bad = """
df.query(text)
pd.eval(text)
frame.eval("a + b")
eval(user)
exec(user)
compile(user, "<x>", "exec")
__import__(name)
importlib.import_module(name)
numexpr.evaluate(text)
getattr(builtins, "ev" + "al")(user)
"""
    found = code_evaluating_calls(bad, "x.py")
    assert [f.split(" ", 1)[1] for f in found] == [
        "query", "eval", "eval", "eval", "exec", "compile", "__import__", "import_module",
        "evaluate", "getattr(builtins, ...)"]
    fine = '"""no eval here"""\n# df.query(x)\n__import__("os")\nast.literal_eval(t)\n'
    assert code_evaluating_calls(fine, "x.py") == []


def test_no_code_evaluating_call_in_the_package():
    found = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 30  # the whole package, not an empty glob
    for path in files:
        found += code_evaluating_calls(path.read_text(), str(path.relative_to(PACKAGE)))
    assert found == [], "code that could evaluate a user's string:\n" + "\n".join(found)


PAYLOAD = "__import__('os').system('touch {marker}')"


@pytest.mark.hostile("inputs")
def test_a_filter_value_that_is_code_is_a_literal(tmp_path):
    marker = tmp_path / "hostile-pwned"
    payload = PAYLOAD.format(marker=marker)
    frame = pd.DataFrame({"origin": ["EWR", "JFK", payload[:3]], "dep_delay": [1.0, 2.0, 3.0]})
    spec = GroupBySpec(keys=("origin",), values=("dep_delay",),
                       filters=(Filter("origin", values=(payload,)),))
    validate(spec, frame.dtypes)
    assert build(frame, spec).empty  # no row holds that text: zero rows, nothing run
    # Shown to the user as a quoted string, as a pandas user would type it.
    assert f".isin([{payload!r}])" in to_code(spec)
    # As a range bound on numbers it is refused with a sentence, not compared or run.
    ranged = GroupBySpec(keys=("origin",), values=("dep_delay",),
                         filters=(Filter("dep_delay", low=payload),))
    with pytest.raises(QueryError, match="'dep_delay' holds numbers"):
        validate(ranged, frame.dtypes)
    # Typed into a grid entry: refused as unreadable.
    with pytest.raises(SearchError, match="cannot read"):
        parse_grid("SVC", {"C": payload})
    assert not marker.exists()
