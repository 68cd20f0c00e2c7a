"""The notebooks as users meet them: nbval can fail, and JupyterLab opens them with a kernel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import nbformat
import pytest
from tiny_notebooks import SAFETY_NET, wait_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def test_nbval_fails_when_stored_output_differs(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(6 * 7)", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="41\n")]  # wrong on purpose
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "wrong.ipynb")
    cmd = [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
           "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), str(tmp_path / "wrong.ipynb")]
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout[-2000:]
    assert "41" in bad.stdout and "42" in bad.stdout
    cell.outputs[0]["text"] = "42\n"
    nbformat.write(nb, tmp_path / "wrong.ipynb")
    assert subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path).returncode == 0


def test_committed_notebooks_are_clean_for_jupyterlab():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        assert "papermill" not in nb["metadata"], path.name
        tags = [c["metadata"].get("tags") for c in nb["cells"]]
        assert ["parameters"] in tags, f"{path.name} has no cell tagged 'parameters'"
        assert all(t != [] for t in tags), f"{path.name} has empty tags"
        assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), path.name
        assert str(ROOT.parent) + "/" not in path.read_text(), f"{path.name} stores a path of this machine"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, token: str, path: str, data: dict | None = None, method: str = "GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(data).encode() if data is not None else None,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=SAFETY_NET) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture
def lab_server(tmp_path):
    port, token = free_port(), "qn-smoke-test"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", "--allow-root",
                             f"--port={port}", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={ROOT / 'notebooks'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    def answers() -> bool:
        try:
            api(port, token, "/api/status")
        except OSError:
            return False
        return True

    try:
        wait_until(answers, "JupyterLab answering on its loopback port", proc)
        yield port, token, tmp_path / "runtime"
    finally:
        proc.terminate()
        proc.wait(timeout=SAFETY_NET)


def test_jupyterlab_opens_each_notebook_and_imports_helpers(lab_server):
    from jupyter_client import BlockingKernelClient

    port, token, runtime = lab_server
    lab = urllib.request.Request(f"http://127.0.0.1:{port}/lab", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(lab, timeout=SAFETY_NET) as resp:  # the Lab page itself is served
        assert resp.status == 200 and b"JupyterLab" in resp.read()
    names = [item["name"] for item in api(port, token, "/api/contents")["content"] if item["name"].endswith(".ipynb")]
    assert len(names) >= 1
    for name in names:
        model = api(port, token, f"/api/contents/{name}")
        assert model["type"] == "notebook" and model["content"]["cells"]
        session = api(port, token, "/api/sessions", {"path": name, "type": "notebook", "name": name,
                                                     "kernel": {"name": model["content"]["metadata"]["kernelspec"]["name"]}},
                      method="POST")
        kernel_id = session["kernel"]["id"]
        client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=SAFETY_NET)
            reply = client.execute_interactive("import helpers, helpers.data; print(helpers.__version__)",
                                               timeout=SAFETY_NET, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", (name, reply["content"])
        finally:
            client.stop_channels()
            api(port, token, f"/api/sessions/{session['id']}", method="DELETE")
