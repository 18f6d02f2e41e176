"""The Workbench in a real Jupyter kernel: it renders, and its panes link the scheduler directly."""
from __future__ import annotations

import html
import json
import re

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

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
    km = KernelManager(kernel_name="workbench-test",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    # allow_errors: collect every error and report them together below.
    NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=True).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
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


def rendered(nb) -> str:
    """Everything the last cell displayed, as text; the Panel mimetype must be among it."""
    displays = [o for o in nb.cells[-1].outputs if o.output_type in ("display_data", "execute_result")]
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


def test_notebook_renders_workbench_with_direct_dashboard_links(kernel_dir, process_cluster):
    nb = run_notebook(kernel_dir, *workbench_cells(process_cluster.address))
    assert_direct_panes(
        rendered(nb), f"http://127.0.0.1:{process_cluster.dashboard_port}/individual-task-stream")


def test_notebook_honours_dashboard_link_config(kernel_dir, process_cluster):
    # As under jupyter-server-proxy: the link is relative to the Jupyter page.
    config = 'import dask\ndask.config.set({"distributed.dashboard.link": "/proxy/{port}/status"})'
    nb = run_notebook(kernel_dir, *workbench_cells(process_cluster.address, config))
    assert_direct_panes(
        rendered(nb), f"/proxy/{process_cluster.dashboard_port}/individual-task-stream")
