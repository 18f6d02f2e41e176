"""Shareable URLs: params kept in the query string; a stale or bad link gets a notice."""
from __future__ import annotations

import param
import panel as pn

from .notify import notify
from .panes import in_server_session


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
