"""The Workbench in a real Jupyter kernel: the shipped notebook renders the app on the
notebook's own client, and the panes link the scheduler directly."""
from __future__ import annotations

import html
import json
import os
import re

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOK = ROOT / "dashboard" / "notebooks" / "workbench.ipynb"
PANEL_MIME = "application/vnd.holoviews_exec.v0+json"
CELL_TIMEOUT = 120  # seconds per cell: a cold kernel imports panel, bokeh and distributed


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory):
    # Our own kernelspec running sys.executable: the shared "python3" spec runs whatever
    # `python` is on PATH, which on a fresh machine may not be this environment's.
    path = tmp_path_factory.mktemp("kernels") / "workbench-test"
    write_kernel_spec(path)
    return path.parent


def run_notebook(kernel_dir, *sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    return execute(kernel_dir, nb)


def execute(kernel_dir, nb: nbformat.NotebookNode, cwd=None) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh kernel (started in ``cwd``); fail on any error."""
    km = KernelManager(kernel_name="workbench-test",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    # allow_errors: collect every error and report them together below.
    resources = {"metadata": {"path": str(cwd)}} if cwd else {}
    NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=True,
                   resources=resources).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, "\n".join(f"{e.ename}: {e.evalue}\n" + "\n".join(e.traceback)
                                 for e in errors)
    return nb


def workbench_cells(address: str, config: str = "") -> list[str]:
    return [
        "import panel as pn\npn.extension(\"tabulator\", inline=True)",
        f"{config}\nfrom dashboard import Workbench, ClusterManager\n"
        f"m = ClusterManager(address={address!r})\nawait m.start()",
        "wb = Workbench(manager=m)\nwb",
    ]


def tagged(nb, tag: str):
    """The one cell of ``nb`` tagged ``tag``."""
    (cell,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell


def rendered(cell) -> str:
    """Everything ``cell`` displayed, as text; the Panel mimetype must be among it."""
    displays = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
    assert any(PANEL_MIME in o.data for o in displays), [list(o.data) for o in displays]
    # Panel's mimetype entry is empty; the Bokeh doc JSON is in text/html, where each
    # HTML pane's markup is HTML-escaped (`&lt;iframe src=&quot;...`): unescape it.
    return html.unescape("\n".join(v if isinstance(v, str) else json.dumps(v)
                                   for o in displays for v in o.data.values()))


def iframe_srcs(text: str) -> list[str]:
    return re.findall(r'<iframe src="([^"]*)"', text)


def assert_direct_panes(text: str, expected_src: str) -> None:
    assert "Dask cluster" in text  # the cluster card's title
    waiting = "Waiting for the Dask dashboard" in text
    assert expected_src in iframe_srcs(text), (
        f"iframe srcs {iframe_srcs(text)}; panes show 'Waiting for the Dask dashboard': {waiting}")
    # No panel server behind a notebook, so never the app proxy's relative mount.
    assert "dask/individual-task-stream" not in text


def test_the_notebook_renders_the_app_and_a_tab_on_its_own_client(kernel_dir, process_cluster,
                                                                   monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit it stripped"
    # The notebook's parameter: the scheduler its own client connects to.
    monkeypatch.setenv("WORKBENCH_SCHEDULER", process_cluster.address)
    # The kernel runs in the notebook's folder: import this checkout's package, whatever
    # copy an install elsewhere points at.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")])))
    execute(kernel_dir, nb, cwd=NOTEBOOK.parent)

    app = rendered(tagged(nb, "workbench"))
    # The cluster card, connected to the notebook's scheduler; the dataset picker.
    assert "<h3>Dask cluster</h3>" in app and f"Connected to {process_cluster.address}" in app
    assert "<h3>Dataset</h3>" in app
    for tab in ("Data", "Group-by", "Model search", "Explore"):
        assert f'"title":"{tab}"' in app, f"no {tab} tab"
    assert_direct_panes(
        app, f"http://127.0.0.1:{process_cluster.dashboard_port}/individual-task-stream")

    tab = rendered(tagged(nb, "groupby-tab"))
    assert "Aggregation" in tab and "Performance report" in tab
    assert "<h3>Dask cluster</h3>" not in tab and '"title":"Explore"' not in tab  # alone
    # The app left the notebook's own client open and working.
    (result,) = tagged(nb, "client-check").outputs
    assert result.data["text/plain"] == "6"


def test_notebook_honours_dashboard_link_config(kernel_dir, process_cluster):
    # As under jupyter-server-proxy: the link is relative to the Jupyter page.
    config = 'import dask\ndask.config.set({"distributed.dashboard.link": "/proxy/{port}/status"})'
    nb = run_notebook(kernel_dir, *workbench_cells(process_cluster.address, config))
    assert_direct_panes(
        rendered(nb.cells[-1]), f"/proxy/{process_cluster.dashboard_port}/individual-task-stream")
