"""Where a view is rendered: a ``panel serve`` session's document, or a notebook."""
from __future__ import annotations

import panel as pn
from panel.io.state import set_curdoc


def in_server_session() -> bool:
    """Whether this view renders in a ``panel serve`` page (not a notebook cell)."""
    doc = pn.state.curdoc
    # Bokeh's current document is process-wide: a closed session's can linger there.
    return bool(doc and doc.session_context
                and not getattr(doc.session_context, "destroyed", False))


def when_ready(callback) -> None:
    """Run ``callback`` (plain or async) once this session's page is ready, or now.

    Panel 1.9 drops the changes a layout makes after the browser has fetched the
    page's document but before the page says it is ready (its hold takes the
    session for not yet connected). The page then misses the new models and
    breaks at the next update naming one ("reference p5156 isn't known"): a link
    opened right after another showed no summary and no run result. So work that
    changes the page starts once it is ready.
    """
    if in_server_session() and pn.state.loaded:
        pn.state.execute(callback)
    else:  # Panel runs it at once where there is no page to wait for (a notebook)
        pn.state.onload(callback)


def on_this_document(callback):
    """``callback`` run on this session's document.

    The manager is shared: its changes arrive from whichever session or task
    made them, and an update made outside this document may never reach its page.
    """
    document = pn.state.curdoc if in_server_session() else None
    if document is None:
        return callback

    def run(*events):
        with set_curdoc(document):
            if pn.state.loaded or not in_server_session():
                callback(*events)
            else:  # see ``when_ready``
                pn.state.onload(lambda: callback(*events))

    def scheduled(*events):
        if pn.state.curdoc is document:
            run(*events)
        else:
            document.add_next_tick_callback(lambda: run(*events))
    return scheduled
