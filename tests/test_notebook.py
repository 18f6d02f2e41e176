"""What the JupyterLab browser test (tests/ui/test_jupyterlab.py) does not show: the
notebook ships without outputs, and with JupyterLab on another machine the panes go
through jupyter-server-proxy as ``distributed.dashboard.link`` says (checked in a real
kernel: the panes' addresses, not the proxy itself)."""
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

from tests.conftest import ROOT

NOTEBOOK = ROOT / "dashboard" / "notebooks" / "workbench.ipynb"
PANEL_MIME = "application/vnd.holoviews_exec.v0+json"
CELL_TIMEOUT = 120  # seconds per cell: a cold kernel imports panel, bokeh and distributed


def test_the_shipped_notebook_has_no_outputs():
    code = [c for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory):
    # Our own kernelspec running sys.executable: the shared "python3" spec runs whatever
    # `python` is on PATH, which on a fresh machine may not be this environment's.
    path = tmp_path_factory.mktemp("kernels") / "workbench-test"
    write_kernel_spec(path)
    return path.parent


def run_notebook(kernel_dir, *sources: str) -> nbformat.NotebookNode:
    """Run ``sources`` as cells in a fresh kernel (in this checkout); fail on any error."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    km = KernelManager(kernel_name="workbench-test",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    # allow_errors: collect every error and report them together below.
    NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, "\n".join(f"{e.ename}: {e.evalue}\n" + "\n".join(e.traceback)
                                 for e in errors)
    return nb


def rendered(cell) -> str:
    """Everything ``cell`` displayed, as text; the Panel mimetype must be among it."""
    displays = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
    assert any(PANEL_MIME in o.data for o in displays), [list(o.data) for o in displays]
    # Panel's mimetype entry is empty; the Bokeh doc JSON is in text/html, where each
    # HTML pane's markup is HTML-escaped (`&lt;iframe src=&quot;...`): unescape it.
    return html.unescape("\n".join(v if isinstance(v, str) else json.dumps(v)
                                   for o in displays for v in o.data.values()))


# distributed.dashboard.link as the README gives it for jupyter-server-proxy, an
# environment the kernel has, and the panes' base that follows.
LINKS = {
    "jupyterlab": ("/proxy/{port}/status", {}, "/proxy/{port}/"),
    "jupyterhub": ("{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status",
                   {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}, "/user/ada/proxy/{port}/"),
}


@pytest.mark.parametrize("where", list(LINKS))
def test_the_panes_follow_distributed_dashboard_link(where, kernel_dir, process_cluster,
                                                     monkeypatch):
    link, env, base = LINKS[where]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    nb = run_notebook(
        kernel_dir,
        "from dashboard.notebooks import extension, ready\nextension()",
        f"import dask\ndask.config.set({{'distributed.dashboard.link': {link!r}}})\n"
        "from dashboard import ClusterManager, Workbench\n"
        f"wb = await ready(Workbench(manager=ClusterManager(address={process_cluster.address!r})))",
        "wb")
    app = rendered(nb.cells[-1])
    assert f"Connected to {process_cluster.address}" in app
    srcs = re.findall(r'<iframe src="([^"]*)"', app)
    expected = base.format(port=process_cluster.dashboard_port) + "individual-task-stream"
    assert expected in srcs, srcs


def comm_message(kind: str, comm_id: str) -> dict:
    return {"header": {"msg_type": kind}, "content": {"comm_id": comm_id}}


async def test_comm_messages_from_subshells_run_on_the_main_loop_once_their_comm_opens():
    """JupyterLab sends each output's messages to a subshell thread: the kernel handles
    them on its main loop, in order, and one that comes before its comm is open waits
    for it (ipykernel would drop it, and Panel's page would wait for good)."""
    import asyncio
    import threading

    from dashboard.notebooks import _OnMainLoop

    loop, comms, seen = asyncio.get_running_loop(), {}, []

    def handler(stream, idents, msg):  # what ipykernel's CommManager.comm_msg does
        if msg["content"]["comm_id"] in comms:
            seen.append((msg["header"]["msg_type"], threading.current_thread().name))

    wrapped = _OnMainLoop(handler, loop, comms)

    def from_a_subshell(kind, comm_id):
        async def handle():  # as ipykernel's dispatch, on the subshell's own loop
            await wrapped(None, [], comm_message(kind, comm_id))

        def send():
            asyncio.run(asyncio.wait_for(handle(), 10))
        thread = threading.Thread(target=send, name="subshell")
        thread.start()
        return thread

    early = from_a_subshell("comm_msg", "output-1")
    await asyncio.sleep(0.3)  # the comm_open is still queued behind Run All's cells
    assert seen == []
    comms["output-1"] = object()
    await asyncio.to_thread(early.join, 10)
    assert seen == [("comm_msg", threading.main_thread().name)]
    # A message for a comm already closed is dropped at once, as before.
    wrapped(None, [], comm_message("comm_close", "output-0"))
    late = from_a_subshell("comm_msg", "output-0")
    await asyncio.to_thread(late.join, 10)
    assert not late.is_alive() and len(seen) == 1
