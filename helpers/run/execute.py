"""Executing one notebook: papermill into a staging folder, then its HTML, results and run.json."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import nbformat
import papermill as pm
from jupyter_client.manager import AsyncKernelManager
from nbconvert import HTMLExporter

from helpers.dashboard import headline_png, thumbnail
from helpers.files import atomic_write, atomic_write_text
from helpers.reporting import read_records
from helpers.run.cache import data_identity, file_checksums
from helpers.run.core import FAILED, RUNS, Job, Result, now, set_metadata
from helpers.run.parameters import json_defaults, run_parameters
from helpers.run.workers import child_signals
from helpers.source import DataSource


def strip_papermill(nb) -> None:
    """Remove papermill's per-cell metadata and empty tags (they break JupyterLab)."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            cell.metadata.pop("tags")


# Printed text wraps at spaces (JupyterLab's `word-break: break-all` cuts words anywhere) and breaks
# a token only when it alone is wider than the page; code wraps too; a wide table scrolls inside its
# output instead of widening the page. Nothing is cut at the right edge.
REPORT_STYLE = """<style>
.jp-OutputArea-output pre, .jp-RenderedText pre, .jp-InputArea pre, .highlight pre {
  white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere; }
.jp-OutputArea-output { max-width: 100%; overflow-x: auto; }
.jp-RenderedHTMLCommon, .jp-RenderedMarkdown { overflow-wrap: break-word; }
</style>
"""


def render_html(nb, exclude_input: bool) -> str:
    """A notebook as one HTML page (JupyterLab's look) whose printed text wraps: see REPORT_STYLE."""
    exporter = HTMLExporter(exclude_input=exclude_input, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body.replace("</head>", REPORT_STYLE + "</head>", 1)



@contextlib.contextmanager
def extra_environ(env: dict | None) -> Iterator[None]:
    """Extra environment variables for the kernels started inside (``--refresh-data``)."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class QuietKernelManager(AsyncKernelManager):
    """Jupyter's kernel manager without the SIGINT it sends an idle kernel before shutting it down.

    That interrupt only makes a finished kernel log "KeyboardInterrupt caught in kernel." (an
    ERROR line in a run that succeeded); the shutdown request and, after a grace, the kill that
    follow stop the kernel all the same.
    """

    async def _async_interrupt_kernel(self) -> None:
        if not self.shutting_down:
            await super()._async_interrupt_kernel()


# One thread for every numerical library in every kernel: notebooks run side by side share the
# cores without oversubscribing them, and a result does not depend on how many ran at once.
KERNEL_THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                         "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}  # torch reads OMP's

# The kernel's own log at ERROR: its warning that a kernel on a loopback TCP port is not encrypted
# (the runner's kernels talk to their worker only) is noise in every run.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


def run_papermill(job: Job, output: Path, kernel: str, timeout: int, progress: bool,
               parameters: dict | None = None) -> str:
    """Execute ``job`` (with ``parameters``, default its own) into ``output``; the error text, or ""."""
    parameters = job.parameters if parameters is None else parameters
    for attempt in range(3):
        try:
            pm.execute_notebook(str(job.notebook), str(output), parameters=parameters or None,
                                kernel_name=kernel, cwd=str(job.notebook.parent), progress_bar=progress,
                                execution_timeout=timeout, start_timeout=120,
                                kernel_manager_class=QuietKernelManager, extra_arguments=KERNEL_ARGUMENTS)
            return ""
        except pm.PapermillExecutionError as exc:
            return f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        except Exception as exc:  # kernel start failures (port clash) are retried
            if attempt == 2 or "kernel" not in str(exc).lower():
                return f"{type(exc).__name__}: {exc}"
            time.sleep(2 + 3 * attempt)
        finally:
            child_signals()  # nbclient resets SIGINT/SIGTERM when it finishes
    return "unreachable"



def write_thumbnail(nb, staging: Path, files: dict) -> None:
    """The headline figure as ``thumbnail.png`` (see :func:`helpers.dashboard.headline_png`)."""
    png = headline_png(nb)
    if png is not None:
        try:
            data = thumbnail(png)
        except Exception:  # noqa: BLE001 - an unreadable image leaves the set without a thumbnail
            return
        atomic_write(staging / "thumbnail.png", lambda tmp: tmp.write_bytes(data))
        files["thumbnail"] = "thumbnail.png"



def execute(job: Job, staging: Path, kernel: str, timeout: int, progress: bool,
            env: dict | None = None) -> Result:
    """Run one notebook into the (existing, empty) folder ``staging`` and describe it in run.json.

    Never raises for a notebook's failure: that is a Result with status 'failed' and the partial
    notebook as ``<name>.failed.ipynb``. Nothing outside ``staging`` is touched.
    """
    started, clock = now(), time.time()
    result = Result(job.notebook.stem, job.name, job.parameters, "ok", 0.0, started=started,
                    refresh_data=bool((env or {}).get("QN_REFRESH_DATA")), defaults=json_defaults(job.notebook))
    output = staging / f"{job.name}.ipynb"
    with extra_environ({**KERNEL_THREADS, **(env or {})}):
        result.error = run_papermill(job, output, kernel, timeout, progress, run_parameters(job, staging))
    if job.inputs is not None:  # yfinance: the cache as the run left it (it may have downloaded)
        result.inputs = dict(job.inputs)
        if DataSource.parse(job.inputs["source"]).kind == "yfinance":
            result.inputs["data"] = data_identity(job.inputs["source"], memo=False)
    result.status = "failed" if result.error else "ok"
    written = {"report": f"{job.name}.html", "code": f"{job.name}.code.html", "notebook": output.name,
               "results": f"{job.name}.json"}
    try:
        if output.exists():
            nb = nbformat.read(output, as_version=4)
            strip_papermill(nb)
            if result.status == "failed":
                failed = output.with_name(f"{job.name}{FAILED}.ipynb")
                nbformat.write(nb, failed)
                output.unlink()
                result.files = {"notebook": failed.name}
            else:
                result.records = read_records(nb)
                nbformat.write(nb, output)
                files = dict(written)
                atomic_write_text(staging / files["report"], render_html(nb, exclude_input=True))
                atomic_write_text(staging / files["code"], render_html(nb, exclude_input=False))
                atomic_write_text(staging / files["results"], json.dumps(result.records, indent=2))
                write_thumbnail(nb, staging, files)
                for side in sorted(staging.iterdir()):  # what the notebook wrote into output_dir
                    if side.is_file() and not side.name.startswith(".") and side.name not in files.values():
                        files[f"output:{side.name}"] = side.name
                result.files = files
        result.checksums = file_checksums(staging, result.files)
    except Exception as exc:  # a notebook that ran but cannot be read, rendered or written (disk full)
        result.status, result.error = "failed", f"after running: {type(exc).__name__}: {exc}"
        for name in [*written.values(), "thumbnail.png"]:
            if name != output.name:
                (staging / name).unlink(missing_ok=True)
        result.files = {}
        failed = output.with_name(f"{job.name}{FAILED}.ipynb")
        if output.exists():  # the notebook as papermill left it is the failed set's report
            os.replace(output, failed)
        if failed.exists():
            result.files = {"notebook": failed.name}
        with contextlib.suppress(OSError):
            result.checksums = file_checksums(staging, result.files)
    result.duration = round(time.time() - clock, 1)
    result.finished = now()
    set_dir = f"{RUNS}/{result.set_name}"
    result.report = f"{set_dir}/{result.files['notebook']}" if "notebook" in result.files else ""
    result.html = f"{set_dir}/{result.files['report']}" if "report" in result.files else ""
    atomic_write_text(staging / "run.json", json.dumps(set_metadata(result), indent=2))
    return result


def execute_in_place(job: Job, tmp: Path, failed_dir: Path, kernel: str, timeout: int,
                     progress: bool, answer: Path) -> Result:
    """Re-execute a committed notebook and replace it only when every cell ran (``--in-place``).

    The Result is also written to ``answer`` (JSON), for the runner that started this worker."""
    clock = time.time()
    result = Result(job.notebook.stem, job.name, job.parameters, "ok", 0.0, started=now())
    with extra_environ(KERNEL_THREADS):
        result.error = run_papermill(job, tmp, kernel, timeout, progress)
    result.status = "failed" if result.error else "ok"
    failed = failed_dir / f"{job.name}{FAILED}.ipynb"
    if tmp.exists():
        nb = nbformat.read(tmp, as_version=4)
        strip_papermill(nb)
        if result.status == "ok":
            nbformat.write(nb, tmp)
            os.replace(tmp, job.notebook)
            failed.unlink(missing_ok=True)
            result.report = str(job.notebook)
        else:
            failed_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, failed)
            tmp.unlink()
            result.report = str(failed)
    result.duration = round(time.time() - clock, 1)
    result.finished = now()
    atomic_write_text(answer, json.dumps(asdict(result)))
    return result

