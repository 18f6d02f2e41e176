"""Messages for the user: Panel notifications where the page has them."""
from __future__ import annotations

import html
import logging

import panel as pn

log = logging.getLogger(__name__)


def plain(text) -> str:
    """``text`` to be shown as text, never as markup.

    Notifications, alerts and Markdown panes are put into the page as HTML, and
    messages quote values from links, forms and data files: a value such as
    ``<img src=x onerror=...>`` would otherwise run in the reader's browser.
    """
    return html.escape(str(text), quote=False)


def notify(message: str, level: str = "error", duration: int = 6000):
    """Show ``message`` as a toast; log it where no notification area exists (a bare notebook).

    Returns the notification (``None`` when logged), which ``.destroy()`` dismisses.
    """
    notifications = pn.state.notifications
    if notifications is None:
        log.warning(message)
        return None
    return getattr(notifications, level)(plain(message), duration=duration)
