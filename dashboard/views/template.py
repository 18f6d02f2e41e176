"""The page the app is served in: Panel's FastListTemplate, working offline."""
from __future__ import annotations

import panel as pn
from panel.theme import THEMES, fast

from .notify import notify

# Fonts every browser has: the Fast design's default pulls Open Sans from Google
# Fonts, which a closed network (or a strict hosting policy) cannot reach.
SYSTEM_FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


class Fast(fast.Fast):
    """Panel's Fast design without its web font.

    Keeps the name ``Fast``: Panel finds a design's bundled files by its class name.
    """

    _resources = {kind: files for kind, files in fast.Fast._resources.items()
                  if kind != "font"}


class WorkbenchTemplate(pn.template.FastListTemplate):
    """FastListTemplate (sidebar, header, light/dark switch) in system fonts."""

    def __init__(self, **params):
        drop_unknown_theme()
        params.setdefault("design", Fast)
        params.setdefault("font", SYSTEM_FONTS)
        params.setdefault("font_url", "")
        super().__init__(**params)


def drop_unknown_theme() -> None:
    """A link's ``?theme=`` that is no theme gets the default and a notice: Panel's Fast
    templates look it up unchecked, and the KeyError left the page blank."""
    args = pn.state.session_args  # the page request's arguments, read by the template
    value = (args.get("theme") or [b""])[0]
    theme = value.decode("utf-8", "replace").strip("'\"")
    if theme and theme not in THEMES:
        args.pop("theme")
        pn.state.onload(lambda: notify(
            f"This link's theme setting theme={theme!r} does not exist here; the default "
            "is shown instead.", "warning", 8000))
