"""The Group-by tab: widgets build a query, the cluster runs it, the result comes back live."""
from __future__ import annotations

import asyncio
from functools import partial

import panel as pn
import param
from dask.base import tokenize
from panel.viewable import Viewer

from .. import config
from ..compute.groupby import (AGGREGATIONS, GroupBySpec, QueryError, default_sort,
                               explain_failure, frequent_values, is_range_dtype, key_sample,
                               plan_query, run_pandas, same_result, spec_from_settings, to_code,
                               validate)
from ..datasets.errors import explain_read
from ..jobs import Job
from ..store import SessionStore
from ..work.groupby import run_query, timed
from . import groupby_link as link
from . import groupby_results as show
from . import url
from .notify import notify, plain
from .pacing import Paced
from .session import when_ready
from .text_choice import TextChoice

KIND = "groupby"
COMPARE = "groupby-compare"  # pandas on one worker, run after the cluster to compare
SUMMARY_WAIT = 120  # seconds a Run waits for the dataset's first read
NOT_READ = "The dataset has not been read yet; Run once its columns show."
# The buttons' events, and the coroutine each one runs.
ACTIONS = {"run_clicked": "run", "cancel_clicked": "cancel",
           "compare_clicked": "run_comparison", "confirm_clicked": "run_confirmed"}


class GroupByView(Viewer):
    """Group-by keys, value columns, an aggregation, filters; Run, Cancel, Compare."""

    store = param.ClassSelector(class_=SessionStore, doc=(
        "The session's store: its dataset, summary and jobs."))

    group_by = param.ListSelector(default=[], objects=[], doc="Columns to group by.")
    value_columns = param.ListSelector(default=[], objects=[], doc="Columns to aggregate.")
    agg = param.Selector(default="mean", objects=list(AGGREGATIONS), doc="The aggregation.")
    filter_columns = param.ListSelector(default=[], objects=[], doc="Columns to filter on.")
    filters = param.Dict(default={}, doc=(
        "Per filtered column: {'low': x, 'high': y} for numbers and dates, "
        "{'values': [...]} for text; structured, never code."))
    selection = param.Dict(default=None, allow_None=True, doc=(
        "{column: (low, high)} box chosen on the Explore map; filters the query too."))
    sort = param.Selector(default="value", objects=["value", "key"], doc="Sort by.")
    ascending = param.Boolean(default=False, doc="Smallest first.")
    top_n = param.Integer(default=None, allow_None=True, doc="Keep only the first N groups.")
    report = param.Boolean(default=False, doc="Record a Dask performance report of the run.")

    job = param.ClassSelector(class_=Job, default=None, allow_None=True, doc="The shown run.")
    warning = param.String(default="", doc="A question to confirm before running.")
    error = param.String(default="", doc="Why the last run did not give a result.")
    compare = param.Dict(default=None, allow_None=True, doc="pandas vs cluster timings.")
    comparing = param.String(default="", doc="What Compare with pandas is doing now.")
    choices = param.Dict(default={}, doc="Values offered by each text filter.")
    result_shown = param.Event(doc="A run's result has just been shown.")
    columns = param.List(default=[], doc="Columns of the dataset's schema.")
    code = param.String(default="", doc=(
        "The query as pandas/Dask code, written by the view from its settings."))

    run_clicked = param.Event(doc="Run: check the query, ask before a huge one, run it.")
    cancel_clicked = param.Event(doc="Cancel: stop the running query.")
    compare_clicked = param.Event(doc="Compare with pandas: the same query timed both ways.")
    confirm_clicked = param.Event(doc="Run anyway: run the query the warning asks about.")
    clear_selection_clicked = param.Event(doc="Clear map selection: forget the map's box.")
    busy = param.Boolean(default=False, doc=(
        "A run or a comparison is under way: Cancel is offered, Run and Compare are not."))
    can_run = param.Boolean(default=False, doc=(
        "Run and Compare are offered: the dataset's columns are read and nothing runs."))
    runs = param.List(default=[], item_type=Job, doc=(
        "This tab's runs in the session's history, newest first, as the history lists them."))
    history = param.DataFrame(default=None, allow_None=True, doc=(
        "The run history as the tab shows it: one row per run in ``runs``."))

    def __init__(self, **params):
        super().__init__(**params)
        self._dtypes: dict[str, str] = {}
        self._confirmed = None  # the (data, query) the user agreed to run despite its size
        self._pending = None  # the (data, query) waiting for that agreement
        self.history = show.history_frame([])
        self.store.param.watch(self._on_schema, "summary")
        self.store.jobs.param.watch(self._on_history, "history")
        self.param.watch(self._sort_for_keys, ["group_by", "sort", "ascending"])
        self._paced = Paced()  # a flood of clicks costs the server a few Runs a second
        self.param.watch(self._on_action, list(ACTIONS))
        self.query_link = url.QueryLink(  # the tab's query in the page's URL
            link.KEYS, "group-by", lambda: link.state(self, self._dtypes))
        self.param.watch(self.query_link.write, list(link.KEYS))
        self._on_schema()
        self._update_code()

    # -- schema and defaults -----------------------------------------------

    def _on_schema(self, *_) -> None:
        summary = self.store.summary
        # No schema yet (a dataset being read): nothing to build a query from.
        self._update_can_run()
        if summary is None:
            return
        dtypes = summary.columns
        if dtypes == self._dtypes:
            return
        self._dtypes = dtypes
        columns = list(dtypes)
        fresh_keys, fresh_values = link.fresh_columns(self.store.dataset, dtypes)
        keys = [k for k in self.group_by if k in columns] or fresh_keys
        values = [v for v in self.value_columns if v in columns and v not in keys] or \
            fresh_values
        for p in self._column_params():
            p.objects, p.check_on_set = columns, True
        self.param.update(group_by=keys, value_columns=values,
                          filter_columns=[c for c in self.filter_columns if c in columns],
                          filters={c: f for c, f in self.filters.items() if c in columns},
                          selection=None)
        if self.query_link.pending:  # a shared link's columns can be checked now
            link.apply(self, self.query_link, dtypes)
        self.columns = columns  # last: the pickers are rebuilt with valid values

    def _sort_for_keys(self, *events) -> None:
        """New keys bring their natural order (1 2 3 for numbers and dates, largest
        value first otherwise), unless the user changed the order from what the old
        keys brought, or set it in the same change (a link, a restored run)."""
        if {e.name for e in events} != {"group_by"}:
            return
        if (self.sort, self.ascending) == default_sort(events[0].old, self._dtypes):
            sort, ascending = default_sort(self.group_by, self._dtypes)
            self.param.update(sort=sort, ascending=ascending)

    def _column_params(self):
        return (self.param.group_by, self.param.value_columns, self.param.filter_columns)

    def _forget_schema(self) -> None:
        """Until the next schema arrives any column is accepted (a link, a restored run)."""
        for p in self._column_params():
            p.objects, p.check_on_set = [], False
        self._dtypes, self.columns = {}, []

    def spec(self) -> GroupBySpec:
        """The query the widgets describe."""
        return spec_from_settings(self.settings()["query"])

    def settings(self) -> dict:
        """Everything a run depends on, to restore it from the history."""
        dataset = self.store.dataset
        return {
            "dataset": self.store.dataset_name,
            "options": {o: getattr(dataset, o) for o in dataset.options},
            "query": {name: getattr(self, name) for name in (
                "group_by", "value_columns", "agg", "filter_columns", "filters", "selection", "sort",
                "ascending", "top_n")},
        }

    # -- running -----------------------------------------------------------

    async def run(self, event=None, confirmed: bool = False, use_cache: bool = True) -> Job | None:
        """Check the query, ask before a huge one, run it on the cluster, show the result."""
        self.param.update(error="", warning="")
        dataset = self.store.dataset
        # Run is disabled until the dataset is read; an event sent anyway waits for it.
        if await self.store.summary_ready(SUMMARY_WAIT) is None:
            return self._fail(self.store.error or NOT_READ)
        try:
            spec = self.spec()  # a link or a restored run may hold a malformed filter
            ddf = await asyncio.to_thread(dataset.frame)
            validate(spec, ddf.dtypes)
            split_out = await self._check_size(ddf, spec, confirmed)
            files = await asyncio.to_thread(dataset.parquet_files)
            source = tokenize(dataset.cache_token())
        except Exception as e:
            return self._fail(str(explain_read(e, dataset) or e))
        if split_out is None:
            return None  # waiting for the user's answer to self.warning
        job = Job(kind=KIND, title=to_code(spec), dataset=self.store.dataset_name,
                  settings=self.settings())
        self.param.update(job=job, compare=None)
        self.busy = True
        try:
            await self.store.jobs.run(
                job, partial(run_query, ddf=ddf, spec=spec, split_out=split_out or None,
                             files=files, source=source),
                cache_key=tokenize(source, spec)
                if use_cache and not self.report else None,
                report=self.report,
                explain=lambda e: str(explain_read(e, dataset) or explain_failure(e, spec)))
        finally:
            self.busy = False
            self._on_history()  # the run's row now has its outcome
        if job.status == "done" and self.job is job:
            self.param.trigger("result_shown")
        if job.status == "failed":
            self._fail(job.error)
        elif job.status == "cancelled" and self.job is job:
            notify(job.error, "warning", 4000)
        if job.report_error:
            notify(job.report_error, "warning", 8000)
        return job

    async def _check_size(self, ddf, spec: GroupBySpec, confirmed: bool):
        """None to ask first; else the split_out for the result's size (False: one piece).

        Estimated from the first partition, of which the cluster reads only the key
        columns (``plan_query``): a query that may make very many groups or run for
        minutes waits for the user's word.
        """
        dataset = self.store.dataset
        sample_job = Job(kind="groupby-estimate", title="estimate groups")
        await self.store.jobs.run(sample_job, partial(timed, key_sample(ddf, spec.keys)),
                                  cache_key=tokenize(dataset.cache_token(), spec.keys, "sample"),
                                  remember=False)
        if sample_job.status != "done":
            raise QueryError(sample_job.error or "Could not read the first partition.")
        sample, partition_seconds = sample_job.result
        plan = plan_query(spec, sample, partition_seconds, ddf.npartitions,
                          self.store.manager.n_threads)
        asked = tokenize(dataset.cache_token(), spec)
        if plan.questions and not confirmed and self._confirmed != asked:
            self.warning = " ".join(plan.questions) + " Run anyway?"
            self._pending = asked
            return None
        return plan.split_out

    async def run_confirmed(self, event=None) -> Job | None:
        """Run the query the warning asked about, and the same query later without asking."""
        self._confirmed = self._pending
        return await self.run(confirmed=True)

    async def cancel(self, event=None) -> None:
        """Stop the running query; its tasks are released on the cluster."""
        for kind in (KIND, COMPARE):
            await self.store.jobs.cancel(
                kind, reason="Cancelled; the cluster has dropped its tasks.")

    async def run_comparison(self, event=None) -> None:
        """The same query on one process of pandas and on the cluster, timed in turn."""
        dataset = self.store.dataset
        summary = await self.store.summary_ready(SUMMARY_WAIT)
        cap = config.get("groupby.compare-max-bytes")
        # The size decides whether pandas may load it here: unknown, it may not.
        if summary is None:
            return self._fail(self.store.error or NOT_READ)
        if summary.bytes_estimate > cap:
            return self._fail(
                f"This dataset is about {summary.bytes_estimate / 2**30:,.1f} GiB in memory, "
                f"more than pandas may load here ({cap / 2**30:,.1f} GiB, "
                "workbench.groupby.compare-max-bytes). Only the cluster can run it.")
        job = await self.run(use_cache=False)  # time real work, not the cache
        if job is None or job.status != "done":
            return
        spec = self.spec()
        ddf = await asyncio.to_thread(dataset.frame)
        self.busy = True
        self.comparing = (f"The cluster took {job.elapsed:.2f} s. Now pandas runs the same "
                          "query in one process, on one core of a worker…")
        try:
            pandas = await self.store.jobs.run(
                Job(kind=COMPARE, title=f"pandas: {to_code(spec)}",
                    dataset=dataset.name),
                lambda ctx: ctx.run_on_worker(run_pandas, ddf, spec), remember=False,
                explain=lambda e: str(explain_read(e, dataset) or explain_failure(e, spec)))
        finally:
            self.busy = False
            self.comparing = ""
        if pandas.status != "done":
            return self._fail(pandas.error)
        expected, seconds = pandas.result
        self.compare = {"pandas": seconds, "dask": job.elapsed,
                        "threads": self.store.manager.n_threads,
                        "equal": same_result(expected, job.result)}

    def _fail(self, message: str) -> None:
        self.error = message
        notify(message)

    @param.depends("busy", watch=True)
    def _update_can_run(self) -> None:
        self.can_run = self.store.summary is not None and not self.busy

    async def _on_action(self, event) -> None:
        action = getattr(self, ACTIONS[event.name])
        if event.name == "cancel_clicked":
            await action()  # at once, always
        else:
            await self._paced(action)

    @param.depends("clear_selection_clicked", watch=True)
    def _on_clear_selection_clicked(self) -> None:
        self.selection = None

    # -- history -----------------------------------------------------------

    def _on_history(self, *_) -> None:
        if self.store.closed:  # a run that ends after its tab closed: no table to update
            return
        runs = [j for j in self.store.jobs.history if j.kind == KIND]
        self.param.update(runs=runs, history=show.history_frame(runs))

    def _on_history_click(self, event) -> None:
        self.restore(self.runs[event.row])

    def restore(self, job: Job) -> None:
        """Put the widgets back as they were for ``job`` and show its result."""
        settings = job.settings
        if self.store.dataset_name != settings["dataset"]:
            self._forget_schema()
            self.store.dataset_name = settings["dataset"]
        self.store.dataset.param.update(settings["options"])
        self.param.update(settings["query"])
        self.param.update(job=job, error=job.error if job.status == "failed" else "",
                          warning="", compare=None)

    # -- rendering ---------------------------------------------------------

    @param.depends("filter_columns", "choices")
    def _filter_widgets(self):
        rows = []
        for column in self.filter_columns:
            # A link's malformed filter shows empty here; Run names what is wrong with it.
            chosen = show.filter_of(self.filters, column)
            if is_range_dtype(self._dtypes.get(column, "")):
                low = pn.widgets.FloatInput(label=f"{column} from",
                                            value=show.number(chosen.get("low")), width=140)
                high = pn.widgets.FloatInput(label="to", value=show.number(chosen.get("high")),
                                             width=140)
                low.param.watch(lambda e, c=column: self._set_filter(c, low=e.new), "value")
                high.param.watch(lambda e, c=column: self._set_filter(c, high=e.new), "value")
                rows.append(pn.Row(low, high))
            else:
                options = self.choices.get(column)
                if options is None:
                    # A partial, not a lambda: Panel awaits only what it sees is a coroutine
                    # function (a lambda's coroutine was never run in served sessions).
                    when_ready(partial(self._load_choices, column))
                    rows.append(pn.indicators.LoadingSpinner(
                        value=True, size=20, label=f"{plain(column)}: reading values…"))
                    continue
                chosen_values = [str(v) for v in chosen["values"]]
                # A linked value beyond the most frequent stays offered (else Panel drops it).
                pick = TextChoice(label=f"{column} is one of",
                                  options=list(dict.fromkeys([*options, *chosen_values])),
                                  value=chosen_values, sizing_mode="stretch_width")
                pick.param.watch(lambda e, c=column: self._set_filter(c, values=e.new), "value")
                rows.append(pick)
        return pn.Column(*rows, sizing_mode="stretch_width")

    def _set_filter(self, column: str, **change) -> None:
        self.filters = {**self.filters, column: {**self.filters.get(column, {}), **change}}

    async def _load_choices(self, column: str) -> None:
        """The most frequent values of a text column, for its filter's options."""
        if column in self.choices:
            return
        ddf = await asyncio.to_thread(self.store.dataset.frame)
        top = frequent_values(ddf, column, config.get("groupby.filter-choices"))
        job = await self.store.jobs.run(
            Job(kind=f"choices-{column}", title=f"values of {column}"),
            lambda ctx: ctx.compute(top), remember=False, counted=False,
            cache_key=tokenize(self.store.dataset.cache_token(), column))
        options = [str(v) for v in job.result[0].index] if job.status == "done" else []
        if job.status == "failed":
            notify(f"Could not list the values of '{column}': {job.error}")
        self.choices = {**self.choices, column: options}

    @param.depends("group_by", "value_columns", "agg", "filter_columns", "filters", "selection",
                   "sort", "ascending", "top_n", watch=True)
    def _update_code(self) -> None:
        try:
            self.code = to_code(self.spec())
        except Exception:  # half-filled widgets
            self.code = ""

    @param.depends("code")
    def _code_view(self):
        return pn.pane.Markdown(f"```python\n{self.code}\n```", css_classes=["groupby-code"],
                                sizing_mode="stretch_width")

    @param.depends("selection")
    def _selection(self):
        if not self.selection:
            return None
        clear = pn.widgets.Button.from_param(self.param.clear_selection_clicked,
                                             label="Clear map selection", color="light")
        return pn.Row(pn.pane.Markdown(
            f"**Map selection:** {plain(show.selection_text(self.selection))}"), clear)

    @param.depends("job", "job.status", "job.done", "job.total", "comparing")
    def _progress(self):
        if self.comparing:
            return pn.Row(pn.indicators.LoadingSpinner(value=True, size=20, margin=(8, 10)),
                          pn.pane.Markdown(self.comparing, css_classes=["groupby-comparing"]))
        return show.progress(self.job)

    @param.depends("warning", "error")
    def _messages(self):
        if self.warning:
            return pn.Column(pn.pane.Alert(plain(self.warning), alert_type="warning",
                                           css_classes=["groupby-warning"]),
                             pn.widgets.Button.from_param(self.param.confirm_clicked,
                                                          label="Run anyway", color="danger"))
        if self.error:
            return pn.pane.Alert(plain(self.error), alert_type="danger",
                                 css_classes=["groupby-error"])
        return None

    @param.depends("job", "job.status", "compare")
    def _result(self):
        return show.result(self.job, self.compare)

    # The column pickers are made anew for each schema: a browser choice widget given
    # new options and a new value in one update (or a value it has no option for, from
    # a stale link) can stop showing its value.
    @param.depends("columns")
    def _column_pickers(self):
        if not self.columns:
            return pn.indicators.LoadingSpinner(value=True, size=20,
                                                label="Reading the dataset's columns…")
        return pn.Column(
            TextChoice.from_param(self.param.group_by, label="Group by",
                                  sizing_mode="stretch_width"),
            TextChoice.from_param(self.param.value_columns, label="Value",
                                  sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    @param.depends("columns")
    def _filter_picker(self):
        if not self.columns:
            return None
        return TextChoice.from_param(self.param.filter_columns, label="Filter on",
                                     sizing_mode="stretch_width")

    def _buttons(self) -> list[pn.widgets.Button]:
        idle = self.param.can_run.rx.not_()
        return [
            pn.widgets.Button.from_param(self.param.run_clicked, label="Run", color="primary",
                                         disabled=idle, css_classes=["run-groupby"]),
            pn.widgets.Button.from_param(self.param.cancel_clicked, label="Cancel",
                                         color="warning", disabled=self.param.busy.rx.not_(),
                                         css_classes=["cancel-groupby"]),
            pn.widgets.Button.from_param(self.param.compare_clicked,
                                         label="Compare with pandas", disabled=idle,
                                         css_classes=["compare-groupby"])]

    def __panel__(self):
        history = pn.widgets.Tabulator.from_param(
            self.param.history, disabled=True, show_index=False, height=200,
            sizing_mode="stretch_width", selectable=False, css_classes=["groupby-history"])
        history.on_click(self._on_history_click)
        hint = pn.pane.Markdown(
            "Pick the columns, then **Run**: the cluster computes it, and the task stream "
            "shows the work as it happens.", css_classes=["groupby-hint"], margin=(0, 10))
        form = pn.Column(
            hint, self._column_pickers,
            pn.Row(pn.widgets.Select.from_param(self.param.agg, label="Aggregation", width=150),
                   pn.widgets.Select.from_param(self.param.sort, label="Sort by", width=120),
                   pn.widgets.Checkbox.from_param(self.param.ascending, label="Ascending",
                                                  margin=(32, 10)),
                   pn.widgets.IntInput.from_param(self.param.top_n, label="Top N", width=100)),
            self._filter_picker, self._filter_widgets, self._selection, self._code_view,
            pn.Row(*self._buttons(),
                   pn.widgets.Checkbox.from_param(self.param.report,
                                                  label="Performance report", margin=(12, 10),
                                                  css_classes=["report-box"])),
            self._progress, self._messages,
            sizing_mode="stretch_width")
        return pn.Column(
            form, self._result,
            pn.Card(history, title="Run history (click a run to restore it)",
                    collapsed=True, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
