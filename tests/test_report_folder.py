"""Report sets without kernels: atomic publication, sweeping, concurrent runners, kills, the index."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from tiny_notebooks import SAFETY_NET, Links

from helpers.dashboard import index_html
from helpers.files import atomic_write_text
from helpers.run import core
from helpers.run.folder import ReportFolder

ROOT = Path(__file__).resolve().parent.parent


def fake_run(folder: ReportFolder, name: str, status: str = "ok", token: str = "1",
             answer: str | None = None) -> core.Result:
    """Stage a set whose every file carries ``token``, as execute() would, and publish it."""
    staging = folder.new_staging(name)
    result = core.Result("01_ok", name, {"x": token}, status, 1.0, finished="2026-01-01T00:00:00")
    if status == "ok":
        result.files = {"report": f"{name}.html", "code": f"{name}.code.html", "notebook": f"{name}.ipynb",
                        "results": f"{name}.json"}
        result.records = {"token": token, **({"answer": answer} if answer else {})}
    else:
        result.files = {"notebook": f"{name}.failed.ipynb"}
        result.error = "cell 2: ValueError: boom"
    for file in result.files.values():
        atomic_write_text(staging / file, f"token {token}")
    atomic_write_text(staging / "run.json", json.dumps(core.set_metadata(result)))
    folder.publish(result, staging)
    return result


def tokens(set_dir: Path) -> set[str]:
    """The tokens of every file of a set (one token: the set is whole)."""
    meta = json.loads((set_dir / "run.json").read_text())
    found = {(set_dir / f).read_text().split()[-1] for f in meta["files"].values()}
    return found | {str(meta["parameters"]["x"])}


def hrefs(index: Path) -> list[str]:
    parser = Links()
    parser.feed(index.read_text())
    return parser.hrefs


def test_publish_replaces_a_set_as_a_unit(tmp_path):
    with ReportFolder(tmp_path) as folder:
        fake_run(folder, "01_ok", token="old")
        first = os.readlink(tmp_path / "runs" / "01_ok")
        fake_run(folder, "01_ok", token="new")
        assert tokens(tmp_path / "runs" / "01_ok") == {"new"}
        assert os.readlink(tmp_path / "runs" / "01_ok") != first
        assert not (tmp_path / "runs" / first).exists()       # the old folder is gone
        assert list((tmp_path / "runs" / ".staging").iterdir()) == []
        assert len(list((tmp_path / "runs" / ".store").iterdir())) == 1


def test_failure_keeps_the_good_set_and_a_later_success_removes_the_failure(tmp_path):
    with ReportFolder(tmp_path) as folder:
        fake_run(folder, "01_ok", token="good")
        fake_run(folder, "01_ok", status="failed", token="bad")
        runs = tmp_path / "runs"
        assert tokens(runs / "01_ok") == {"good"}
        assert (runs / "01_ok.failed" / "01_ok.failed.ipynb").exists()
        names = [m["set"] for m in json.loads((tmp_path / "runs.json").read_text())]
        assert names == ["01_ok", "01_ok.failed"]
        fake_run(folder, "01_ok", token="again")
        assert not (runs / "01_ok.failed").exists()
        assert len(list((runs / ".store").iterdir())) == 1


def test_index_lists_every_set_on_disk_with_working_links_and_the_answer(tmp_path):
    with ReportFolder(tmp_path) as a:
        fake_run(a, "01_ok__name=a-b-c__1234abcd", answer="No evidence that <b>x</b> differs & so on.")
    with ReportFolder(tmp_path) as b:     # a second runner adds a set: the index lists both
        fake_run(b, "01_ok__x=2", token="2")
    index = tmp_path / "index.html"
    text = index.read_text()
    assert "01_ok__name=a-b-c__1234abcd" in text and "01_ok__x=2" in text
    assert '<p class="headline">No evidence that &lt;b&gt;x&lt;/b&gt; differs &amp; so on.</p>' in text
    links = hrefs(index)
    files = [h for h in links if not h.startswith("#")]
    assert len(set(files)) == 8                    # 4 files of each set (the name links to the report)
    for href in files:
        assert (tmp_path / unquote(href)).is_file(), href
    for href in {h for h in links if h.startswith("#")}:   # the sweep table links to the rows
        assert f'id="{href[1:]}"' in text, href
    sets = json.loads((tmp_path / "runs.json").read_text())
    assert sets[0]["records"]["answer"].startswith("No evidence")   # runs.json keeps the answer


def test_index_html_escapes_and_quotes():
    meta = {"name": "01_ok__n=a", "set": "01_ok__n=a", "notebook": "01_ok", "status": "ok", "duration": 1.0,
            "parameters": {"n": "<script>"}, "records": {"answer": "<script>alert(1)</script>", "k": 1.23456},
            "files": {"report": "a b#c.html"}, "path": "runs/01_ok__n=a"}
    page = index_html([meta], {"python": "3"})
    assert "<script>" not in page
    assert 'href="runs/01_ok__n%3Da/a%20b%23c.html"' in page
    assert "<td>k</td><td>1.23</td>" in page                  # formatted for people: 3 significant digits


def test_files_are_readable_by_others_under_umask_022_and_private_under_077(tmp_path):
    old = os.umask(0o022)
    try:
        with ReportFolder(tmp_path / "a") as folder:
            fake_run(folder, "01_ok")
        for path in [tmp_path / "a" / "index.html", tmp_path / "a" / "runs.json",
                     *(tmp_path / "a" / "runs" / "01_ok").iterdir()]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
        assert stat.S_IMODE((tmp_path / "a" / "runs" / "01_ok").stat().st_mode) == 0o755
        os.umask(0o077)
        with ReportFolder(tmp_path / "b") as folder:
            fake_run(folder, "01_ok")
        assert stat.S_IMODE((tmp_path / "b" / "index.html").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_start_alone_sweeps_what_dead_runs_left(tmp_path):
    with ReportFolder(tmp_path) as folder:
        fake_run(folder, "01_ok")
        stale = folder.new_staging("01_ok__x=9")
        (stale / "01_ok__x=9.ipynb").write_text("half")
    runs = tmp_path / "runs"
    orphan = runs / ".store" / "01_ok~20260101T000000-h-1-abcdef"
    orphan.mkdir()
    (runs / ".01_ok.link-1234abcd").symlink_to(".store/nowhere")
    (tmp_path / ".index.html.x1.tmp").write_text("")
    (tmp_path / ".01_ok.running.ipynb").write_text("")      # the old runner's leftovers
    with ReportFolder(tmp_path):
        pass
    assert list((runs / ".staging").iterdir()) == []
    assert not orphan.exists()
    hidden = sorted(p.name for p in [*tmp_path.glob(".*"), *runs.glob(".*")])
    assert hidden == [".lock", ".publish.lock", ".staging", ".store"]
    assert tokens(runs / "01_ok") == {"1"}


def test_a_start_beside_a_live_runner_keeps_its_staging_but_sweeps_dead_ones(tmp_path):
    with ReportFolder(tmp_path) as live:
        mine = live.new_staging("01_ok")
        dead = live.staging / f"01_ok__x=2~20260101T000000-{live.host}-999999999-abcdef"
        dead.mkdir()
        with ReportFolder(tmp_path):
            pass
        assert mine.exists() and not dead.exists()


WRITER = textwrap.dedent("""
    import json, sys
    from helpers.files import atomic_write_text
    from helpers.run import core
    from helpers.run.folder import ReportFolder

    root, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with ReportFolder(root) as folder:
        for i in range(n):
            staging = folder.new_staging(name)
            r = core.Result("01_ok", name, {"x": str(i)}, "ok", 0.0,
                           files={"report": name + ".html", "notebook": name + ".ipynb", "results": name + ".json"})
            for f in r.files.values():
                atomic_write_text(staging / f, "token " + str(i))
            atomic_write_text(staging / "run.json", json.dumps(core.set_metadata(r)))
            folder.publish(r, staging)
            print(i, flush=True)
""")


def writer(tmp_path, name: str, n: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "r"), name, str(n)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_runners_publish_safely_and_the_index_lists_all(tmp_path):
    procs = [writer(tmp_path, f"01_ok__x={i}", 15) for i in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=SAFETY_NET)
        assert p.returncode == 0, err
    sets = json.loads((tmp_path / "r" / "runs.json").read_text())
    assert sorted(m["set"] for m in sets) == ["01_ok__x=0", "01_ok__x=1", "01_ok__x=2"]
    for m in sets:
        assert tokens(tmp_path / "r" / m["path"]) == {"14"}
    assert len(list((tmp_path / "r" / "runs" / ".store").iterdir())) == 3


def test_killing_a_publishing_runner_at_any_moment_leaves_whole_sets(tmp_path):
    """SIGKILL at varied moments of a publish loop: runs/ always holds one whole set; the next start tidies up."""
    with ReportFolder(tmp_path / "r") as folder:
        fake_run(folder, "01_ok", token="start")
    for delay in (0.3, 0.8, 1.3):
        proc = writer(tmp_path, "01_ok", 100000)
        assert proc.stdout.readline()                      # it has published at least once
        time.sleep(delay)                                  # a varied moment, not a wait for an event
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=SAFETY_NET)
        assert len(tokens(tmp_path / "r" / "runs" / "01_ok")) == 1
    with ReportFolder(tmp_path / "r"):
        pass
    runs = tmp_path / "r" / "runs"
    assert list((runs / ".staging").iterdir()) == []
    assert [p.name for p in (runs / ".store").iterdir()] == [os.readlink(runs / "01_ok").split("/")[-1]]
    assert not [p for p in [*runs.glob(".*"), *(tmp_path / "r").glob(".*")] if re.search(r"\.tmp$|\.link-", p.name)]
    sets = json.loads((tmp_path / "r" / "runs.json").read_text())
    assert [m["set"] for m in sets] == ["01_ok"]


def test_a_set_name_held_by_a_foreign_folder_is_refused(tmp_path):
    (tmp_path / "runs" / "01_ok").mkdir(parents=True)
    with ReportFolder(tmp_path) as folder, pytest.raises(RuntimeError, match="did not make"):
        fake_run(folder, "01_ok")
