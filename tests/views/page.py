"""A view as the page shows it: its layout, searched by the CSS classes the browser tests
use. Tests read what the user sees here, never a view's private widgets."""
from __future__ import annotations

import panel as pn


def layout(view) -> pn.viewable.Viewable:
    """The layout Panel renders for ``view`` (as a served page would)."""
    return pn.panel(view)


def visible(page: pn.viewable.Viewable, selector=None) -> list:
    """The objects of ``page`` that ``selector`` picks and the user can see: neither they
    nor a layout holding them is hidden."""
    hidden = {id(inner) for o in page.select(lambda o: not getattr(o, "visible", True))
              for inner in o.select()}
    return [o for o in page.select(selector) if id(o) not in hidden]


def find(page: pn.viewable.Viewable, css_class: str) -> list:
    """The visible objects of ``page`` that carry ``css_class``, outermost first."""
    return visible(page, lambda o: css_class in (getattr(o, "css_classes", None) or []))


def shown(page: pn.viewable.Viewable, css_class: str):
    """The one visible object of ``page`` with ``css_class``; None when there is none."""
    found = find(page, css_class)
    assert len(found) <= 1, f"{len(found)} visible objects with {css_class!r}"
    return found[0] if found else None


def buttons(page: pn.viewable.Viewable) -> dict[str, bool]:
    """The visible buttons by label: whether each is disabled."""
    return {b.label: b.disabled for b in visible(page, pn.widgets.Button)}
