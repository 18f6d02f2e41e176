"""The Model search tab: an estimator, a grid of its hyper-parameters, CV on the cluster, live."""
from __future__ import annotations

import asyncio

import pandas as pd
import panel as pn
import param
from dask.base import tokenize
from panel.viewable import Viewer

from ..compute.estimators import (CLASSIFIERS, ESTIMATORS, REGRESSORS, SearchError,
                                  default_estimator, parse_grid, target_task)
from ..compute.groupby import is_number_dtype
from ..compute.search import SCORINGS, NeedsConfirmation, SearchSpec
from ..compute.search_code import search_code
from ..compute.search_data import default_features, sample_fraction, setting, text_features
from ..compute.search_results import SearchResults, grid_axes
from ..datasets.errors import explain_read
from ..jobs import Job, on_loop
from ..store import SessionStore
from ..work.search import search
from . import model_search_results as show
from . import model_search_form as form
from . import model_search_link as link
from . import url
from .notify import notify, plain
from .pacing import Paced

KIND = "search"
PRESETS = form.PRESETS
EMPTY = pd.DataFrame()
# The buttons' events, and the coroutine each one runs.
ACTIONS = {"run_clicked": "run", "compare_clicked": "compare", "cancel_clicked": "cancel",
           "confirm_clicked": "run_confirmed"}
# How long Run waits for the dataset's columns when clicked while they are read.
SCHEMA_WAIT = 120


class ModelSearchView(Viewer):
    """Estimator, grid, folds, scoring, target and features; Run, Cancel, Compare with local."""

    store = param.ClassSelector(class_=SessionStore, doc=(
        "The session's store: its dataset, summary and jobs."))

    estimator = param.Selector(default="SVC", objects=CLASSIFIERS, doc=(
        "The estimator; new data gets one that fits its target (a forest for classes, Ridge "
        "for numbers, the seed's SVC on the seed's data); regressors are offered when the "
        "target is numeric."))
    grid = param.ClassSelector(class_=param.Parameterized, doc=(
        "The grid editor's entries for the chosen estimator."))
    cv = param.Integer(default=2, bounds=(2, 20), doc="CV folds (stratified for classifiers).")
    scoring = param.Selector(default="accuracy", objects=SCORINGS["classification"],
                             doc="How a fold's fit is scored.")
    holdout = param.Number(default=0.2, bounds=(0, 0.5), step=0.05, doc=(
        "Share of rows kept out of the search to score the refit best model; "
        "0 searches all rows (as the seed did)."))
    target = param.Selector(default=None, objects=[], allow_None=True, doc=(
        "Target column; the dataset suggests one, and the estimator follows its kind."))
    features = param.ListSelector(default=[], objects=[], doc=(
        "Feature columns; the numeric ones but the target by default."))
    encode = param.Boolean(default=False, doc="One-hot encode non-numeric feature columns.")
    dropna = param.Boolean(default=True, doc=(
        "Drop rows with a missing target or feature value before searching."))
    rows = param.Integer(default=10_000, bounds=(0, None), doc=(
        "Rows to search: a seeded random sample of about this many when the dataset has "
        "more; 0 searches every row."))
    code = param.String(default="", doc=(
        "The search as scikit-learn and Dask code, written by the view from its settings."))
    heat_x = param.Selector(default=None, objects=[], allow_None=True, doc="Heatmap x axis.")
    heat_y = param.Selector(default=None, objects=[], allow_None=True, doc="Heatmap y axis.")

    job = param.ClassSelector(class_=Job, default=None, allow_None=True, doc="The shown run.")
    results = param.ClassSelector(class_=SearchResults, default=None, allow_None=True,
                                  doc="The shown run's results, filled in live.")
    question = param.String(default="", doc="A large search to confirm before it runs.")
    error = param.String(default="", doc="Why the last run did not give a result.")
    columns = param.List(default=[], doc="Columns of the dataset's schema (none until read).")
    dtypes = param.Dict(default={}, doc="The schema's columns and their dtypes (none until read).")
    heat_defaults = param.Tuple(default=(None, None), length=2, doc=(
        "The heatmap axes the shown run picks by itself (what a link leaves out)."))
    progress_text = param.String(default="", doc=(
        "What the run is doing, as the progress line says it ('8 / 8 fits done'); "
        "empty when there is nothing to show."))
    best_text = param.String(default="", doc=(
        "The best candidate and its score, the refit's held-out score and failures (Markdown)."))
    comparison_text = param.String(default="", doc=(
        "Compare with local: the cluster's and scikit-learn's wall times (Markdown)."))
    table = param.DataFrame(default=EMPTY, doc=(
        "The shown run's candidates, one row each, as its table lists them."))

    run_clicked = param.Event(doc="Run search: check, ask before a huge grid, run.")
    compare_clicked = param.Event(doc=(
        "Compare with local: the same grid on the cluster, then with scikit-learn here."))
    cancel_clicked = param.Event(doc="Cancel: stop the running search.")
    confirm_clicked = param.Event(doc="Run anyway: run the search the question asks about.")
    seed_small_clicked = param.Event(doc=f"{form.SEED_SMALL}: the seed's data and grid.")
    seed_large_clicked = param.Event(doc=f"{form.SEED_LARGE}: the seed's data and grid.")
    busy = param.Boolean(default=False, doc=(
        "A search (or the wait for its data's columns) is under way: Cancel is offered, "
        "the other actions are not."))

    def __init__(self, **params):
        super().__init__(**params)
        self._forms: dict[str, param.Parameterized] = {}
        self._asked_compare = False
        self._preset: str | None = None  # a seed preset (PRESETS) waiting for its columns
        self._shown_at = 0.0  # loop time the results were last drawn
        self._redraw: asyncio.TimerHandle | None = None  # a redraw waiting its turn
        self._drawn: tuple[int, bool] | None = None  # (fits done, complete) last drawn
        self.query_link = url.QueryLink(  # the tab's settings in the page's URL
            link.KEYS, "model search", lambda: link.state(self))
        self.param.watch(self.query_link.write, list(link.KEYS))
        self.param.watch(self._update_code, ["estimator", "grid", "cv", "scoring", "holdout",
                                             "target", "features", "encode", "dropna", "rows"])
        self._on_estimator()
        self._paced = Paced()  # a flood of clicks costs the server a few Runs a second
        self.param.watch(self._on_action, list(ACTIONS))
        self.param.watch(self._on_seed_clicked, list(form.SEED_EVENTS))
        self._heatmap = pn.pane.HoloViews(show.heatmap(None, None, None),
                                          sizing_mode="stretch_width",
                                          css_classes=["search-heatmap"])
        self._progress_bar = pn.indicators.Progress(value=0, max=1, width=300,
                                                    css_classes=["search-progress"])
        self.store.param.watch(self._on_schema, "summary")
        self._on_schema()

    # -- choices that follow the data and the estimator ---------------------

    def _on_schema(self, *_) -> None:
        summary = self.store.summary
        if summary is None:
            return
        if summary.columns != self.dtypes:
            self.dtypes = dtypes = summary.columns
            columns = list(dtypes)
            self.columns = columns
            self.param.target.objects = columns
            self.param.features.objects = columns
            default = self.store.dataset.target
            target = default if default in columns else (
                self.target if self.target in columns else None)
            self.param.update(target=target, features=default_features(dtypes, target))
            self._on_target()
            if target is not None:  # new data: what a fresh page would pick
                self.estimator = self.suggested_estimator()
            if self.query_link.pending:  # a shared link's columns can be checked now
                link.apply(self, columns)
        if self._preset is not None and form.apply_seed(self, self._preset):
            self._preset = None
        self._update_code()

    @param.depends("target", watch=True)
    def _on_target(self) -> None:
        dtype = self.dtypes.get(self.target, "")
        self.param.estimator.objects = CLASSIFIERS + (REGRESSORS if is_number_dtype(dtype)
                                                      else [])
        if self.target is not None and ESTIMATORS[self.estimator].task != target_task(
                dtype, self._target_sample()):
            self.estimator = self.suggested_estimator()
        elif self.estimator not in self.param.estimator.objects:
            self.estimator = CLASSIFIERS[0]
        if self.target in self.features:
            self.features = [f for f in self.features if f != self.target]

    def suggested_estimator(self) -> str:
        """What a fresh page picks for the target: a classifier for classes, else a regressor;
        the seed's SVC for the seed's data and target."""
        dataset = self.store.dataset
        if self.store.dataset_name == form.SEED_DATASET and self.target == dataset.target:
            return "SVC"
        return default_estimator(self.dtypes.get(self.target, ""), self._target_sample())

    def _target_sample(self) -> list:
        summary = self.store.summary
        if summary is None or self.target not in summary.head.columns:
            return []
        return summary.head[self.target].tolist()

    def _form(self, estimator: str) -> param.Parameterized:
        """The grid form of ``estimator``, made on first use and kept."""
        if estimator not in self._forms:
            kind = ESTIMATORS[estimator]
            grid = self._forms[estimator] = form.grid_form(kind)
            names = [h.name for h in kind.hypers]
            grid.param.watch(self.query_link.write, names)
            grid.param.watch(self._update_code, names)
        return self._forms[estimator]

    @param.depends("estimator", watch=True)
    def _on_estimator(self) -> None:
        kind = ESTIMATORS[self.estimator]
        # The grid first: the scoring widget writes back as its options change, and every
        # watcher of the scoring reads the grid of the estimator shown.
        self.grid = self._form(self.estimator)
        self.param.scoring.objects = SCORINGS[kind.task]
        if self.scoring not in SCORINGS[kind.task]:
            self.scoring = SCORINGS[kind.task][0]

    def entries(self) -> dict:
        # From the estimator's own form: a watcher of the estimator may run before
        # self.grid follows it (a link setting the estimator with the summary's update).
        grid = self._form(self.estimator)
        return {h.name: getattr(grid, h.name) for h in ESTIMATORS[self.estimator].hypers}

    def spec(self) -> SearchSpec:
        """The search the widgets describe (SearchError when an entry cannot be read)."""
        return SearchSpec(estimator=self.estimator, grid=parse_grid(self.estimator, self.entries()),
                          cv=self.cv, scoring=self.scoring, holdout=self.holdout)

    def code_for(self, spec: SearchSpec) -> str:
        """``spec`` on the chosen rows, as the code a notebook user would run."""
        summary = self.store.summary
        return search_code(
            spec, self.target, self.features, dropna=self.dropna,
            encode=text_features(self.dtypes, self.features) if self.encode else (),
            fraction=sample_fraction(self.rows, summary.rows_estimate if summary else None))

    def _update_code(self, *_) -> None:
        if self.target is None:
            code = "# Choose a target column."
        else:
            try:
                code = self.code_for(self.spec())
            except SearchError:  # its sentence, quoting the entry, comes with Run
                code = "# A grid entry cannot be read yet."
        self.code = code

    def apply_preset(self, name: str) -> None:
        """The seed's data and search (``PRESETS``): set now, and again once its columns
        arrive, whichever comes first."""
        self._preset = name
        form.seed_data(self.store)
        if form.apply_seed(self, name):
            self._preset = None

    def _on_seed_clicked(self, event) -> None:
        self.apply_preset(form.SEED_EVENTS[event.name])

    async def _columns_known(self) -> None:
        """Wait (bounded) for the dataset's columns when Run comes while they are read."""
        self.busy = True
        try:
            await self.store.summary_ready(SCHEMA_WAIT)
        finally:
            self.busy = False

    # -- running -------------------------------------------------------------

    async def run(self, event=None, confirmed: bool = False, compare: bool = False) -> Job | None:
        """Check everything, ask before a huge grid, dispatch the fits, show them as they land."""
        self.param.update(error="", question="")
        await self._columns_known()
        dataset, summary = self.store.dataset, self.store.summary
        try:
            spec = self.spec()
            spec.check()
        except SearchError as e:
            return self._fail(str(e))
        target, features, encode = self.target, list(self.features), self.encode
        dropna, rows, code = self.dropna, self.rows, self.code_for(spec)
        job = Job(kind=KIND, title=spec.code(), dataset=self.store.dataset_name,
                  settings=self.settings())
        axes = grid_axes(spec.candidates())
        self.param.heat_x.objects = self.param.heat_y.objects = axes
        self.heat_defaults = ((axes[:1] or [None])[0], (axes[1:2] or [None])[0])
        # Axes chosen before (or by a link) stay while the grid still has them.
        heat_x = self.heat_x if self.heat_x in axes else self.heat_defaults[0]
        heat_y = self.heat_y if self.heat_y in axes and self.heat_y != heat_x else next(
            (a for a in axes if a != heat_x), None)
        self.param.update(job=job, results=None, heat_x=heat_x, heat_y=heat_y)
        job.param.watch(self._show_progress, ["status", "done", "total", "stage"])
        here = asyncio.get_running_loop()  # the results are drawn from this view's loop

        async def work(ctx):
            ddf = await asyncio.to_thread(dataset.frame)
            try:
                return await search(ctx, ddf, target, features, spec, encode=encode,
                                    dropna=dropna, rows=rows,
                                    rows_estimate=summary.rows_estimate if summary else None,
                                    confirmed=confirmed, compare=compare,
                                    on_update=lambda r: on_loop(here, self._on_update, r))
            except NeedsConfirmation as e:
                self._asked_compare = compare  # "Run anyway" runs what was asked
                self.question = str(e)
                raise

        self.busy = True
        try:
            await self.store.jobs.run(
                job, work, explain=lambda e: str(explain_read(e, dataset) or _failure(e)),
                cache_key=None if compare else tokenize(dataset.cache_token(), code))
        finally:
            self.busy = False
        if job.status == "done":
            self.results = job.result  # drawn once more: the refit's held-out score
        elif job.status == "failed" and not self.question:
            self._fail(job.error)
        elif job.status == "cancelled" and self.job is job:
            notify(job.error, "warning", 4000)
        return job

    async def run_confirmed(self, event=None) -> Job | None:
        return await self.run(confirmed=True, compare=self._asked_compare)

    async def compare(self, event=None) -> Job | None:
        """The same grid on the cluster and with scikit-learn n_jobs=-1 in this process."""
        return await self.run(compare=True)

    async def cancel(self, event=None) -> None:
        """Stop the search: queued fits never start and the cluster drops the data."""
        await self.store.jobs.cancel(
            KIND, reason="Search cancelled; the remaining fits were dropped.")

    async def _on_action(self, event) -> None:
        action = getattr(self, ACTIONS[event.name])
        if event.name == "cancel_clicked":
            await action()  # at once, always
        else:
            await self._paced(action)

    def _on_update(self, results: SearchResults) -> None:
        """Show the results as fits land, redrawn at most ``updates-per-second``: a grid of
        fast fits would otherwise redraw the table and heatmap for each one."""
        if self.results is not results:
            self._shown_at = asyncio.get_running_loop().time()
            self.results = results
            self._drawn = (results.done, results.complete)
            return
        loop = asyncio.get_running_loop()
        wait = self._shown_at + 1 / setting("updates-per-second", 4) - loop.time()
        if results.complete or wait <= 0:
            if self._redraw is not None:  # late (a busy loop): this draw replaces it
                self._redraw.cancel()
                self._redraw = None
            self._draw()
        elif self._redraw is None:  # the fits that land meanwhile show together
            self._redraw = loop.call_later(wait, self._redraw_now, results)

    def _redraw_now(self, results: SearchResults) -> None:
        self._redraw = None
        if self.results is results:  # not a newer run's
            self._draw()

    def _draw(self) -> None:
        """Redraw the fits as they land, unless none landed since the last draw (the end
        of a search is reported more than once)."""
        state = (self.results.done, self.results.complete)
        if state == self._drawn:
            return
        self._drawn = state
        self._shown_at = asyncio.get_running_loop().time()
        self.param.trigger("results")

    def settings(self) -> dict:
        """Everything a run depends on, to restore it from the history."""
        dataset = self.store.dataset
        return {"dataset": self.store.dataset_name,
                "options": {o: getattr(dataset, o) for o in dataset.options},
                "search": {"estimator": self.estimator, "grid": self.entries(), "cv": self.cv,
                           "scoring": self.scoring, "holdout": self.holdout,
                           "target": self.target, "features": list(self.features),
                           "encode": self.encode, "dropna": self.dropna, "rows": self.rows}}

    def _fail(self, message: str) -> None:
        self.error = message
        notify(message)

    # -- rendering -----------------------------------------------------------

    @param.depends("code")
    def _code(self):
        return pn.pane.Markdown(f"```python\n{self.code}\n```", css_classes=["search-code"],
                                sizing_mode="stretch_width")

    @param.depends("results", watch=True)
    def _show_progress(self, *_) -> None:
        # Watched on each run's Job too: a method depending on "job.done" is not
        # re-wired when a new Job replaces None, so it would miss the data loading.
        job, results = self.job, self.results
        if job is not None and job.status == "running" and job.stage:
            # Work off the cluster (Compare with local): no count, but never silent.
            self._progress_bar.param.update(value=-1, max=1)
            self.progress_text = job.stage
            return
        if results is not None:
            done, total, what = results.done, results.total, "fits done"
        elif job is not None and job.status == "running":
            done, total, what = job.done, job.total, "tasks reading the data"
        else:
            self.progress_text = ""
            return
        self._progress_bar.max = max(total, 1, self._progress_bar.value)
        self._progress_bar.param.update(value=done if total else -1, max=max(total, 1))
        self.progress_text = f"{done} / {total} {what}" if total else "Reading the data…"

    @param.depends("question", "error")
    def _messages(self):
        if self.question:
            return pn.Column(pn.pane.Alert(plain(self.question), alert_type="warning",
                                           css_classes=["search-question"]),
                             form.button(self, "confirm_clicked"))
        if self.error:
            return pn.pane.Alert(plain(self.error), alert_type="danger",
                                 css_classes=["search-error"])
        return None

    @param.depends("results", watch=True)
    def _show_results(self) -> None:
        results = self.results
        threads = self.store.manager.n_threads if self.store.manager is not None else 0
        self.param.update(table=results.table() if results is not None else EMPTY,
                          best_text=show.best(results),
                          comparison_text=show.comparison(results, threads))

    @param.depends("results", "heat_x", "heat_y", watch=True)
    def _draw_heatmap(self) -> None:
        self._heatmap.object = show.heatmap(self.results, self.heat_x, self.heat_y)

    def __panel__(self):
        progress = pn.Row(self._progress_bar,
                          pn.pane.Markdown(self.param.progress_text,
                                           css_classes=["search-progress-text"]),
                          visible=self.param.progress_text.rx.bool())
        results = pn.Column(
            pn.pane.Markdown(self.param.best_text, css_classes=["search-best"]),
            pn.pane.Markdown(self.param.comparison_text, css_classes=["search-compare"]),
            pn.Row(pn.widgets.Select.from_param(self.param.heat_x, name="Heatmap x", width=160),
                   pn.widgets.Select.from_param(self.param.heat_y, name="Heatmap y", width=160)),
            self._heatmap,
            pn.widgets.Tabulator.from_param(self.param.table, name="", disabled=True,
                                            show_index=False, height=260,
                                            sizing_mode="stretch_width",
                                            css_classes=["search-table"]),
            visible=self.param.results.rx.is_not(None), sizing_mode="stretch_width")
        code = pn.Card(self._code, title="The same search in a notebook: scikit-learn + Dask",
                       sizing_mode="stretch_width", css_classes=["search-code-card"])
        return pn.Column(form.controls(self, progress, self._messages), results, code,
                         sizing_mode="stretch_width")


def _failure(e: Exception) -> str:
    return f"The search failed: {type(e).__name__}: {e}"
