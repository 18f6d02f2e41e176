"""The session store: what one browser session (or notebook) has chosen, and its jobs.

Panel's data-store pattern: one ``param.Parameterized`` per session owns the
chosen dataset and its summary, and the session's one ``JobRunner``. Every tab
reads it; every computation of the session, the summary, adding and converting
a dataset included, goes through ``jobs``. No Panel import: a notebook or a
benchmark drives it directly.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace

import param
from dask.base import tokenize

from .cluster import ClusterManager
from .datasets import BUILTIN, CatalogDataset, Dataset, catalog_path, load_datasets
from .datasets.catalog import convert_to_parquet
from .datasets.catalog_file import add_to_catalog, adding_allowed
from .datasets.errors import explain
from .datasets.summary import DatasetSummary, first_partition, summary_of
from .jobs import Job, JobContext, JobError, JobRunner

DEFAULT_DATASET = "nyc-flights"
BUILTIN_NAMES = [cls.param.name.default for cls in BUILTIN]
NOT_ALLOWED = ("Adding datasets is turned off on this server (workbench.datasets.allow-add).")

_STARTED: set[asyncio.Task] = set()  # refreshes started by ``soon`` (kept from GC)


def soon(refresh: Callable) -> None:
    """Start ``refresh()`` on the running loop; with none, the caller awaits it itself."""
    try:
        task = asyncio.get_running_loop().create_task(refresh())
    except RuntimeError:
        return
    _STARTED.add(task)
    task.add_done_callback(_STARTED.discard)


class SessionStore(param.Parameterized):
    """One session's chosen dataset, its summary, and the jobs that compute them."""

    manager = param.ClassSelector(class_=ClusterManager, doc="The cluster connection.")
    jobs = param.ClassSelector(class_=JobRunner, doc=(
        "The session's one job runner: every computation of the session goes through it."))
    dataset_name = param.Selector(default=None, objects=[], check_on_set=True,
                                  doc="Name of the chosen dataset.")
    dataset = param.ClassSelector(class_=Dataset, doc="The chosen dataset with its options.")
    summary = param.ClassSelector(class_=DatasetSummary, default=None, allow_None=True,
                                  doc="Schema, partitions, size and first rows.")
    error = param.String(default="", doc="Why the chosen dataset cannot be read, for the user.")
    loading = param.Boolean(default=False, doc="A summary is being computed.")
    catalog_problems = param.List(default=[], item_type=str, doc=(
        "What is wrong in the catalog file, one sentence per entry skipped."))
    closed = param.Boolean(default=False, doc=(
        "The session ended: its views' widgets are gone, so nothing is shown any more."))
    schedule = param.Callable(default=soon, doc=(
        "How a refresh the store needs is started: ``soon`` (a task), or a page's "
        "own (a served page starts work on its document, once it is ready)."))

    def __init__(self, **params):
        if "jobs" not in params and params.get("manager") is not None:
            params["jobs"] = JobRunner(manager=params["manager"])
        super().__init__(**params)
        self._options_watcher = None
        self._refreshes = 0  # a newer choice supersedes an older, slower summary
        self.reload()
        # A summary that failed for want of a cluster is read again once it is back.
        self._cluster_watcher = self.manager.param.watch(self._on_cluster, "status")

    def _on_cluster(self, event) -> None:
        if event.new == "connected" and self.summary is None and not self.loading:
            self.stale()

    # -- the chosen dataset ------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        """Re-read the catalog; keep or set the selection (``select`` first)."""
        self._datasets, problems = load_datasets()
        # Told at every reload, changed or not: a page that reloads says it again.
        with param.discard_events(self):
            self.catalog_problems = list(problems)
        self.param.trigger("catalog_problems")
        names = list(self._datasets)
        self.param.dataset_name.objects = names
        current = select or self.dataset_name
        self.dataset_name = current if current in names else (
            DEFAULT_DATASET if DEFAULT_DATASET in names else names[0])
        self._on_choice()

    def choose(self, dataset: Dataset) -> None:
        """Offer a dataset object of one's own (a notebook's) in this session, and choose it."""
        self._datasets[dataset.name] = dataset
        self.param.dataset_name.objects = list(self._datasets)
        if self.dataset_name == dataset.name:
            self._on_choice()  # the same name, another object: take it
        else:
            self.dataset_name = dataset.name

    @param.depends("dataset_name", watch=True)
    def _on_choice(self) -> None:
        dataset = self._datasets.get(self.dataset_name)
        if dataset is None or dataset is self.dataset:
            return
        if self.dataset is not None:
            self.dataset.param.unwatch(self._options_watcher)
        self.dataset = dataset
        self._options_watcher = dataset.param.watch(lambda *_: self.stale(),
                                                    list(dataset.options))
        self.stale()

    def stale(self) -> None:
        """The summary no longer describes the choice: drop it at once, read it again."""
        self.param.update(loading=True, summary=None, error="")
        self.schedule(self.refresh)

    # -- computations, all through the session's jobs ----------------------

    async def refresh(self) -> None:
        """Summarise the chosen dataset on the cluster (its first partition).

        A summary another session is computing is joined, and a computed one kept
        (the job path's rule); a newer refresh replaces this one.
        """
        self._refreshes += 1
        token, dataset = self._refreshes, self.dataset
        self.param.update(loading=True, error="")

        async def work(ctx: JobContext) -> DatasetSummary:
            # Building may write the built-in files on first use: keep it off the loop.
            ddf = await asyncio.to_thread(dataset.frame)
            count = await asyncio.to_thread(dataset.row_count)
            (figures,) = await ctx.compute(first_partition(ddf))
            return summary_of(ddf, figures, count=count)

        job = await self.jobs.run(
            Job(kind="summary", title=f"summary of {dataset.name}", dataset=dataset.name),
            work, cache_key=tokenize(dataset.cache_token(), "summary"), remember=False,
            counted=False, explain=lambda e: str(explain(e, dataset)))
        if token != self._refreshes:
            return
        if job.status == "done":
            self.param.update(summary=job.result, error="", loading=False)
        else:
            self.param.update(summary=None, error=job.error or "The summary stopped.",
                              loading=False)

    async def summary_ready(self, timeout: float) -> DatasetSummary | None:
        """The summary, waiting (bounded) while it is being read; None if it is not
        there by then (an action must then refuse: its size checks need it)."""
        if self.summary is not None or not self.loading:
            return self.summary
        loop = asyncio.get_running_loop()
        arrived = loop.create_future()

        def on_change(*_):
            # A notebook's widgets may change the store from another thread's loop.
            if self.summary is not None or not self.loading:
                loop.call_soon_threadsafe(lambda: arrived.done() or arrived.set_result(None))
        watcher = self.param.watch(on_change, ["summary", "loading"])
        try:
            await asyncio.wait_for(arrived, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            self.param.unwatch(watcher)
        return self.summary

    async def add(self, name: str, path: str, format: str) -> Job:
        """Read the files as dataset ``name`` (its first partition, on the cluster),
        then save it to the catalog and choose it. The job says how it went."""
        name, entry = name.strip(), {"path": path.strip(), "format": format}
        # What a failure names: the files as the form gave them.
        subject = SimpleNamespace(name=name, path=entry["path"])

        async def work(ctx: JobContext) -> None:
            candidate = CatalogDataset(name=name or "new", **entry)
            ddf = await asyncio.to_thread(candidate.to_dask)
            await ctx.compute(first_partition(ddf))
            await asyncio.to_thread(add_to_catalog, catalog_path(), name, entry,
                                    reserved=BUILTIN_NAMES)

        job = await self._form_job("add", f"add {name}", work, subject)
        if job.status == "done":
            self.reload(select=name)
        return job

    async def convert(self) -> Job:
        """Write a Parquet copy of the chosen CSV dataset on the cluster, add it to
        the catalog and choose it. The job's result is the new dataset."""
        dataset = self.dataset

        async def work(ctx: JobContext) -> CatalogDataset:
            if not isinstance(dataset, CatalogDataset) or dataset.format != "csv":
                raise JobError(f"'{dataset.name}' is not a CSV catalog dataset.")
            written, converted = await asyncio.to_thread(convert_to_parquet, dataset)
            await ctx.compute(written)
            await asyncio.to_thread(add_to_catalog, catalog_path(), converted.name,
                                    {"path": converted.path, "format": "parquet"},
                                    reserved=BUILTIN_NAMES)
            return converted

        job = await self._form_job("convert", f"convert {dataset.name} to Parquet", work,
                                   dataset)
        if job.status == "done":
            self.reload(select=job.result.name)
        return job

    async def _form_job(self, kind: str, title: str, work, subject) -> Job:
        """A job that writes the catalog: refused (checked here, on the server) when
        adding is off, whatever the page showed."""
        async def refuse(ctx: JobContext):
            raise JobError(NOT_ALLOWED)

        return await self.jobs.run(Job(kind=kind, title=title),
                                   work if adding_allowed() else refuse, remember=False,
                                   explain=lambda e: str(explain(e, subject)))

    async def close(self) -> None:
        """The session ended: its jobs stop and their keys are released."""
        self.closed = True
        if self._options_watcher is not None:
            self.dataset.param.unwatch(self._options_watcher)
            self.manager.param.unwatch(self._cluster_watcher)
            self._options_watcher = None
        await self.jobs.close()
