"""The whole app as one Viewer: a template when served, a plain layout in a notebook."""
from __future__ import annotations

import asyncio
import logging

import panel as pn
import param
from panel.viewable import Viewer

from .. import downloads
from ..cluster import ClusterManager, get_manager
from ..session_token import current_user
from ..store import SessionStore
from .cluster_card import ClusterCard
from .dataset_picker import DatasetPicker
from .explore import ExploreView
from .groupby import GroupByView
from .model_search import ModelSearchView
from .notify import notify
from .panes import DaskPanes
from .session import in_server_session, on_this_document, when_ready
from .query_guard import drop_unreadable_numbers, report_unparsed_values
from .template import WorkbenchTemplate
from .workspace import Workspace
from . import carry_over, url

log = logging.getLogger(__name__)

TITLE = "Dask Workbench"
GROUPBY_TAB = 1


class Workbench(Viewer):
    """Cluster card, dataset picker, the work tabs and live dashboard panes, composed."""

    manager = param.ClassSelector(class_=ClusterManager, doc=(
        "The cluster connection; by default the one this process shares."))

    def __init__(self, **params):
        params.setdefault("manager", get_manager())
        super().__init__(**params)
        drop_unreadable_numbers()  # before any view reads the link
        report_unparsed_values()  # before a view's sync writes the URL without them
        self.cluster_card = ClusterCard(manager=self.manager)
        # Served, the panes sit in a column beside the work (see Workspace): one per row.
        self.panes = DaskPanes(manager=self.manager, stacked=in_server_session())
        # One store per session, with its one job runner: its jobs die with the session
        # (see _on_session_destroyed). A served page starts its work on its own
        # document (the shared manager's changes arrive from anywhere), once it is ready.
        self.store = SessionStore(manager=self.manager, schedule=on_this_document(when_ready))
        self.store.jobs.user = current_user()  # hosted: its runs count in its user's share
        self.datasets = DatasetPicker(store=self.store)
        self.groupby = GroupByView(store=self.store)
        self.explore = ExploreView(store=self.store)
        # Linked selection: a box on the Explore map filters the group-by query.
        self.explore.param.watch(lambda event: setattr(self.groupby, "selection", event.new),
                                 "selection")
        self.model_search = ModelSearchView(store=self.store)
        self.tabs = pn.Tabs(
            ("Data", self.datasets.preview),
            ("Group-by", self.groupby),
            ("Model search", self.model_search),
            ("Explore", self.explore),
            # A first page opens where the work is: the workshop's query, ready to Run.
            active=GROUPBY_TAB, dynamic=True, sizing_mode="stretch_width",
        )
        if in_server_session():
            pn.state.on_session_destroyed(self._on_session_destroyed)
        url.sync(self.tabs, {"active": "tab"}, "tab")
        # Explore draws its first map when its tab is opened, not on every page load.
        explore_tab = len(self.tabs) - 1
        self.explore.shown = self.tabs.active == explore_tab
        self.tabs.param.watch(lambda event: setattr(self.explore, "shown",
                                                    event.new == explore_tab), "active")
        self._watch_connection()

    def _watch_connection(self) -> None:
        """Say so, app-wide, when the cluster goes away and when it is back."""
        lost = []  # the "lost" notice stays up until the cluster is back

        def announce(event):
            if event.new in ("reconnecting", "disconnected") and event.old == "connected":
                lost.append(notify(f"{self.manager.message or 'Lost the Dask cluster.'} "
                                   "Your selections are kept; Run works again once it is back.",
                                   "warning", 0))
            elif event.new == "connected" and event.old in ("reconnecting", "disconnected"):
                for notice in filter(None, lost):
                    notice.destroy()
                lost.clear()
                notify(f"The Dask cluster is back: {self.manager.message}.", "success", 5000)
        watcher = self.manager.param.watch(on_this_document(announce), "status")
        if in_server_session():
            pn.state.on_session_destroyed(lambda ctx: self.manager.param.unwatch(watcher))

    def _on_session_destroyed(self, session_context) -> None:
        # Bokeh calls this synchronously on the server's loop: schedule the cancels.
        self._end(session_context.id)

    def _end(self, session: str) -> None:
        """The page is gone: its jobs stop, its keys and download links go."""
        downloads.withdraw(session)
        if not self.store.closed:
            log.info("Session %s ended: its jobs are cancelled", session)
            asyncio.ensure_future(self.store.close())

    def _carry_over(self, event) -> None:
        """Give a reloaded tab its history and results back; keep them from now on."""
        key = carry_over.key_for(event.new)
        if key is None:
            return
        kept = carry_over.kept(key)
        if kept is not None and not self.store.jobs.history:
            self.store.jobs.history = list(kept.history)
        # The shown results only on the same page (a reload): a new link shows its own.
        if kept is not None and kept.page == carry_over.page_query():
            shown = kept.shown.get("groupby")
            if shown is not None and shown.finished:
                self.groupby.restore(shown)
            search = kept.shown.get("search")
            if search is not None and search.status == "done":
                self.model_search.param.update(job=search, results=search.result)

        def keep(*_):
            carry_over.keep(key, carry_over.Snapshot(
                list(self.store.jobs.history),
                {"groupby": self.groupby.job, "search": self.model_search.job},
                carry_over.page_query()))
        self.store.jobs.param.watch(keep, "history")
        self.groupby.param.watch(keep, "job")
        self.model_search.param.watch(keep, "job")
        if pn.state.location is not None:
            pn.state.location.param.watch(keep, "search")
        keep()

    def __panel__(self):
        return pn.Row(
            pn.Column(self.cluster_card, self.datasets, width=340),
            pn.Column(self.tabs, self.panes, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def template(self) -> WorkbenchTemplate:
        # The template's switch reloads the page with ?theme=dark; the panes follow it.
        workspace = Workspace(work=self.tabs, panes=self.panes, sizing_mode="stretch_width")
        # A new result is brought into view, beside the panes that show its tasks.
        self.groupby.param.watch(lambda event: workspace.reveal("groupby-figures"),
                                 "result_shown")
        workspace.param.watch(self._carry_over, "tab_id")
        context = pn.state.curdoc and pn.state.curdoc.session_context
        if context is not None:
            workspace.param.watch(lambda event, session=context.id: self._end(session),
                                  "closing")
        return WorkbenchTemplate(
            title=TITLE,
            sidebar=[self.cluster_card, self.datasets],
            main=[workspace],
            sidebar_width=320, main_layout=None, accent="#2d6ca2",
        )

    def servable(self, title: str | None = None, **kwargs):
        """In ``panel serve``, the full template; elsewhere (a notebook), the plain layout."""
        if in_server_session():
            return self.template().servable(title=title or TITLE)
        return super().servable(title=title, **kwargs)
