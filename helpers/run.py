"""Batch runner: execute the notebooks with papermill into ``reports/`` and render HTML.

    python -m helpers.run                          # every notebook, default parameters
    python -m helpers.run --only 01 03 -p seed 7   # some notebooks, a parameter override
    python -m helpers.run --data-source ../shared/market-data
    python -m helpers.run --params-file sweep.yml --jobs 2
    python -m helpers.run --in-place               # refresh the committed notebooks' outputs

A parameter file maps a notebook (its number or name) to fixed ``parameters`` and an optional
``sweep`` whose lists are crossed, one report per combination::

    "05":
      parameters: {start: "2012-01-01"}
      sweep: {target_vol: [0.08, 0.10, 0.12]}

Exit status: 0 all ran, 1 a notebook failed (the others still run), 2 bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import itertools
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from helpers.catalogue import PROJECT_ROOT
from helpers.reporting import atomic_write_text

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORT_DIR = PROJECT_ROOT / "reports"
DEFAULT_TIMEOUT = 1200  # seconds per cell


class UsageError(Exception):
    """Bad command-line input: exit status 2."""


@dataclass
class Job:
    notebook: Path
    parameters: dict
    name: str  # report stem


@dataclass
class Result:
    notebook: str
    name: str
    parameters: dict
    status: str
    duration: float
    report: str = ""
    html: str = ""
    error: str = ""
    records: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- inputs


def list_notebooks(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """The analysis notebooks (``NN_name.ipynb``), in order."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb"))


def select(only: list[str] | None, directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """Notebooks named by number (``01``) or name; all when ``only`` is empty."""
    notebooks = list_notebooks(directory)
    if not only:
        return notebooks
    chosen = []
    for key in only:
        hits = [p for p in notebooks if key_matches(key, p) or p.name == key]
        if not hits:
            valid = ", ".join(p.stem for p in notebooks)
            raise UsageError(f"Unknown notebook {key!r}. Valid: {valid}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def parse_value(text: str):
    """Type a command-line value as papermill does: int, float, bool, None, else string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float | bool | list | dict) or value is None else text


@functools.lru_cache(maxsize=64)
def notebook_parameters(path: Path) -> dict:
    """The parameters cell's names and default values of a notebook (inspected once per path)."""
    import papermill as pm

    return {name: info["default"] for name, info in pm.inspect_notebook(str(path)).items()}


def check_parameters(path: Path, params: dict) -> None:
    """Unknown names and values of the wrong type raise UsageError naming them."""
    import ast

    defaults = notebook_parameters(path)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise UsageError(f"{path.stem}: unknown parameter(s) {', '.join(unknown)}. "
                         f"Its parameters: {', '.join(defaults)}")
    for name, value in params.items():
        try:
            default = ast.literal_eval(defaults[name])
        except (ValueError, SyntaxError):
            continue
        if default is None or value is None:
            continue
        numeric = (int, float)
        ok = (isinstance(value, numeric) and not isinstance(value, bool) and isinstance(default, numeric)
              and not isinstance(default, bool)) or isinstance(value, type(default))
        if not ok:
            raise UsageError(f"{path.stem}: parameter {name} expects {type(default).__name__} "
                             f"(default {default!r}); got {value!r}")


def read_params_file(path: Path) -> dict:
    try:
        content = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"Cannot read parameter file {path}: {exc}") from exc
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise UsageError(f"{path}: expected a mapping of notebook -> {{parameters, sweep}}")
    return content


def slug(params: dict) -> str:
    parts = []
    for k, v in params.items():
        text = str(v).replace("/", "-").replace(" ", "")
        parts.append(f"{k}={text}")
    return "__".join(parts)[:120]


def names_of(notebook: Path) -> set[str]:
    """What a notebook answers to: its stem (``05_x``) and its number (``05``)."""
    return {notebook.stem, notebook.stem.split("_")[0]}


def key_matches(key, notebook: Path) -> bool:
    """A parameter-file key names the notebook (YAML may read ``5`` for ``05``)."""
    return bool({str(key), str(key).zfill(2)} & names_of(notebook))


def plan(notebooks: list[Path], overrides: dict, file_params: dict) -> list[Job]:
    """One job per notebook and sweep combination, parameters checked."""
    stray = [str(k) for k in file_params if not any(key_matches(k, nb) for nb in notebooks)]
    if stray:
        known = sorted(set().union(*(names_of(nb) for nb in notebooks)))
        raise UsageError(f"parameter file names no selected notebook: {', '.join(stray)}. "
                         f"Use one of: {', '.join(known)}")
    jobs = []
    for nb in notebooks:
        spec = {}
        for key, value in file_params.items():
            if key_matches(key, nb):
                spec = value or {}
        fixed = dict(spec.get("parameters", {}))
        sweep = spec.get("sweep", {}) or {}
        for k, v in sweep.items():
            if not isinstance(v, list) or not v:
                raise UsageError(f"{nb.stem}: sweep values must be non-empty lists; {k} is {v!r}")
        combos = [dict(zip(sweep, vals)) for vals in itertools.product(*sweep.values())] or [{}]
        for combo in combos:
            params = {**fixed, **combo, **overrides}
            check_parameters(nb, params)
            name = nb.stem + (f"__{slug(combo)}" if combo else "")
            jobs.append(Job(nb, params, name))
    return jobs


# --------------------------------------------------------------------------- execution


def strip_papermill(nb) -> None:
    """Remove papermill's per-cell metadata and empty tags (they break JupyterLab)."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            cell.metadata.pop("tags")


def render_html(nb, exclude_input: bool) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=exclude_input, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def execute(job: Job, out_dir: Path, kernel: str, timeout: int, in_place: bool, progress: bool,
            delay: float = 0.0) -> Result:
    """Run one notebook; never raises (failures become a Result with status 'failed')."""
    import nbformat
    import papermill as pm

    time.sleep(delay)  # staggered kernel starts: papermill's port clash when started together
    start = time.time()
    target = job.notebook if in_place else out_dir / f"{job.name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.running.ipynb")
    result = Result(job.notebook.stem, job.name, job.parameters, "ok", 0.0)
    if progress:
        print(f"[run] {job.name} ...", flush=True)
    for attempt in range(3):
        try:
            pm.execute_notebook(str(job.notebook), str(tmp), parameters=job.parameters or None,
                                kernel_name=kernel, cwd=str(job.notebook.parent), progress_bar=progress,
                                execution_timeout=timeout, start_timeout=120)
            break
        except pm.PapermillExecutionError as exc:
            result.status = "failed"
            result.error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            break
        except Exception as exc:  # kernel start failures (port clash) are retried
            if attempt == 2 or "kernel" not in str(exc).lower():
                result.status = "failed"
                result.error = f"{type(exc).__name__}: {exc}"
                break
            time.sleep(2 + 3 * attempt)
    result.duration = round(time.time() - start, 1)
    if not tmp.exists():
        return result
    nb = nbformat.read(tmp, as_version=4)
    strip_papermill(nb)
    if result.status == "failed":
        failed = out_dir / f"{job.name}.failed.ipynb"
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, failed)
        tmp.unlink()
        result.report = failed.name
        return result
    from helpers.reporting import read_records

    result.records = read_records(nb)
    nbformat.write(nb, tmp)
    os.replace(tmp, target)
    if not in_place:
        result.report = target.name
        atomic_write_text(out_dir / f"{job.name}.html", render_html(nb, exclude_input=True))
        atomic_write_text(out_dir / f"{job.name}.code.html", render_html(nb, exclude_input=False))
        atomic_write_text(out_dir / f"{job.name}.json", json.dumps(result.records, indent=2))
        result.html = f"{job.name}.html"
    return result


# --------------------------------------------------------------------------- summary and index


def summary_table(results: list[Result]) -> str:
    rows = [("notebook", "parameters", "status", "seconds", "report")]
    for r in results:
        rows.append((r.name, json.dumps(r.parameters) if r.parameters else "defaults", r.status,
                     f"{r.duration:.1f}", r.report or "-"))
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(5)]
    lines = ["  ".join(str(c)[:60].ljust(w) for c, w in zip(row, widths)) for row in rows]
    for r in results:
        if r.error:
            lines.append(f"FAILED {r.name}: {r.error}")
    return "\n".join(lines)


def environment() -> dict:
    import importlib.metadata as md
    import subprocess

    versions = {}
    for pkg in ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "torch", "matplotlib",
                "yfinance", "papermill"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[pkg] = md.version(pkg)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"python": sys.version.split()[0], "git commit": commit, **versions}


def _short(value) -> str:
    """A recorded value for the index: numbers to 4 significant digits, long text cut."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value)[:200]


def index_html(results: list[Result]) -> str:
    esc = html.escape
    rows = []
    for r in results:
        data = r.records.get("data", {}) or {}
        prov = (f"{esc(str(data.get('source', '?')))}<br><small>{esc(str(data.get('first_date', '')))} → "
                f"{esc(str(data.get('last_date', '')))}</small><br><small>sha256 "
                f"{esc(str(data.get('content_hash', ''))[:12])}</small>") if data else "-"
        keys = "".join(f"<li><b>{esc(k)}</b>: {esc(_short(v))}</li>" for k, v in r.records.items() if k != "data")
        params = "".join(f"<li>{esc(k)} = {esc(json.dumps(v))}</li>" for k, v in r.parameters.items()) or "defaults"
        links = []
        if r.html:
            links.append(f'<a href="{esc(r.html)}">report</a>')
            links.append(f'<a href="{esc(r.name)}.code.html">with code</a>')
        if r.report:
            links.append(f'<a href="{esc(r.report)}">notebook</a>')
        status = f'<span class="{esc(r.status)}">{esc(r.status)}</span>'
        if r.error:
            status += f"<br><small>{esc(r.error[:300])}</small>"
        rows.append(f"<tr><td>{esc(r.name)}</td><td>{status}</td><td>{r.duration:.1f}s</td>"
                    f"<td><ul>{params}</ul></td><td>{prov}</td><td><ul>{keys}</ul></td>"
                    f"<td>{' · '.join(links)}</td></tr>")
    env = "".join(f"<li>{esc(k)} {esc(v)}</li>" for k, v in environment().items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quant Notebooks: reports</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .5rem; vertical-align: top; text-align: left; }}
th {{ background: #f4f4f4; }} ul {{ margin: 0; padding-left: 1rem; }} small {{ white-space: nowrap; }}
.ok {{ color: #1a7f37; font-weight: bold; }} .failed {{ color: #c62828; font-weight: bold; }}
footer {{ margin-top: 2rem; color: #666; font-size: .85rem; }} footer ul {{ columns: 3; }}
</style></head><body>
<h1>Quant Notebooks: reports</h1>
<table><thead><tr><th>run</th><th>status</th><th>duration</th><th>parameters</th><th>data</th>
<th>key results</th><th>links</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table>
<footer><h3>Environment</h3><ul>{env}</ul></footer>
</body></html>
"""


def connect(address: str):
    """A dask.distributed Client for ``address``; UsageError when missing or not answering."""
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise UsageError("--scheduler needs dask.distributed: pip install -e '.[dask]'") from exc
    try:
        return Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"Dask scheduler at {address} does not answer: {exc}") from exc


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m helpers.run", description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", metavar="NB", help="notebooks by number or name (default: all)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="parameter for every selected notebook (typed like papermill's -p)")
    p.add_argument("--params-file", type=Path, help="YAML file of per-notebook parameters and sweeps")
    p.add_argument("--data-source", help="'synthetic', 'yfinance' or a directory of TICKER.csv files")
    p.add_argument("--jobs", type=int, default=1, help="notebooks run in parallel (local processes)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster (e.g. tcp://127.0.0.1:8786); needs the 'dask' extra")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds allowed per cell")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    p.add_argument("--output-dir", type=Path, default=REPORT_DIR)
    p.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    p.add_argument("--in-place", action="store_true",
                   help="re-execute the committed notebooks in place with defaults (nox -s refresh)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ci = bool(os.environ.get("CI"))
    progress = sys.stderr.isatty() and not ci
    try:
        notebooks = select(args.only, args.notebook_dir)
        if not notebooks:
            raise UsageError(f"No notebooks found in {args.notebook_dir}")
        overrides = {name: parse_value(value) for name, value in args.parameter}
        if args.data_source:
            src = args.data_source
            overrides["data_source"] = str(Path(src).resolve()) if Path(src).is_dir() else src
            if src not in ("synthetic", "yfinance") and not src.startswith("synthetic:") and not Path(src).is_dir():
                raise UsageError(f"--data-source {src!r}: not 'synthetic', 'yfinance' or a directory")
        if args.in_place and (overrides or args.params_file):
            raise UsageError("--in-place refreshes the committed defaults: it takes no parameters")
        if args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        file_params = read_params_file(args.params_file) if args.params_file else {}
        jobs = plan(notebooks, overrides, file_params)
        client = connect(args.scheduler) if args.scheduler else None
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = args.output_dir.resolve()
    print(f"Running {len(jobs)} notebook(s) into {'notebooks/ (in place)' if args.in_place else out_dir}",
          flush=True)
    results: list[Result] = []
    if client is not None:
        futures = [client.submit(execute, job, out_dir, args.kernel, args.timeout, args.in_place, False,
                                 pure=False) for job in jobs]
        for fut in futures:
            results.append(fut.result())
            print(f"[{results[-1].status}] {results[-1].name} ({results[-1].duration:.1f}s)", flush=True)
        client.close()
    elif args.jobs == 1:
        for job in jobs:
            results.append(execute(job, out_dir, args.kernel, args.timeout, args.in_place, progress))
            print(f"[{results[-1].status}] {job.name} ({results[-1].duration:.1f}s)", flush=True)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(execute, job, out_dir, args.kernel, args.timeout, args.in_place, False,
                                   (i % args.jobs) * 3.0) for i, job in enumerate(jobs)]
            for fut in as_completed(futures):
                results.append(fut.result())
                print(f"[{results[-1].status}] {results[-1].name} ({results[-1].duration:.1f}s)", flush=True)
        order = {job.name: i for i, job in enumerate(jobs)}
        results.sort(key=lambda r: order[r.name])
    if not args.in_place:
        atomic_write_text(out_dir / "index.html", index_html(results))
        atomic_write_text(out_dir / "runs.json", json.dumps([asdict(r) for r in results], indent=2))
    print(summary_table(results))
    return 1 if any(r.status != "ok" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
