"""The live Dask dashboard panes, shown beside the app's own content."""
from __future__ import annotations

import html

import panel as pn
import param
from panel.viewable import Viewer

from ..cluster import ClusterManager
from ..cluster.plots import DEFAULT_PLOTS, individual_plots
from ..proxy import MOUNT, is_mounted
from . import pane_layout
from .session import in_server_session, on_this_document

PROXY_MISSING = (
    "The dashboard proxy is not enabled on this server, so the panes below connect "
    "to the scheduler directly at {link} — browsers on other machines may not reach "
    "it. Serve with `--plugins dashboard.proxy.plugin` to show them through this app.")


def proxy_base() -> str:
    """The proxy's mount point, relative to the page, so ``--prefix`` and outer proxies work."""
    rel = pn.state.rel_path
    return f"{rel}/{MOUNT}/" if rel else f"{MOUNT}/"


PANE_CSS = """
.pane-title { height: 22px; line-height: 22px; padding: 0 6px; font-size: 13px;
              cursor: move; user-select: none; background: var(--neutral-fill-rest, #eee); }
/* A table pane keeps readable columns and scrolls sideways in a narrow pane. */
.pane-scroll { width: 100%; height: calc(100% - 22px); overflow-x: auto; overflow-y: hidden; }
/* While a pane is dragged or resized, no iframe may swallow the mouse. */
:host-context(.ui-draggable-dragging) iframe,
:host-context(.ui-resizable-resizing) iframe { pointer-events: none; }
"""
# distributed's Workers table squeezes its ~20 columns into the pane's width ("nam",
# "addr"): that pane gets this much width and a sideways scroll instead.
MIN_PANE_WIDTH = {"Workers": 1800}
# distributed's plots have no dark theme: invert them, and turn the hues back, to
# match a dark page.
DARK_PANE = "iframe { filter: invert(0.88) hue-rotate(180deg); }"


class DaskPanes(Viewer):
    """Iframes of the scheduler dashboard's individual plots, with a picker."""

    manager = param.ClassSelector(class_=ClusterManager, doc="The shared cluster connection.")
    plots = param.ListSelector(default=list(DEFAULT_PLOTS), objects=list(DEFAULT_PLOTS),
                               doc="Labels of the panes shown.")
    pane_height = param.Integer(default=320, bounds=(150, 2000), doc=(
        "Height of a pane as first placed; drag its corner to resize it."))
    stacked = param.Boolean(default=False, doc=(
        "One pane per row, across the grid: the panes sit in a column beside the work."))
    proxied = param.Boolean(default=True, doc=(
        "Load panes through the app's own port. Off in notebooks and when the server "
        "was started without the proxy plugin."))

    def __init__(self, **params):
        if "proxied" not in params:
            params["proxied"] = in_server_session() and is_mounted()
        super().__init__(**params)
        self._paths = dict(DEFAULT_PLOTS)
        self._iframes: dict[str, pn.pane.HTML] = {}
        self._base = proxy_base() if self.proxied else ""
        self._picker = pn.widgets.MultiChoice.from_param(
            self.param.plots, label="Dashboard panes", sizing_mode="stretch_width",
            css_classes=["dask-pane-picker"])
        self._notice = pn.pane.Alert(alert_type="warning", visible=False,
                                     css_classes=["proxy-notice"])
        self._waiting = pn.pane.Markdown("Waiting for the Dask dashboard…")
        # Drag a pane by its body, resize it by its corner; the grid keeps where it was put.
        self._grid = pn.GridStack(ncols=pane_layout.COLUMNS, sizing_mode="stretch_width",
                                  allow_drag=True, allow_resize=True, css_classes=["dask-panes"])
        self._panes = pn.Column(self._waiting, sizing_mode="stretch_width")
        self._layout = pn.Column(self._picker, self._notice, self._panes,
                                 sizing_mode="stretch_width")
        # The manager outlives this session: stop watching it when the session ends.
        watchers = [
            self.manager.param.watch(on_this_document(self._on_dashboard),
                                     ["dashboard_url", "dashboard_link"]),
            self.manager.param.watch(on_this_document(self._on_status), "status"),
        ]
        if in_server_session():
            pn.state.on_session_destroyed(
                lambda ctx: [self.manager.param.unwatch(w) for w in watchers])
        pn.state.onload(self.load)
        self._on_dashboard()

    async def load(self) -> None:
        """Ask the scheduler which plots it offers (every one becomes pickable)."""
        await self.manager.start()
        if not self.manager.dashboard_url:
            return
        self._paths = await individual_plots(self.manager.dashboard_url)
        self.param.plots.objects = list(self._paths)
        self._on_dashboard()

    def _on_dashboard(self, *events) -> None:
        if not self.proxied:
            self._base = self.manager.dashboard_link
            if in_server_session() and self._base:
                self._notice.object = PROXY_MISSING.format(link=self._base)
                self._notice.visible = True
        self._render()

    def _on_status(self, event) -> None:
        # Bokeh panes do not reconnect by themselves: reload them once the scheduler is back.
        if event.new == "connected" and event.old in ("reconnecting", "disconnected"):
            self._iframes = {}
            self._render()

    @param.depends("plots", "pane_height", "stacked", watch=True)
    def _render(self) -> None:
        if not self._base:
            self._panes.objects = [self._waiting]
            return
        # Reuse the iframe of a pane that stays, so it keeps its live connection,
        # and its cell, so it stays where the user dragged it.
        kept = {self._label(pane): cell for cell, pane in self._grid.objects.items()}
        iframes = {}
        for label in self.plots:
            if label in self._paths:
                src = self._base + self._paths[label]
                iframes[src] = self._iframes.get(src) or self._iframe(label, src)
        self._iframes = iframes
        by_label = {self._label(pane): pane for pane in iframes.values()}
        cells = pane_layout.arrange(list(by_label), kept, self.stacked)
        # Panel's GridStack has a fixed number of rows: panes trade places within it.
        nrows = pane_layout.rows(cells)
        self._grid.param.update(
            objects={cells[label]: pane for label, pane in by_label.items()},
            nrows=nrows or None,
            height=max(nrows, 1) * self.pane_height // pane_layout.PANE_ROWS,
        )
        self._panes.objects = [self._grid]

    def shown(self) -> list[pn.pane.HTML]:
        """The panes on screen, top-left first."""
        if self._grid not in self._panes.objects:
            return []
        return [pane for _, pane in sorted(self._grid.objects.items())]

    @staticmethod
    def _label(pane: pn.pane.HTML) -> str:
        return pane.name

    def _iframe(self, label: str, src: str) -> pn.pane.HTML:
        # The title bar is the handle to drag the pane by: an iframe keeps the mouse.
        min_width = MIN_PANE_WIDTH.get(label, 0)
        return pn.pane.HTML(
            f'<div class="pane-title">{html.escape(label)}</div><div class="pane-scroll">'
            f'<iframe src="{html.escape(src, quote=True)}" title="{html.escape(label, quote=True)}" '
            f'style="width:100%;min-width:{min_width}px;height:100%;border:0"></iframe></div>',
            name=label, sizing_mode="stretch_both", css_classes=["dask-pane"], margin=5,
            stylesheets=[PANE_CSS] + ([DARK_PANE] if pn.config.theme == "dark" else []),
        )

    def __panel__(self):
        return self._layout
