"""Links Panel cannot read: query values with more digits than Python converts, and
lists or mappings that are neither JSON nor Python literals.

Panel reads every all-digit query value with ``int()`` (``panel.util.parse_query``),
and Python refuses strings longer than ``sys.get_int_max_str_digits()`` (4,300
digits). The ``ValueError`` escapes while the page is being built, so one such value,
under any key, breaks the whole page. This drops those values from the request
before Panel reads it. The user gets a notice, and the rest of the link still applies.
"""
from __future__ import annotations

import sys
from urllib.parse import parse_qsl, urlencode

import panel as pn
from panel.util import parse_query

from .notify import notify


def _too_long(value: str) -> bool:
    limit = sys.get_int_max_str_digits()
    return bool(limit) and value.isdigit() and len(value) > limit


def _request():
    """This session's context and tornado request (its ``uri`` as the browser asked);
    either may be None outside a served session."""
    doc = pn.state.curdoc
    context = doc.session_context if doc is not None else None
    return context, getattr(getattr(context, "request", None), "_request", None)


def report_unparsed_values() -> list[str]:
    """A notice naming the link's values Panel skips with only a log line (``by=[x``:
    not a list it can read); the views show their defaults. Returns the query keys."""
    _, request = _request()
    uri = getattr(request, "uri", None) or ""
    if "?" not in uri:
        return []
    query = uri.split("?", 1)[1]
    pairs = parse_qsl(query)
    try:
        readable = parse_query(f"?{query}")
    except ValueError:  # an over-long number: drop_unreadable_numbers says so
        return []
    bad = [(key, value) for key, value in pairs if key not in readable]
    if bad:
        shown = ", ".join(f"{key}={value!r}" for key, value in bad)
        message = (f"This link's setting {shown} cannot be read; the default is shown "
                   "instead.")
        pn.state.onload(lambda: notify(message, "warning", 8000))
    return [key for key, _ in bad]


def drop_unreadable_numbers() -> list[str]:
    """Remove over-long numbers from this session's request; return their query keys."""
    context, request = _request()
    uri = getattr(request, "uri", None)
    if not uri or "?" not in uri:
        return []
    path, query = uri.split("?", 1)
    pairs = parse_qsl(query, keep_blank_values=True)
    bad = [key for key, value in pairs if _too_long(value)]
    if not bad:
        return []
    kept = [(key, value) for key, value in pairs if key not in bad]
    request.uri = f"{path}?{urlencode(kept)}" if kept else path
    request.query = urlencode(kept)
    for key in bad:  # what pn.state.session_args reads
        context.request.arguments.pop(key, None)
    shown = ", ".join(dict.fromkeys(bad))
    message = (f"This link's {shown} value is a number too long to read "
               f"(over {sys.get_int_max_str_digits():,} digits); it was left out.")

    def loaded():
        # The browser reports its address (the long number still in it) once it
        # connects: put the readable link back, so the page's link keeps working.
        location = pn.state.location
        if location is not None:
            pairs = parse_qsl(location.search.lstrip("?"), keep_blank_values=True)
            readable = urlencode([(k, v) for k, v in pairs if k not in bad])
            location.search = f"?{readable}" if readable else ""
        notify(message, "warning", 8000)
    pn.state.onload(loaded)
    return bad
