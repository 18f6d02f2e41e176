"""Shareable URLs: params kept in the query string; a stale or bad link gets a notice."""
from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

import param
import panel as pn

from .notify import notify
from .session import in_server_session


def sync(obj: param.Parameterized, names: dict[str, str], what: str) -> None:
    """Keep ``obj``'s params ``names`` ({param: query key}) in the page's URL.

    Panel applies a link's values all at once and gives up on all of them if one
    is bad; we then apply them one by one, so one stale value (a dataset that no
    longer exists, an unknown choice) costs only itself, and say which.
    """
    if not in_server_session() or pn.state.location is None:
        return

    reported: set[str] = set()  # Panel re-applies the link at every later sync()

    def one_by_one(values: dict) -> None:
        bad = []
        for name, value in values.items():
            try:
                obj.param.update({name: value})
            except Exception:
                bad.append(f"{names[name]}={value!r}")
        bad = [b for b in bad if b not in reported]
        reported.update(bad)
        if bad:
            message = (f"This link's {what} setting {', '.join(bad)} does not exist here; "
                       "the default is shown instead.")
            # The link is read while the page is built: show the notice once it is up.
            pn.state.onload(lambda: notify(message, "warning", 8000))

    pn.state.location.sync(obj, names, on_error=one_by_one)


def unsync(obj: param.Parameterized) -> None:
    if in_server_session() and pn.state.location is not None:
        pn.state.location.unsync(obj)


# -- links that leave defaults out -------------------------------------------------
# ``sync`` above writes every value, and Panel never removes a key whose value went
# back to None (a stale range would be re-applied at the next sync). The tabs whose
# choices depend on the dataset's columns use ``QueryLink``: the view says which of
# its values differ from their defaults, and the link's values are applied when the
# view can check them (once the schema is known), each on its own.


def current_location():
    """The page's location in a served session; None in a notebook or a test."""
    if not in_server_session():
        return None
    return pn.state.location


def literal(text: str):
    """A list, tuple or dict from a link: JSON as we write it, or the Python repr Panel
    rewrites other tabs' keys with (``['carrier']``). Literals only: nothing is evaluated."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"cannot read {text!r}") from None


def decode(parameter: param.Parameter, text: str):
    """The value ``text`` stands for, by the kind of ``parameter``; ValueError if none."""
    text = text.strip()
    if isinstance(parameter, param.Boolean):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"not true or false: {text!r}")
        return text.lower() == "true"
    if isinstance(parameter, param.Integer):
        return int(text)
    if isinstance(parameter, param.Number):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {text!r}")
        return value
    if isinstance(parameter, (param.Tuple, param.List, param.ListSelector, param.Dict)):
        value = literal(text)
        kind = dict if isinstance(parameter, param.Dict) else (list, tuple)
        if not isinstance(value, kind):
            raise ValueError(f"not a {'mapping' if kind is dict else 'list'}: {text!r}")
        return tuple(value) if isinstance(parameter, param.Tuple) else (
            list(value) if kind is not dict else value)
    return text


def encode(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(list(value) if isinstance(value, tuple) else value)


class QueryLink:
    """A view's values in the URL under short keys, defaults left out.

    ``keys`` maps the view's names to query keys; ``state()`` returns the values that
    differ from their defaults (by name). The link's values wait in ``pending``
    until the view applies them (``apply``, or ``take`` and ``report`` for values it
    checks itself); until then their keys stay in the URL as they came.
    """

    def __init__(self, keys: dict[str, str], what: str, state: Callable[[], dict]):
        self.keys, self.what, self.state = keys, what, state
        self.location = current_location()
        given = dict(parse_qsl(self.location.search.lstrip("?"), keep_blank_values=True)) \
            if self.location is not None else {}
        self.pending = {name: given[key] for name, key in keys.items() if key in given}
        self._reported: set[str] = set()
        self._writing = False
        if self.location is not None:
            # The page reports its address once it is up, which can undo a change
            # made while it loaded (a refused value dropped): put ours back.
            self.location.param.watch(self.write, "search")

    def take(self, name: str) -> str | None:
        """The link's text for ``name`` (once), or None."""
        return self.pending.pop(name, None)

    def apply(self, obj: param.Parameterized, names, check: Callable | None = None,
              report: bool = True) -> list[tuple[str, str]]:
        """Set ``names`` from the link in order, each on its own; ``check(name, value)``
        may refuse (raise) or adjust a value. A refused value keeps the default shown;
        the refused are reported (or returned, to report with others in one notice)."""
        bad = []
        for name in names:
            text = self.take(name)
            if text is None:
                continue
            try:
                value = decode(obj.param[name], text)
                if check is not None:
                    value = check(name, value)
                obj.param.update({name: value})
            except Exception:
                bad.append((name, text))
        if report:
            self.report(bad)
        self.write()
        return bad

    def report(self, bad: list) -> None:
        """A notice naming the link's values that could not be used: (name, text) pairs,
        or (label, text) for parts of one value."""
        shown = []
        for name, text in bad:
            item = f"{self.keys.get(name, name)}={text!r}"
            if item not in self._reported:
                self._reported.add(item)
                shown.append(item)
        if not shown:
            return
        several = len(shown) > 1
        message = (f"This link's {self.what} setting{'s' if several else ''} {', '.join(shown)} "
                   f"{'are' if several else 'is'} not valid here; the default"
                   f"{'s are' if several else ' is'} shown instead.")
        # Read while the page is built, or later: shown once the page is up.
        pn.state.onload(lambda: notify(message, "warning", 8000))

    def write(self, *_) -> None:
        """Put the view's non-default values in the URL; drop its keys back at default."""
        if self.location is None or self._writing:
            return
        # Writing the URL runs every watcher of it, ours too: once on the stack is enough
        # (two links of one key would otherwise undo each other for ever).
        self._writing = True
        try:
            self._write()
        finally:
            self._writing = False

    def _write(self) -> None:
        query = dict(parse_qsl(self.location.search.lstrip("?"), keep_blank_values=True))
        state = self.state()
        for name, key in self.keys.items():
            if name in self.pending:
                continue  # not applied yet: the link's text stands
            if name in state:
                query[key] = encode(state[name])
            else:
                query.pop(key, None)
        search = f"?{urlencode(query)}" if query else ""
        if search != self.location.search:
            self.location.search = search
