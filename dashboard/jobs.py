"""Jobs: the one way every tab runs work on the cluster.

A ``JobRunner`` belongs to one browser session. It submits work through the
shared client, reports progress, cancels, caches results and keeps the
session's history. Tabs describe *what* to run (a ``work`` coroutine); the
runner owns *how*. No Panel import: benchmarks and notebooks drive it directly.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import param
from dask.base import tokenize
from dask.delayed import Delayed
from distributed import Client, Future, as_completed, futures_of

from . import config, user_share
from .cache import CACHE
from .cluster import ClusterManager, ClusterUnavailable
from .cluster.deaths import explain_worker_death
from .cluster.gathering import ResultTooLarge, gather, start_gather
from .cluster.report import with_report
from .cluster.stuck import free_stuck_workers_later
from .progress import feed_progress

log = logging.getLogger(__name__)

CLOSED = "The session closed."


class JobError(Exception):
    """A job cannot run or failed; the message is a sentence meant for the user."""


class Job(param.Parameterized):
    """One run of one tab's work: what it was, how it went, what it gave."""

    kind = param.String(default="", doc="Which tab ran it: 'groupby', 'search'...")
    title = param.String(default="", doc="What ran, as the user would write it (code).")
    dataset = param.String(default="", doc="Name of the dataset it ran on.")
    settings = param.Dict(default={}, doc="The tab's params when it ran, to restore them.")
    status = param.Selector(
        default="pending", objects=["pending", "running", "done", "failed", "cancelled"],
        doc="Where the job is.")
    done = param.Integer(default=0, doc="Tasks (or fits) finished.")
    total = param.Integer(default=0, doc="Tasks (or fits) in all; 0 while unknown.")
    stage = param.String(default="", doc=(
        "What the job does now when it is not tasks on the cluster, for the user."))
    elapsed = param.Number(default=0.0, doc="Seconds from submit to result.")
    started = param.Date(default=None, allow_None=True, doc="When it was submitted.")
    cached = param.Boolean(default=False, doc="The result came from the cache.")
    error = param.String(default="", doc="Why it failed or stopped, for the user.")
    result = param.Parameter(default=None, doc="What the work returned.")
    stats = param.Dict(default={}, doc="Figures the work reports (rows scanned...).")
    report = param.String(default=None, allow_None=True, doc=(
        "Dask performance report (HTML) of the run, when one was asked for."))
    report_error = param.String(default="", doc=(
        "Why the asked-for report is missing; the result itself is unaffected."))

    def __init__(self, **params):
        super().__init__(**params)
        self._home: asyncio.AbstractEventLoop | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    @property
    def home(self) -> asyncio.AbstractEventLoop | None:
        """The loop of the view that runs this job (None: any)."""
        return self._home

    def belongs_to(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop of the view that runs this job: its changes are made there."""
        self._home = loop

    def update(self, **changes) -> None:
        """Change the job's params on the loop of the view that runs it (see ``on_loop``)."""
        on_loop(self._home, self.param.update, changes)


def on_loop(loop: asyncio.AbstractEventLoop | None, function: Callable, *args) -> None:
    """``function(*args)`` on ``loop``: now if it is the running one (or None, or closed).

    Views watch jobs, so a job's changes redraw pages. In JupyterLab 4.6 a widget's
    callback runs on an ipykernel subshell (a thread with a loop of its own) while the
    client's work runs on the kernel's loop: a page changed from two threads at once
    lost updates (a Run done on the cluster never showed its result). The client's
    loop hands each change back to the view's loop, in order.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or loop is running or loop.is_closed():
        function(*args)
    else:
        loop.call_soon_threadsafe(function, *args)


_LISTENERS: set[asyncio.Task] = set()  # progress feeds still running (kept from GC)


class SharedCompute:
    """One compute of one graph on the cluster, held by every job that asked for it meanwhile.

    Sessions share the process's one client. Two computes of the same keys in one
    client are not independent: when one job releases its futures (Cancel, a
    closed tab) just as the other submits or gathers the same keys, the client's
    key states and the scheduler's messages cross, and the other job's gather
    finds its keys "forgotten" and waits for ever or is cancelled. So identical
    graphs are computed once; each job holds a reference and the last one to let
    go releases the futures.
    """

    def __init__(self, client: Client, collections, token: tuple):
        self.token = token
        self.futures: list[Future] = client.compute(list(collections))
        self.holders = 0
        self.gathered = start_gather(client, self.futures,
                                     config.get("jobs.max-result-bytes"))

    def hold(self) -> "SharedCompute":
        self.holders += 1
        return self

    def let_go(self) -> None:
        """The last holder releases the futures (never cancels their gather: see ``gather``)."""
        self.holders -= 1
        if self.holders > 0:
            return
        if IN_FLIGHT.get(self.token) is self:
            del IN_FLIGHT[self.token]
        for future in self.futures:
            future.release()


# Computes held by at least one job, by (client, graph token).
IN_FLIGHT: dict[tuple, SharedCompute] = {}


def shared_compute(client: Client, collections) -> SharedCompute:
    """The compute of ``collections`` already held by a job, or a new one; held once more."""
    # The client is in the token: after a reconnect the old client's futures are gone.
    token = (client.id, tokenize(*collections))
    shared = IN_FLIGHT.get(token)
    if shared is None:
        shared = IN_FLIGHT[token] = SharedCompute(client, collections, token)
    return shared.hold()


class JobContext:
    """What a job's ``work`` coroutine gets: the client and ways to report and be cancelled."""

    def __init__(self, client: Client, job: Job):
        self.client = client
        self.job = job
        self.futures: list[Future] = []
        self.shared: list[SharedCompute] = []

    def track(self, futures: Iterable[Future]) -> None:
        """Futures that Cancel (or closing the session) must release."""
        self.futures.extend(futures)

    async def gather(self, futures: list[Future]) -> list:
        """Results of futures this job submitted itself; safe to cancel (see ``gather``)."""
        return await gather(self.client, futures)

    async def run_on_worker(self, function: Callable, *args):
        """``function(*args)`` run once on one worker, its result brought back.

        For work that must not load the server process, which every session shares
        (a one-process pandas or scikit-learn run to compare with). Cancel releases it.
        """
        future = self.client.submit(function, *args, pure=False)
        self.track([future])
        (result,) = await self.gather([future])
        return result

    async def persist(self, collection):
        """``collection`` kept in the cluster's memory once computed; raises a task's error.

        Not tracked by the job, which releases what it tracks when it ends: the
        returned collection holds its futures, and dropping it lets them go.
        """
        kept = self.client.persist(collection)
        async for future in as_completed(futures_of(kept), loop=self.client.loop):
            if future.status == "error":
                await self.gather([future])  # raises the task's own error
        return kept

    def progress(self, done: int, total: int) -> None:
        self.job.update(done=done, total=total)

    def stage(self, text: str) -> None:
        """Say what the job does now (work off the cluster: its progress is silent)."""
        self.job.update(stage=text)

    async def compute(self, *collections):
        """Compute Dask collections on the cluster with live task progress.

        A job that asks for a graph another job (of any session) is computing
        joins that compute instead of submitting it again (see ``SharedCompute``).
        """
        shared = shared_compute(self.client, collections)
        self.shared.append(shared)
        # The feed outlives a fast gather by up to one interval; it is not awaited.
        listener = asyncio.ensure_future(
            feed_progress(self.client, shared.futures, self.job, shared.gathered))
        _LISTENERS.add(listener)
        listener.add_done_callback(_LISTENERS.discard)
        # Shielded: this job being cancelled must not cancel the others' gather.
        computed = await asyncio.shield(shared.gathered)
        if not self.job.total:  # done before the feed's first count (one quick task)
            # A Delayed's graph is at hand; a frame's would be optimised here, on the
            # loop every session shares: counted as one.
            self.job.update(total=sum(len(c.__dask_graph__()) if isinstance(c, Delayed) else 1
                                      for c in collections))
        return computed

    async def release(self) -> None:
        """Drop this job's hold on its keys; the scheduler forgets work nobody else wants.

        Releasing, not ``client.cancel``: cancel acts on keys, so it would also kill
        another job (of this or another session) that shares them, and with
        ``force=True`` it can trip the scheduler's ``stimulus_cancel`` assertion on
        keys that are dependencies of others, which drops this client's connection.
        """
        for shared in self.shared:
            shared.let_go()
        self.shared.clear()
        for future in self.futures:
            future.release()
        self.futures.clear()


@dataclass
class _Running:
    """A job being run: its task and, once connected, its context."""
    job: Job
    task: asyncio.Task | None = None
    context: JobContext | None = None
    reason: str = ""  # why it was cancelled, if it was


class JobRunner(param.Parameterized):
    """A session's jobs: one current job per tab kind, the history, cancel and close."""

    manager = param.ClassSelector(class_=ClusterManager, doc="The shared cluster connection.")
    history = param.List(default=[], item_type=Job, doc="This session's jobs, newest first.")
    history_size = param.Integer(default=50, doc="How many jobs the history keeps.")
    user = param.String(default=None, allow_None=True, doc=(
        "The session's login: hosted, its runs count against that user's share of the "
        "server, across all of their tabs (see dashboard.user_share)."))

    def __init__(self, **params):
        super().__init__(**params)
        self._running: dict[str, _Running] = {}
        self._closed = False

    def running(self, kind: str) -> Job | None:
        entry = self._running.get(kind)
        return entry.job if entry else None

    async def run(self, job: Job, work: Callable[[JobContext], Awaitable[Any]], *,
                  cache_key: str | None = None, report: bool = False,
                  explain: Callable[[Exception], str] = str, remember: bool = True,
                  counted: bool = True) -> Job:
        """Run ``work`` for ``job``; never raises: the outcome is in ``job``.

        A job of the same kind still running is cancelled first (a second Run
        never leaves orphaned work). A cached result returns at once. Helper work
        (filling a widget's options) passes ``remember=False`` to stay out of the
        history, and the quick reads every page needs pass ``counted=False`` to stay
        out of the user's share of runs. Called from any loop, it runs on the client's.
        """
        job.belongs_to(asyncio.get_running_loop())
        return await self.manager.on_client_loop(self._run(
            job, work, cache_key=cache_key, report=report, explain=explain,
            remember=remember, counted=counted))

    async def _run(self, job: Job, work, *, cache_key, report, explain, remember,
                   counted) -> Job:
        if self._closed:  # asked for after the page went (a watcher, a pending callback)
            job.update(status="cancelled", error=CLOSED)
            return job
        await self._cancel(job.kind, reason="Replaced by a newer run.")
        job.update(started=dt.datetime.now())
        if remember:
            self._remember(job)
        hit = CACHE.get(cache_key)
        if hit is not None:
            result, stats = hit
            job.update(status="done", cached=True, result=result, stats=dict(stats))
            return job
        if counted and not user_share.RUNS.take(self.user):
            job.update(status="failed", error=user_share.runs_refused())
            return job
        try:
            return await self._start(job, work, cache_key=cache_key, report=report,
                                     explain=explain)
        finally:
            if counted:
                user_share.RUNS.give_back(self.user)

    async def _start(self, job: Job, work, *, cache_key, report, explain) -> Job:
        job.update(status="running")
        t0 = time.perf_counter()
        # The work runs in a task of its own: Cancel stops that task, never the caller's
        # (a Panel callback, a notebook cell), whose own cancellation stays its own.
        running = self._running[job.kind] = _Running(job)
        running.task = asyncio.ensure_future(self._work(running, work, report))
        try:
            await asyncio.wait([running.task])
        except asyncio.CancelledError:  # the caller went away: so does its work
            running.task.cancel()
            raise
        finally:
            if self._running.get(job.kind) is running:
                del self._running[job.kind]
            if running.context is not None:
                await asyncio.shield(running.context.release())
        try:
            result = running.task.result()
        except asyncio.CancelledError:
            # Ours (Cancel, a newer run, the session closing) or the client's (the
            # scheduler went away): the job says which, and the session goes on.
            job.update(status="cancelled", error=running.reason or self._lost_message(),
                       elapsed=time.perf_counter() - t0)
        except (JobError, ClusterUnavailable, ResultTooLarge) as e:
            job.update(status="failed", error=str(e), elapsed=time.perf_counter() - t0)
        except Exception as e:
            log.info("Job %s failed", job.title, exc_info=True)
            client = self.manager.client
            if client is not None and client.status != "running":
                message = self._lost_message()
            else:
                message = client and await explain_worker_death(client, e) or explain(e)
            job.update(status="failed", error=message, elapsed=time.perf_counter() - t0)
        else:
            job.update(status="done", result=result, done=max(job.done, job.total),
                       elapsed=time.perf_counter() - t0)
            CACHE.put(cache_key, result, job.stats)
        return job

    async def _work(self, running: "_Running", work, report: bool):
        client = await self.manager.get_client()
        running.context = context = JobContext(client, running.job)
        if report:
            return await self._with_report(context, work)
        return await work(context)

    async def _with_report(self, context: JobContext, work):
        result, html, problem = await with_report(context.client, lambda: work(context),
                                                  code=context.job.title)
        context.job.update(report=html, report_error=problem)
        return result

    def _lost_message(self) -> str:
        return (f"The Dask cluster was lost while the job ran ({self.manager.message}). "
                "Your selections are kept; run again once it is back.")

    async def cancel(self, kind: str, reason: str = "Cancelled.") -> bool:
        """Stop the running job of ``kind`` and free its work on the cluster."""
        return await self.manager.on_client_loop(self._cancel(kind, reason))

    async def _cancel(self, kind: str, reason: str) -> bool:
        running = self._running.pop(kind, None)
        if running is None:
            return False
        running.reason = reason
        running.job.update(error=reason)
        context = running.context
        if context is not None:
            await context.release()
            free_stuck_workers_later(context.client, owned=self.manager.cluster is not None)
        running.task.cancel()
        await asyncio.wait([running.task])
        return True

    async def close(self) -> None:
        """The session ended: cancel all of its jobs and release their futures; refuse
        any asked for later."""
        self._closed = True
        for kind in list(self._running):
            await self.cancel(kind, reason=CLOSED)

    def _remember(self, job: Job) -> None:
        on_loop(job.home, self._add_to_history, job)

    def _add_to_history(self, job: Job) -> None:
        self.history = [job, *self.history][: self.history_size]
