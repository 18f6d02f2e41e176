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
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..views import Workbench

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


async def ready(app: Workbench, timeout: float = 60) -> Workbench:
    """``app`` once its cluster is connected and its dataset read (at most ``timeout``
    seconds): show it after this, e.g. ``wb = await ready(Workbench())`` then ``wb``."""
    await app.manager.start()
    await app.store.summary_ready(timeout)
    return app


def _data_url(path: Path) -> str:
    return ("data:text/javascript;base64," + base64.b64encode(path.read_bytes()).decode()
            + _NAME)
