"""The package uses the public APIs of its libraries (issue 15): private internals break
at the next release.

A scan of the package's source (``ast``): every ``obj._name`` (not ``self``/``cls``),
``getattr(obj, "_name")`` and ``from lib import _name`` must be in ``ALLOWED`` with
the reason it cannot be avoided yet. A new private reach fails here, and so does an
entry that no longer matches anything (the allowlist only shrinks).
"""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dashboard"

# (file, expression) -> why it stays for now.
ALLOWED = {
    ("cluster/report.py", "doc._PATCHED_CURDOCS"):
        "an in-process scheduler draws its report with Bokeh, whose curdoc() raises once "
        "a closed session's document is left on top of this stack",
    ("views/query_guard.py", "getattr(getattr(context, 'request', None), '_request', None)"):
        "the raw tornado request behind Bokeh's session context, to read the link's "
        "unparsed query string (Panel drops values it cannot parse)",
    ("views/template.py", "fast.Fast._resources"):
        "Panel's Fast design names a web font off the machine; dropped from its resources",
    ("compute/estimators.py", "self.cls._parameter_constraints"):
        "scikit-learn's declared parameter constraints, to check a grid before fitting",
    ("compute/estimators.py", "candidate._validate_params"):
        "scikit-learn's own parameter validation, run before any fit",
}
# Our own views' state read by their link and form modules, to become params
# (issue 15, item 7): allowed by the name of the object, ``view``.
OWN = "view"


def reaches(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls", OWN):
                continue
            found.append(ast.unparse(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "getattr" and len(node.args) >= 2 \
                and isinstance(node.args[1], ast.Constant) \
                and str(node.args[1].value).startswith("_") \
                and not str(node.args[1].value).startswith("__"):
            found.append(ast.unparse(node))
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found += [f"from {node.module} import {a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def package_reaches() -> Counter:
    seen: Counter = Counter()
    for path in sorted(PACKAGE.rglob("*.py")):
        for expression in reaches(ast.parse(path.read_text())):
            seen[(path.relative_to(PACKAGE).as_posix(), expression)] += 1
    return seen


def test_no_private_reach_beyond_the_allowlist():
    seen = package_reaches()
    # getattr(self, '_x') reads our own state: allowed without a line of its own.
    new = sorted(key for key in seen if key not in ALLOWED
                 and not key[1].startswith(("getattr(self,", "getattr(cls,")))
    assert not new, "private attributes reached (use a public API, or allow with a reason): " \
        + "; ".join(f"{file}: {expression}" for file, expression in new)


def test_the_allowlist_has_no_stale_entries():
    seen = package_reaches()
    stale = sorted(key for key in ALLOWED if key not in seen)
    assert not stale, f"allowed but no longer used (remove them): {stale}"


def test_the_scan_finds_a_private_reach():
    code = "from distributed.client import _get_global_client\nx = client._serializers\n"
    assert reaches(ast.parse(code)) == ["from distributed.client import _get_global_client",
                                         "client._serializers"]
