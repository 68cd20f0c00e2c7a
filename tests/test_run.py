"""The batch runner with kernels: selection, parameters, sweeps, failures, report sets, metadata."""

from __future__ import annotations

import json

import nbformat
import pytest
import yaml
from tiny_notebooks import write_notebook

from helpers.run import cli, execute, parameters, plan, workers

pytestmark = pytest.mark.integration


@pytest.fixture
def nbdir(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    write_notebook(d / "01_ok.ipynb", "from helpers.reporting import record\nprint(x * 2)\nrecord('double', x * 2)")
    write_notebook(d / "02_fails.ipynb", "print('before')\nraise ValueError('boom')")
    return d


def main(nbdir, out, *args):
    return cli.main(["--notebook-dir", str(nbdir), "--output-dir", str(out), "--timeout", "120", *args])


def report(out, name, suffix):
    """A file of the report set ``name``: reports/runs/<name>/<name><suffix>."""
    return out / "runs" / name / f"{name}{suffix}"


def test_unknown_notebook_exits_2(nbdir, tmp_path, capsys):
    assert main(nbdir, tmp_path / "r", "--only", "07") == 2
    assert "Unknown notebook '07'. Valid: 01_ok, 02_fails" in capsys.readouterr().err


def test_unknown_and_mistyped_parameters_exit_2(nbdir, tmp_path, capsys):
    assert main(nbdir, tmp_path / "r", "--only", "01", "-p", "y", "3") == 2
    assert "01_ok: unknown parameter(s) y. Its parameters: x, name" in capsys.readouterr().err
    assert main(nbdir, tmp_path / "r", "--only", "01", "-p", "x", "abc") == 2
    assert "parameter x expects int" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing written


def test_unreadable_yaml_and_silent_scheduler_exit_2(nbdir, tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("01: [unclosed\n")
    assert main(nbdir, tmp_path / "r", "--params-file", str(bad)) == 2
    assert "Cannot read parameter file" in capsys.readouterr().err
    bad.write_text("09: {parameters: {x: 2}}\n")
    assert main(nbdir, tmp_path / "r", "--params-file", str(bad)) == 2
    assert f"{bad} names no selected notebook: 09" in capsys.readouterr().err
    assert main(nbdir, tmp_path / "r", "--only", "01", "--scheduler", "tcp://127.0.0.1:1") == 2
    assert "does not answer" in capsys.readouterr().err


def test_parse_value_types_like_papermill():
    assert parameters.parse_value("3") == 3 and parameters.parse_value("0.5") == 0.5
    assert parameters.parse_value("true") is True and parameters.parse_value("None") is None or parameters.parse_value("null") is None
    assert parameters.parse_value("SPY") == "SPY" and parameters.parse_value("[1, 2]") == [1, 2]


def test_sweep_plans_one_report_per_combination(nbdir, tmp_path):
    spec = tmp_path / "sweep.yml"
    spec.write_text(yaml.safe_dump({"01": {"parameters": {"name": "b"}, "sweep": {"x": [1, 2, 3]}}}))
    jobs = plan.plan(parameters.select(["01"], nbdir), {}, parameters.read_params_file(spec))
    assert [j.name for j in jobs] == ["01_ok__name=b", "01_ok__x=2__name=b", "01_ok__x=3__name=b"]
    assert all(j.parameters["name"] == "b" for j in jobs)


def test_a_failure_does_not_stop_the_others(nbdir, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(nbdir, out, "-p", "x", "21") == 1
    text = capsys.readouterr().out
    assert "FAILED 02_fails__x=21: cell" in text and "ValueError: boom" in text
    assert report(out, "01_ok__x=21", ".ipynb").exists() and report(out, "01_ok__x=21", ".html").exists()
    assert json.loads(report(out, "01_ok__x=21", ".json").read_text()) == {"double": 42}
    partial = nbformat.read(report(out, "02_fails__x=21.failed", ".ipynb"), as_version=4)
    assert "before" in json.dumps(partial.cells[-1].outputs)   # the partial notebook is kept
    assert not (out / "runs" / "02_fails__x=21").exists()
    index = (out / "index.html").read_text()
    assert "01_ok__x=21" in index and "failed" in index
    meta = json.loads((out / "runs" / "02_fails__x=21.failed" / "run.json").read_text())
    assert meta["status"] == "failed" and meta["parameters"] == {"x": 21}


def test_failed_rerun_keeps_the_earlier_good_report(nbdir, tmp_path):
    out = tmp_path / "r"
    assert main(nbdir, out, "--only", "01") == 0
    before = {p.name: p.read_text() for p in (out / "runs" / "01_ok").iterdir()}
    body = nbformat.read(nbdir / "01_ok.ipynb", as_version=4).cells[1].source
    write_notebook(nbdir / "01_ok.ipynb", "raise RuntimeError('now broken')")
    assert main(nbdir, out, "--only", "01") == 1
    assert {p.name: p.read_text() for p in (out / "runs" / "01_ok").iterdir()} == before
    assert (out / "runs" / "01_ok.failed" / "01_ok.failed.ipynb").exists()
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*running*"))
    assert list((out / "runs" / ".staging").iterdir()) == []
    write_notebook(nbdir / "01_ok.ipynb", body)               # fixed: the stale failure goes
    assert main(nbdir, out, "--only", "01") == 0
    assert not (out / "runs" / "01_ok.failed").exists()
    assert [m["set"] for m in json.loads((out / "runs.json").read_text())] == ["01_ok"]


def test_in_place_refresh_strips_papermill_metadata(nbdir, tmp_path):
    assert main(nbdir, tmp_path / "r", "--only", "01", "--in-place") == 0
    nb = nbformat.read(nbdir / "01_ok.ipynb", as_version=4)
    assert "papermill" not in nb.metadata
    for cell in nb.cells:
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
        assert cell.metadata.get("tags", ["x"]) != []
    assert nb.cells[1].outputs[0]["text"] == "2\n"


def test_parallel_jobs(nbdir, tmp_path):
    spec = tmp_path / "sweep.yml"
    spec.write_text(yaml.safe_dump({"01": {"sweep": {"x": [1, 2]}}}))
    assert main(nbdir, tmp_path / "r", "--only", "01", "--params-file", str(spec), "--jobs", "2") == 0
    assert json.loads(report(tmp_path / "r", "01_ok__x=2", ".json").read_text()) == {"double": 4}
    assert json.loads(report(tmp_path / "r", "01_ok", ".json").read_text()) == {"double": 2}


NUMERIC_BODY = """
import os
import numpy as np
import torch
from helpers.reporting import record
rng = np.random.default_rng(x)
a = rng.standard_normal((300, 300))
record("eig", float(np.linalg.eigvalsh(a @ a.T).sum()))     # BLAS/LAPACK reductions
torch.manual_seed(x)
record("torch", float(torch.randn(200, 200).matmul(torch.randn(200, 200)).sum()))
record("threads", [os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")]
       + [torch.get_num_threads()])
"""


def test_a_parallel_run_records_what_a_serial_run_records(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for stem in ("01_a", "02_b", "03_c"):
        write_notebook(nbs / f"{stem}.ipynb", NUMERIC_BODY)
    spec = tmp_path / "sweep.yml"
    spec.write_text(yaml.safe_dump({"02": {"sweep": {"x": [2, 3]}}}))
    runs = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"jobs{jobs}"
        assert main(nbs, out, "--params-file", str(spec), "--jobs", jobs) == 0
        runs[jobs] = {p.parent.name: json.loads(p.read_text()) for p in (out / "runs").glob("*/*.json")
                      if p.name != "run.json"}
    assert sorted(runs["1"]) == ["01_a", "02_b__x=2", "02_b__x=3", "03_c"]
    assert runs["3"] == runs["1"]                                        # bit for bit
    assert {tuple(r["threads"]) for r in runs["3"].values()} == {("1", "1", "1", 1)}


def test_the_default_number_of_jobs_is_bounded_by_cores_runs_and_memory():
    gb = 2**30
    assert workers.default_jobs(5, cores=2, available=64 * gb) == 2
    assert workers.default_jobs(1, cores=8, available=64 * gb) == 1
    assert workers.default_jobs(5, cores=8, available=7 * gb) == 2      # about 3 GB a kernel
    assert workers.default_jobs(5, cores=8, available=gb) == 1          # never none


def test_a_run_that_cannot_write_its_report_links_its_notebook_as_the_failure(nbdir, tmp_path, monkeypatch, capsys):
    """A full disk while rendering: the failed set holds the notebook as run, and the summary links it."""
    def full_disk(nb, exclude_input):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(execute, "render_html", full_disk)
    out = tmp_path / "r"
    assert main(nbdir, out, "--only", "01", "--jobs", "1") == 1
    text = capsys.readouterr().out
    link = "runs/01_ok.failed/01_ok.failed.ipynb"
    assert "[failed] 01_ok" in text and link in text and "No space left on device" in text
    meta = json.loads((out / "runs" / "01_ok.failed" / "run.json").read_text())
    assert meta["files"] == {"notebook": "01_ok.failed.ipynb"} and meta["report"] == link
    assert sorted(p.name for p in (out / "runs" / "01_ok.failed").iterdir()) == ["01_ok.failed.ipynb", "run.json"]
    assert nbformat.read(out / link, as_version=4).cells[1].outputs[0]["text"] == "2\n"


def test_dask_local_cluster(nbdir, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert main(nbdir, tmp_path / "r", "--only", "01", "--scheduler", cluster.scheduler_address) == 0
    assert report(tmp_path / "r", "01_ok", ".html").exists()


def test_a_notebook_declaring_output_dir_writes_its_side_outputs_into_its_own_set(tmp_path):
    d = tmp_path / "side"
    d.mkdir()
    body = ("import pathlib, tempfile\n"
            "folder = pathlib.Path(output_dir) if output_dir else pathlib.Path(tempfile.mkdtemp())\n"
            "(folder / 'side.csv').write_text('a,b\\n1,2\\n')\n"
            "print('wrote', (folder / 'side.csv').is_file())")
    write_notebook(d / "01_side.ipynb", body, params="x = 1\noutput_dir = None\n")
    out = tmp_path / "r"
    assert main(d, out, "-p", "x", "2") == 0
    set_dir = out / "runs" / "01_side__x=2"          # output_dir is not part of the name
    assert (set_dir / "side.csv").read_text() == "a,b\n1,2\n"
    meta = json.loads((set_dir / "run.json").read_text())
    assert meta["parameters"] == {"x": 2}             # nor of the recorded parameters
    assert "side.csv" in meta["files"].values()       # listed with the set's files, linked from the index
    nb = nbformat.read(set_dir / "01_side__x=2.ipynb", as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "wrote True\n"
    given = tmp_path / "mine"                         # a folder the user names wins
    given.mkdir()
    assert main(d, out, "-p", "output_dir", str(given)) == 0
    assert (given / "side.csv").is_file()
