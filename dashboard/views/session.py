"""Where a view is rendered: a ``panel serve`` session's document, or a notebook."""
from __future__ import annotations

import panel as pn


def in_server_session() -> bool:
    """Whether this view renders in a ``panel serve`` page (not a notebook cell)."""
    doc = pn.state.curdoc
    # Bokeh's current document is process-wide: a closed session's can linger there.
    return bool(doc and doc.session_context
                and not getattr(doc.session_context, "destroyed", False))


def on_this_document(callback):
    """``callback`` run on this session's document.

    The manager is shared: its changes arrive from whichever session or task
    made them, and an update made outside this document may never reach its page.
    """
    document = pn.state.curdoc if in_server_session() else None
    if document is None:
        return callback

    def scheduled(*events):
        if pn.state.curdoc is document:
            callback(*events)
        else:
            document.add_next_tick_callback(lambda: callback(*events))
    return scheduled
