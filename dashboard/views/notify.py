"""Messages for the user: Panel notifications where the page has them."""
from __future__ import annotations

import logging

import panel as pn

log = logging.getLogger(__name__)


def notify(message: str, level: str = "error", duration: int = 6000) -> None:
    """Show ``message`` as a toast; log it where no notification area exists (a bare notebook)."""
    notifications = pn.state.notifications
    if notifications is None:
        log.warning(message)
        return
    getattr(notifications, level)(message, duration=duration)
