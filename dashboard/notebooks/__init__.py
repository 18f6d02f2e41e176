"""The Workbench in a Jupyter notebook: what to load before the app is shown, and when
to show it.

:func:`extension` is ``pn.extension("tabulator", "gridstack", inline=True,
notifications=True)`` plus what that call alone misses in Panel 1.9 and HoloViews
1.23, so that every script and stylesheet the page loads comes from the kernel and
none from a CDN (the app must work offline):

* hvPlot, which the app's plots import, runs HoloViews' notebook extension when it is
  imported, with HoloViews' own ``inline`` setting, False unless set. It would load
  BokehJS, Panel's bundle and the extensions' CSS again, from cdn.bokeh.org and
  cdn.holoviz.org (14 requests that fail offline).
* Panel runs each inlined script inside a function, so Notyf's top-level
  ``var Notyf`` is not a global and the notification area fails with
  "Notyf is not defined" (holoviz/panel#5662): no toasts. Notyf is loaded once more
  from a ``data:`` URL, which runs at the top level.

:func:`ready` waits for what the app does first, so that it is shown settled. Panel
sends a shown view's changes once JupyterLab has opened the output's connection, and
until then retries each change on its own every 0.1 s: two changes made in that time
can arrive in either order, and the page keeps the older (seen with the cluster card
and the group-by's code while a notebook runs all its cells).

JupyterLab 4.4 and later send each output's widget messages to an ipykernel subshell,
a thread of its own (``commsOverSubshells``, one per comm target by default). Panel
and Bokeh are not thread-safe: two outputs of one app (``wb`` and ``wb.model_search``)
then changed shared state from two threads at once, and the page lost updates (a seed
search done in the kernel still showed its old form and "0 / 8 tasks"; a Run click
that started nothing). :func:`extension` hands every comm message to the kernel's main
loop, where the app lives, as JupyterLab's ``commsOverSubshells: disabled`` would
(jupyterlab/jupyterlab#19719 is the same race with matplotlib).

A new output's first message can also reach its subshell before the kernel has opened
that output's comm: the ``comm_open`` waits on the main shell behind the cells Run All
queued, and ipykernel drops a message for a comm it does not know. Panel's page then
waits for good for that message's acknowledgement and sends nothing more: a Run click
that never arrived, seen in 1 of 4 notebook runs. Such a message now waits (at most
``OPEN_WAIT`` seconds) for its comm to open.

In a notebook, a widget change that raises while Panel applies a page's message leaves
that output's Bokeh document unheld (Panel 1.9 re-holds it after the message only when
nothing raised): every later change of the output is then dropped, and the page freezes
(a finished seed search still showing its first fits, after a Select sent back an
option the kernel had just replaced: "accuracy not in list"). :func:`extension` sets
Panel's ``exception_handler`` (unless one is set) to log such an error instead.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..views import Workbench

log = logging.getLogger(__name__)
EXTENSIONS = ("tabulator", "gridstack")  # every Panel extension the app's views use
# A data: URL ignores its fragment; Panel reads a module name from the end of each
# js_files URL (for the classic notebook's require.js), which needs a "name.js" there.
_NAME = "#notyf.min.js"


def extension(*extra: str, **config) -> None:
    """Load Panel and the app's views in this notebook, every resource from this machine.

    Call it once, in a cell of its own, before showing a ``Workbench``. ``extra``
    names more Panel extensions and ``config`` more ``pn.extension`` settings.
    """
    import panel as pn

    notyf = (Path(pn.__file__).parent / "dist" / "bundled" / "notificationarea" / "notyf@3"
             / "notyf.min.js")
    pn.config.js_files = {**pn.config.js_files, "Notyf": _data_url(notyf)}
    pn.extension(*EXTENSIONS, *extra, inline=True, notifications=True, **config)

    import holoviews as hv  # after pn.extension: Panel loads it once, not twice
    if "inline" in hv.extension.param:  # a notebook's extension; elsewhere nothing loads
        hv.extension.inline = True
    # hvPlot loads HoloViews' extension as the views import it: in this cell, where it
    # is a reload of what pn.extension published above, not a second full copy.
    from .. import views  # noqa: F401
    comms_on_the_main_loop()
    if pn.config.exception_handler is None:  # raising would freeze the output, see above
        pn.config.exception_handler = _log_callback_error


COMM_MESSAGES = ("comm_open", "comm_msg", "comm_close")
OPEN_WAIT = 300.0  # seconds: Run All may queue minutes of cells before a comm_open


def comms_on_the_main_loop() -> None:
    """Handle this kernel's comm messages on its main thread's loop, whichever subshell
    they arrive on (see the module's docstring). Outside a kernel, nothing changes."""
    from IPython import get_ipython
    kernel = getattr(get_ipython(), "kernel", None)
    handlers = getattr(kernel, "shell_handlers", None)
    if not handlers or threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_event_loop()  # the main shell's: this runs in a cell
    for kind in COMM_MESSAGES:
        handler = handlers.get(kind)
        if handler is not None and not isinstance(handler, _OnMainLoop):
            handlers[kind] = _OnMainLoop(handler, loop, kernel.comm_manager.comms)


class _OnMainLoop:
    """A kernel's message handler that runs on ``loop``: a subshell awaits it there, so
    its messages stay in order and its busy/idle status brackets the real work. A
    message for a comm not open yet waits for it (``comms``: the kernel's open ones)."""

    # Comms closed, shared by the three handlers: a late message of theirs waits for nothing.
    closed: set[str] = set()

    def __init__(self, handler, loop: asyncio.AbstractEventLoop, comms: dict) -> None:
        self.handler, self.loop, self.comms = handler, loop, comms

    def __call__(self, stream, idents, msg):
        if msg["header"]["msg_type"] == "comm_close":
            self.closed.add(msg["content"].get("comm_id"))
        if threading.current_thread() is threading.main_thread() or self.loop.is_closed():
            return self.handler(stream, idents, msg)
        return asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(self._handle(stream, idents, msg), self.loop))

    async def _handle(self, stream, idents, msg) -> None:
        comm_id = msg["content"].get("comm_id")
        if msg["header"]["msg_type"] == "comm_msg" and comm_id not in self.comms:
            deadline = self.loop.time() + OPEN_WAIT
            while (comm_id not in self.comms and comm_id not in self.closed
                   and self.loop.time() < deadline):
                await asyncio.sleep(0.05)
        result = self.handler(stream, idents, msg)
        if asyncio.iscoroutine(result):
            await result


def _log_callback_error(error: BaseException) -> None:
    log.warning("A change from the page could not be applied: %r", error,
                exc_info=(type(error), error, error.__traceback__))


async def ready(app: Workbench, timeout: float = 60) -> Workbench:
    """``app`` once its cluster is connected and its dataset read (at most ``timeout``
    seconds): show it after this, e.g. ``wb = await ready(Workbench())`` then ``wb``."""
    await app.manager.start()
    await app.store.summary_ready(timeout)
    return app


def _data_url(path: Path) -> str:
    return ("data:text/javascript;base64," + base64.b64encode(path.read_bytes()).decode()
            + _NAME)
