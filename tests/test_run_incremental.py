"""Incremental runs: what a report depends on, and reusing a set made from the same inputs ("cached")."""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from tiny_notebooks import write_notebook

from helpers.files import atomic_write_text
from helpers.run import cache, cli, core, parameters
from helpers.run.folder import ReportFolder


def notebook(path, body: str = "print(x)", params: str = "x = 1\ndata_source = None\n"):
    write_notebook(path, body, params)
    parameters.notebook_parameters.cache_clear()
    return path


@pytest.fixture
def job(tmp_path, monkeypatch):
    monkeypatch.delenv("QN_DATA_SOURCE", raising=False)
    nb = notebook(tmp_path / "01_a.ipynb")
    return core.Job(nb, {}, "01_a")


def test_each_input_changes_its_own_hash_and_only_it(job, tmp_path, monkeypatch):
    base = cache.run_inputs(job, "python3")
    assert base["source"] == "synthetic" and set(base) == {"notebook", "parameters", "source", "data", "helpers",
                                                           "environment"}
    assert cache.run_inputs(job, "python3") == base                            # deterministic

    nb = nbformat.read(job.notebook, as_version=4)                           # outputs and metadata: not source
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[1].metadata["collapsed"] = True
    nbformat.write(nb, job.notebook)
    assert cache.run_inputs(job, "python3") == base
    notebook(job.notebook, body="print(x)  # touched")                      # a source edit
    assert diff(base, cache.run_inputs(job, "python3")) == ["notebook"]
    notebook(job.notebook)

    assert diff(base, cache.run_inputs(core.Job(job.notebook, {"x": 2}, "n"), "python3")) == ["parameters"]
    assert diff(base, cache.run_inputs(job, "other-kernel")) == ["environment"]
    pins = tmp_path / "constraints.txt"
    pins.write_text("numpy==2.0\n")
    monkeypatch.setattr(cache, "CONSTRAINTS", pins)
    pinned = cache.run_inputs(job, "python3")
    pins.write_text("numpy==2.1\n")
    assert diff(pinned, cache.run_inputs(job, "python3")) == ["environment"]

    seven = cache.run_inputs(core.Job(job.notebook, {"data_source": "synthetic:7"}, "n"), "python3")
    assert seven["data"] != base["data"] and seven["data"].startswith("synthetic:7|")
    monkeypatch.setenv("QN_DATA_SOURCE", "synthetic:7")                     # the notebook's default: None
    assert cache.run_inputs(job, "python3")["data"] == seven["data"]


def diff(a: dict, b: dict) -> list[str]:
    return sorted(k for k in a if a[k] != b[k])


def test_a_notebooks_helper_source_is_the_modules_it_imports_transitively(tmp_path, monkeypatch):
    pkg = tmp_path / "helpers"
    (pkg / "csrc").mkdir(parents=True)
    (pkg / "sub").mkdir()
    files = {"__init__.py": "", "a.py": "from helpers import b\n", "b.py": "def f():\n    from . import c\n",
             "c.py": "import helpers.sub.d\n", "sub/__init__.py": "", "sub/d.py": "from ..e import x\n",
             "e.py": "x = 1\n", "letf.py": "import helpers.ckernels\n", "ckernels.py": "", "csrc/k.c": "int f(void);\n",
             "unused.py": "x = 1\n", "notes.txt": "not code\n"}
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.setattr(cache, "PROJECT_ROOT", tmp_path)
    uses_a = notebook(tmp_path / "01_a.ipynb", body="%matplotlib inline\nfrom helpers.a import b\nprint(x)")
    uses_letf = notebook(tmp_path / "02_b.ipynb", body="from helpers import letf\nprint(x)")
    names = lambda nb: sorted(str(p.relative_to(pkg)) for p in cache.helper_files(nb))  # noqa: E731
    assert names(uses_a) == ["__init__.py", "a.py", "b.py", "c.py", "e.py", "sub/__init__.py", "sub/d.py"]
    assert names(uses_letf) == ["__init__.py", "ckernels.py", "csrc/k.c", "letf.py"]
    before = {nb: cache.helpers_hash(nb) for nb in (uses_a, uses_letf)}
    for name, changed in (("e.py", [uses_a]), ("csrc/k.c", [uses_letf]), ("unused.py", []), ("notes.txt", []),
                          ("__init__.py", [uses_a, uses_letf])):
        (pkg / name).write_text((pkg / name).read_text() + "# edited\n")
        after = {nb: cache.helpers_hash(nb) for nb in before}
        assert [nb for nb in before if after[nb] != before[nb]] == changed, name
        before = after
    broken = notebook(tmp_path / "03_c.ipynb", body="def (:\n")                   # unparsable: every helper file
    assert "unused.py" in names(broken) and "csrc/k.c" in names(broken)


def test_the_real_notebooks_depend_on_their_own_helpers_only():
    nbs = {nb.name[:2]: nb for nb in parameters.list_notebooks()}
    rel = lambda nb: {str(p.relative_to(cache.PROJECT_ROOT)) for p in cache.helper_files(nb)}  # noqa: E731
    assert "helpers/letf.py" in rel(nbs["01"]) and "helpers/letf.py" not in rel(nbs["05"])
    assert "helpers/csrc/lstm_kernels.c" in rel(nbs["02"]) and "helpers/csrc/lstm_kernels.c" not in rel(nbs["04"])
    assert all("helpers/run/cli.py" not in rel(nb) for nb in nbs.values())


def test_a_csv_folder_is_identified_by_its_files(job, tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "SPY.csv").write_text("Date,Close\n2020-01-02,1\n")
    ident = cache.data_identity(str(folder), memo=False)
    (folder / "SPY.csv").write_text("Date,Close\n2020-01-02,2\n")             # a changed price
    changed = cache.data_identity(str(folder), memo=False)
    (folder / "QQQ.csv").write_text("Date,Close\n2020-01-02,1\n")              # a new file
    added = cache.data_identity(str(folder), memo=False)
    assert len({ident, changed, added}) == 3
    assert cache.data_identity(str(folder), memo=False) == added
    inputs = cache.run_inputs(core.Job(job.notebook, {"data_source": str(folder)}, "n"), "python3")
    assert inputs["data"] == added and inputs["source"] == str(folder)


def test_yfinance_is_reused_only_while_its_cache_files_are_unchanged(job, tmp_path, monkeypatch):
    monkeypatch.setenv("QN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "SPY.parquet").write_bytes(b"one")
    first = cache.data_identity("yfinance", memo=False)
    assert cache.data_identity("yfinance", memo=False) == first
    (tmp_path / "cache" / "SPY.parquet").write_bytes(b"two")                 # a refetch
    assert cache.data_identity("yfinance", memo=False) != first
    assert cache.data_identity("yfinance:refresh", memo=False) is None
    yf = core.Job(job.notebook, {"data_source": "yfinance"}, "n")
    assert cache.run_inputs(yf, "python3") is not None
    assert cache.run_inputs(yf, "python3", refresh_data=True) is None          # --refresh-data: always runs
    assert cache.changed_inputs({"status": "ok", "inputs": {}}, None) == ["not cacheable (yfinance refresh)"]


INPUTS = {"notebook": "n1", "parameters": "p1", "source": "synthetic", "data": "d1", "helpers": "h1",
          "environment": "e1"}


def publish(folder: ReportFolder, name: str, inputs: dict, status: str = "ok", duration: float = 9.5):
    staging = folder.new_staging(name)
    result = core.Result("01_a", name, {}, status, duration, finished="2026-01-01T00:00:00", inputs=inputs,
                        records={"answer": "yes"} if status == "ok" else {})
    result.files = ({"report": f"{name}.html", "notebook": f"{name}.ipynb"} if status == "ok"
                    else {"notebook": f"{name}.failed.ipynb"})
    for f in result.files.values():
        atomic_write_text(staging / f, "x")
    result.checksums = cache.file_checksums(staging, result.files)                # as the runner records them
    atomic_write_text(staging / "run.json", json.dumps(core.set_metadata(result)))
    folder.publish(result, staging)


def test_a_set_from_the_same_inputs_is_reused_and_marked_cached(tmp_path):
    jobs = [core.Job(tmp_path / "01_a.ipynb", {}, name, dict(INPUTS)) for name in ("01_a", "01_a__x=2", "01_a__x=3")]
    with ReportFolder(tmp_path / "r") as folder:
        publish(folder, "01_a", INPUTS)
        publish(folder, "01_a", INPUTS, status="failed")                     # a later failure, same inputs
        publish(folder, "01_a__x=2", dict(INPUTS, notebook="n0"))            # made from older source
        target = os.readlink(tmp_path / "r" / "runs" / "01_a")
        reused, reasons = folder.reuse(jobs)
    assert [r.name for r in reused] == ["01_a"] and reused[0].cache["hit"] and reused[0].duration == 9.5
    assert reasons == {"01_a__x=2": ["notebook"], "01_a__x=3": ["no earlier report"]}
    runs = tmp_path / "r" / "runs"
    assert os.readlink(runs / "01_a") == target                              # the set itself is kept
    assert not (runs / "01_a.failed").exists()                               # the stale failure goes
    meta = json.loads((runs / "01_a" / "run.json").read_text())
    assert meta["cache"]["hit"] is True and meta["inputs"] == INPUTS
    index = (tmp_path / "r" / "index.html").read_text()
    assert '<span class="cached">cached</span>' in index and "ran 9.5s" in index
    assert "1 of them reused unchanged" in index


def test_a_failed_or_incomplete_set_is_not_reused(tmp_path):
    job = core.Job(tmp_path / "01_a.ipynb", {}, "01_a", dict(INPUTS))
    with ReportFolder(tmp_path / "r") as folder:
        publish(folder, "01_a", INPUTS, status="failed")
        assert folder.reuse([job])[1] == {"01_a": ["no earlier report"]}     # only a .failed set exists
        publish(folder, "01_a", INPUTS)
        (tmp_path / "r" / "runs" / "01_a" / "01_a.html").unlink()
        assert folder.reuse([job])[1] == {"01_a": ["files of the earlier report are missing (01_a.html)"]}
    assert cache.changed_inputs({"status": "failed", "inputs": INPUTS}, INPUTS) == ["the earlier run failed"]
    assert cache.changed_inputs(None, INPUTS) == ["no earlier report"]
    assert cache.changed_inputs({"status": "ok"}, INPUTS) == sorted(INPUTS, key=list(INPUTS).index)  # an old set


def test_a_set_whose_files_changed_after_its_run_is_not_reused(tmp_path):
    job = core.Job(tmp_path / "01_a.ipynb", {}, "01_a", dict(INPUTS))
    runs = tmp_path / "r" / "runs"
    with ReportFolder(tmp_path / "r") as folder:
        publish(folder, "01_a", INPUTS)
        assert folder.reuse([job])[1] == {}
        (runs / "01_a" / "01_a.html").write_text("HAND EDITED")               # a hand-edited report
        assert folder.reuse([job])[1] == {"01_a": ["files of the earlier report changed after its run (01_a.html)"]}
        publish(folder, "01_a", INPUTS)
        meta = json.loads((runs / "01_a" / "run.json").read_text())
        del meta["checksums"]                                                # a set from an older runner
        atomic_write_text(runs / "01_a" / "run.json", json.dumps(meta))
        assert folder.reuse([job])[1] == {
            "01_a": ["the earlier report has no checksums of its files (made by an older runner)"]}


def test_dry_run_says_which_runs_are_cached(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("QN_DATA_SOURCE", raising=False)
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    notebook(nbdir / "01_a.ipynb")
    notebook(nbdir / "02_b.ipynb")
    out = tmp_path / "r"
    args = ["--notebook-dir", str(nbdir), "--output-dir", str(out)]
    jobs = cli.prepare(cli.build_parser().parse_args(args))
    with ReportFolder(out) as folder:
        publish(folder, "01_a", cache.run_inputs(jobs[0], "python3"))
    assert cli.main([*args, "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "01_a: defaults (cached, not run)" in text and "02_b: defaults (run: no earlier report)" in text
    assert cli.main([*args, "--dry-run", "--force"]) == 0
    assert "01_a: defaults (run: --force)" in capsys.readouterr().out


@pytest.mark.integration
def test_a_repeat_main_job_is_served_from_the_cache_and_a_touched_notebook_reruns_alone(tmp_path, capsys,
                                                                                         monkeypatch):
    monkeypatch.delenv("QN_DATA_SOURCE", raising=False)
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    body = "from helpers.reporting import record\nimport time\nrecord('answer', f'x is {x}')\nprint(time.time())"
    for name in ("01_a", "02_b"):
        notebook(nbdir / f"{name}.ipynb", body)
    out = tmp_path / "r"
    args = ["--notebook-dir", str(nbdir), "--output-dir", str(out), "--timeout", "120"]

    def links():
        return {n: os.readlink(out / "runs" / n) for n in ("01_a", "02_b")}

    assert cli.main(args) == 0
    first = links()
    capsys.readouterr()
    assert cli.main(args) == 0                                    # nothing changed: nothing runs
    text = capsys.readouterr().out
    assert "[cached] 01_a" in text and "[cached] 02_b" in text and "[ok]" not in text
    assert links() == first
    assert [json.loads((out / "runs" / n / "run.json").read_text())["cache"]["hit"] for n in first] == [True, True]
    assert (out / "index.html").read_text().count('<span class="cached">cached</span>') == 2

    notebook(nbdir / "02_b.ipynb", body + "\n# touched")          # one notebook's source changes
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "[cached] 01_a" in text and "[run] 02_b: notebook" in text and "[ok] 02_b" in text
    now = links()
    assert now["01_a"] == first["01_a"] and now["02_b"] != first["02_b"]
    assert json.loads((out / "runs" / "02_b" / "run.json").read_text())["cache"] == {}

    results = out / "runs" / "01_a" / "01_a.json"                 # a hand edit is not served as cached
    results.write_text('{"answer": "HAND EDITED"}')
    assert cli.main([*args, "--only", "01", "--dry-run"]) == 0
    assert "01_a: defaults (run: files of the earlier report changed after its run (01_a.json))" in \
        capsys.readouterr().out
    assert cli.main([*args, "--only", "01"]) == 0
    assert "[run] 01_a: files of the earlier report changed after its run (01_a.json)" in capsys.readouterr().out
    assert json.loads(results.read_text()) == json.loads((out / "runs" / "01_a" / "run.json").read_text())["records"]
    (out / "runs" / "01_a" / "01_a.code.html").unlink()            # a file gone: dry run and run agree
    assert cli.main([*args, "--only", "01", "--dry-run"]) == 0
    assert "(run: files of the earlier report are missing (01_a.code.html))" in capsys.readouterr().out
    assert cli.main([*args, "--only", "01"]) == 0
    assert "[run] 01_a: files of the earlier report are missing (01_a.code.html)" in capsys.readouterr().out
    assert (out / "runs" / "01_a" / "01_a.code.html").is_file()

    assert cli.main([*args, "-p", "x", "2"]) == 0                 # other parameters: other sets, run
    assert "[ok] 01_a__x=2" in capsys.readouterr().out
    assert cli.main([*args, "--only", "01", "--force"]) == 0      # --force re-runs
    assert "[ok] 01_a" in capsys.readouterr().out and links()["01_a"] != first["01_a"]
