"""The cluster card: where the app runs its work, and the controls to size it."""
from __future__ import annotations

import panel as pn
import param
from dask.utils import format_bytes
from panel.viewable import Viewer

from ..cluster import ClusterManager, ClusterUnavailable, may_scale
from ..session_token import current_user
from .notify import notify
from .session import in_server_session, on_this_document

_STATUS_COLOR = {
    "idle": "secondary", "starting": "warning", "connected": "success",
    "reconnecting": "warning", "disconnected": "danger",
}


class ClusterCard(Viewer):
    """Scheduler address, workers, threads and memory; scale and adaptive controls."""

    manager = param.ClassSelector(class_=ClusterManager, doc="The shared cluster connection.")
    scale_workers = param.Integer(default=2, bounds=(0, None), doc="Workers to scale to.")
    adapt_minimum = param.Integer(default=1, bounds=(0, None), doc="Adaptive: fewest workers.")
    adapt_maximum = param.Integer(default=4, bounds=(1, None), doc="Adaptive: most workers.")
    scale = param.Event(doc="Scale to scale_workers workers.")
    adapt = param.Event(doc="Scale adaptively between adapt_minimum and adapt_maximum.")
    busy = param.Boolean(default=False, doc="A scaling request is in flight.")
    user = param.String(default=None, allow_None=True, doc=(
        "Who this session's user is (the login's name); hosted, only some may scale."))
    shown = param.Dict(default={}, doc=(
        "This session's copy of the manager's figures (MIRRORED), updated by one "
        "watcher that the session removes when it ends."))

    # The manager outlives every session: binding widgets to its params directly would
    # leave a watcher per widget on it for ever, each holding the closed session's page.
    MIRRORED = ("status", "message", "scheduler_address", "n_workers", "n_threads",
                "memory_limit", "adaptive", "scalable")

    def __init__(self, **params):
        params.setdefault("user", current_user() if in_server_session() else None)
        super().__init__(**params)
        manager = self.manager
        self._mirror()
        watcher = manager.param.watch(on_this_document(self._mirror), list(self.MIRRORED))
        if in_server_session():
            pn.state.on_session_destroyed(lambda ctx: manager.param.unwatch(watcher))
        buttons = [pn.widgets.Button.from_param(self.param.scale, label="Scale",
                                                color="primary", disabled=self.param.busy),
                   pn.widgets.Button.from_param(self.param.adapt, label="Adapt",
                                                disabled=self.param.busy)]
        def number(parameter, label, width):
            return pn.widgets.IntInput.from_param(parameter, label=label, width=width,
                                                  description=None,
                                                  css_classes=[parameter.name.replace("_", "-")])
        for button in buttons:
            button.param.update(align="end", width=80)
        # Hosted, only the named users see (and may use) the controls; see _request.
        allowed = may_scale(self.user)
        self._controls = pn.Column(
            pn.Row(number(self.param.scale_workers, "Workers", 150), buttons[0]),
            pn.Row(number(self.param.adapt_minimum, "Adaptive min", 70),
                   number(self.param.adapt_maximum, "max", 70), buttons[1]),
            visible=self.param.shown.rx().get("scalable").rx.pipe(lambda s: bool(s) and allowed),
        )
        self._layout = pn.Card(
            pn.pane.Alert(pn.bind(self._status_text, self.param.shown),
                          alert_type=pn.bind(lambda shown: _STATUS_COLOR.get(shown["status"]),
                                             self.param.shown),
                          margin=(5, 5), css_classes=["cluster-status"]),
            pn.pane.Markdown(pn.bind(self._summary, self.param.shown),
                             css_classes=["cluster-summary"], margin=(0, 5)),
            self._controls,
            title="Dask cluster", collapsible=False, sizing_mode="stretch_width",
        )

    def _mirror(self, *events) -> None:
        self.shown = {name: getattr(self.manager, name) for name in self.MIRRORED}

    @staticmethod
    def _status_text(shown: dict) -> str:
        return shown["message"] or shown["status"].capitalize()

    @staticmethod
    def _summary(shown: dict) -> str:
        if not shown["scheduler_address"]:
            return ""
        scaling = " (adaptive)" if shown["adaptive"] else ""
        return (f"**Scheduler** `{shown['scheduler_address']}`  \n"
                f"**Workers** {shown['n_workers']}{scaling} · **Threads** {shown['n_threads']} · "
                f"**Memory** {format_bytes(shown['memory_limit'])}")

    @param.depends("scale", watch=True)
    async def _scale(self) -> None:
        await self._request(lambda: self.manager.scale(self.scale_workers),
                            f"Scaling to {self.scale_workers} workers…")

    @param.depends("adapt", watch=True)
    async def _adapt(self) -> None:
        await self._request(lambda: self.manager.adapt(self.adapt_minimum, self.adapt_maximum),
                            f"Adaptive between {self.adapt_minimum} and "
                            f"{self.adapt_maximum} workers.")

    async def _request(self, request, done_message: str) -> None:
        # Checked here too: a hidden or disabled control can still be sent an event.
        if self.busy:
            return
        if not may_scale(self.user):
            notify("Only the server's admins may resize this shared cluster "
                   "(workbench.cluster.scale-users).")
            return
        self.busy = True
        try:
            await request()
            notify(done_message, "info", 3000)
        except (ClusterUnavailable, ValueError) as e:
            notify(str(e))
        finally:
            self.busy = False

    def __panel__(self):
        return self._layout
