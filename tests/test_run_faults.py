"""The runner under faults, with real kernels on tiny notebooks: signals, kills, concurrent runners."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from tiny_notebooks import SAFETY_NET, Links, wait_until, write_notebook

from helpers.run.batch import summary_table
from helpers.run.core import Result

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent

OK_BODY = """
import os
from helpers.reporting import record
record("double", x * 2)
record("refresh", os.environ.get("QN_REFRESH_DATA"))
record("answer", f"Doubling {x} gives {x * 2}: <b>no</b> surprise.")
"""

SLOW_BODY = """
import os, pathlib, time
pathlib.Path("kernel.pid").write_text(str(os.getpid()))  # the test's sign that the kernel is executing
end = time.time() + 1800                                  # (never left running for good)
while pathlib.Path("slow.flag").exists() and time.time() < end:  # busy until the runner stops it
    time.sleep(0.1)
print("done")
"""


@pytest.fixture
def nbdir(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    write_notebook(d / "01_ok.ipynb", OK_BODY)
    write_notebook(d / "03_slow.ipynb", SLOW_BODY)
    return d


def runner(nbdir, out, *args) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("QN_DATA_SOURCE", "CI")}
    return subprocess.Popen([sys.executable, "-m", "helpers.run", "--notebook-dir", str(nbdir),
                             "--output-dir", str(out), "--timeout", "300", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    """The runner's exit status and output, once it ends (the safety net only stops a hung runner)."""
    try:
        out, err = proc.communicate(timeout=SAFETY_NET)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"runner did not end within the {SAFETY_NET} s safety net: {out[-2000:]} {err[-2000:]}")
    return proc.returncode, out, err


def kernel_started(nbdir: Path, proc: subprocess.Popen) -> int:
    """The pid of the slow notebook's kernel, once it is executing (it writes ``kernel.pid``)."""
    wait_until(lambda: (nbdir / "kernel.pid").exists() and (nbdir / "kernel.pid").read_text(),
               "the kernel executing the notebook", proc)
    return int((nbdir / "kernel.pid").read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def leftovers(out: Path) -> list[str]:
    """Hidden or temporary files a run left behind (the locks and the two fixed folders are not)."""
    fixed = {".lock", ".publish.lock", ".staging", ".store"}
    found = [p for p in out.rglob(".*") if p.name not in fixed and ".store" not in p.parts]
    found += list((out / "runs" / ".staging").iterdir()) if (out / "runs" / ".staging").exists() else []
    return [str(p.relative_to(out)) for p in found]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_publishes_nothing_and_leaves_nothing(nbdir, tmp_path, sig, code):
    out = tmp_path / "r"
    rc, _, err = finish(runner(nbdir, out, "--only", "03"))
    assert rc == 0, err
    assert "without encryption" not in err and "KeyboardInterrupt" not in err   # a quiet kernel
    before = snapshot(out / "runs" / "03_slow")
    (nbdir / "kernel.pid").unlink()
    (nbdir / "slow.flag").write_text("")
    proc = runner(nbdir, out, "--only", "03", "--force")          # (the flag file is not an input of the cache)
    kernel = kernel_started(nbdir, proc)
    proc.send_signal(sig)
    rc, stdout, err = finish(proc)
    assert rc == code
    assert f"interrupted ({signal.Signals(sig).name})" in err and "Traceback" not in err + stdout
    assert snapshot(out / "runs" / "03_slow") == before          # the earlier set, whole
    assert leftovers(out) == []
    assert [m["set"] for m in json.loads((out / "runs.json").read_text())] == ["03_slow"]
    wait_until(lambda: not alive(kernel), "the kernel stopping")


def test_sigterm_during_in_place_refresh_keeps_the_notebook_and_leaves_no_temporary_file(nbdir, tmp_path):
    (nbdir / "slow.flag").write_text("")
    original = (nbdir / "03_slow.ipynb").read_bytes()
    proc = runner(nbdir, tmp_path / "r", "--only", "03", "--in-place")
    kernel_started(nbdir, proc)
    proc.send_signal(signal.SIGTERM)
    rc, _, err = finish(proc)
    assert rc == 143 and "Traceback" not in err
    assert (nbdir / "03_slow.ipynb").read_bytes() == original
    assert sorted(p.name for p in nbdir.iterdir()) == ["01_ok.ipynb", "03_slow.ipynb", "kernel.pid", "slow.flag"]


def test_after_kill_9_the_worker_and_kernel_stop_and_the_next_start_sweeps(nbdir, tmp_path):
    out = tmp_path / "r"
    (nbdir / "slow.flag").write_text("")
    proc = runner(nbdir, out, "--only", "03", "--force")          # (the flag file is not an input of the cache)
    kernel = kernel_started(nbdir, proc)
    proc.send_signal(signal.SIGKILL)
    finish(proc)
    wait_until(lambda: not alive(kernel), "the orphaned kernel stopping")
    assert not (out / "runs" / "03_slow").exists()                 # nothing half-done was published
    (nbdir / "slow.flag").unlink()
    rc, _, err = finish(runner(nbdir, out, "--only", "01"))
    assert rc == 0, err
    assert leftovers(out) == []


def test_two_runners_at_once_keep_both_sets_and_the_index_lists_all(nbdir, tmp_path):
    out = tmp_path / "r"
    sweep = tmp_path / "sweep.yml"
    sweep.write_text(yaml.safe_dump({"01": {"sweep": {"name": ["a#b?c", "b"]}}}))
    first = runner(nbdir, out, "--only", "01", "--params-file", str(sweep))
    second = runner(nbdir, out, "--only", "01", "-p", "x", "5", "--refresh-data")
    for proc in (first, second):
        rc, _, err = finish(proc)
        assert rc == 0, err
    sets = json.loads((out / "runs.json").read_text())
    names = sorted(m["set"] for m in sets)
    assert len(names) == 3 and "01_ok__x=5" in names and "01_ok__name=b" in names
    index = (out / "index.html").read_text()
    parser = Links()
    parser.feed(index)
    files = {h for h in parser.hrefs if not h.startswith("#")}    # (the sweep table links to the rows)
    assert len(files) == 12
    for href in files:                                             # a#b?c does not break a link
        assert (out / unquote(href)).is_file(), href
    results = json.loads((out / "runs" / "01_ok__x=5" / "01_ok__x=5.json").read_text())
    assert results["double"] == 10 and results["refresh"]          # --refresh-data reached the kernel
    assert results["answer"] == "Doubling 5 gives 10: <b>no</b> surprise."
    assert "Doubling 5 gives 10: &lt;b&gt;no&lt;/b&gt; surprise." in index
    other = next(m for m in sets if m["set"] == "01_ok__name=b")
    assert other["records"]["refresh"] is None


def test_the_summary_prints_whole_paths(tmp_path):
    name = "02_pairs_lstm_mean_reversion__" + "x" * 80
    html = f"runs/{name}/{name}.html"
    table = summary_table([Result("02_pairs_lstm_mean_reversion", name, {"x": "y" * 100}, "ok", 1.0, html=html)])
    assert html in table and name in table
    assert '{"x": "yyy' in table and "y" * 100 not in table            # long parameters are shortened
