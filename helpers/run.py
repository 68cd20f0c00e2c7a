"""Batch runner: execute the notebooks with papermill into ``reports/`` and render HTML.

    python -m helpers.run                          # every notebook, default parameters
    python -m helpers.run --only 01 02 04 -p seed 7
    python -m helpers.run --data-source ../shared/market-data
    python -m helpers.run --params-file sweep.yml --jobs 2
    python -m helpers.run --dry-run ...            # check the input, print the plan, run nothing
    python -m helpers.run --force                  # re-run even the up-to-date ("cached") reports
    python -m helpers.run --in-place               # refresh the committed notebooks' outputs

A parameter file maps a notebook (its number or name) to fixed ``parameters`` and an optional
``sweep`` whose lists are crossed, one report per combination::

    "05":
      parameters: {start: "2012-01-01"}
      sweep: {target_vol: [0.08, 0.10, 0.12]}

Every run is a *report set*, ``reports/runs/<name>/``: the executed notebook, its HTML with
and without code, the key results it recorded (``<name>.json``) and ``run.json`` (status,
parameters, times, environment). ``<name>`` is the notebook's stem plus every parameter that
differs from the notebook's default, made safe for file names and URLs (a hash is added when
the readable part is shortened or had to be changed). A set is written into a staging folder
and published with one atomic step (``runs/<name>`` is a symlink swapped to the new folder),
so a reader or a crash sees either the old set or the new one, whole. A run that fails
publishes ``runs/<name>.failed/`` (the partial notebook) and keeps the earlier good set; a
later good run removes it. ``reports/index.html`` and ``reports/runs.json`` list every set in
the folder, read from their ``run.json``, and are rebuilt under a lock after each publication,
so several runners can share one output folder.

Runs are incremental: a run whose published set was made from the same notebook source,
parameters, data (:func:`data_identity`: the seed and catalogue, every file of a CSV folder, the
yfinance cache files), helper source (``helpers/**/*.py`` and ``csrc``) and pins
(``constraints.txt``) is not run again; its set is kept and the index says "cached".
``--force`` runs it anyway; ``--dry-run`` says which runs would be cached. A notebook with an
``output_dir`` parameter that was not given one gets its run's own set folder, so its side
outputs are published with the set.

Exit status: 0 all ran, 1 a notebook failed (the others still run), 2 bad input,
130 / 143 interrupted by SIGINT / SIGTERM (unfinished runs leave nothing behind).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import wait as wait_for
from pathlib import Path

import yaml

from helpers.catalogue import PROJECT_ROOT
from helpers.reporting import atomic_write, atomic_write_text

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORT_DIR = PROJECT_ROOT / "reports"
DEFAULT_TIMEOUT = 1200  # seconds per cell
RUNS = "runs"            # reports/runs/<set> -> .store/<set>~<run id>
FAILED = ".failed"       # suffix of a failed run's set
SLUG_LIMIT = 60          # characters of readable parameters in a report name
STOP_GRACE = 15          # seconds a stopped worker gets before it is killed


class UsageError(Exception):
    """Bad command-line input: exit status 2."""


@dataclass
class Job:
    notebook: Path
    parameters: dict
    name: str  # report set name
    inputs: dict | None = None  # what its result depends on (see run_inputs); None: not cacheable


@dataclass
class Result:
    notebook: str
    name: str
    parameters: dict
    status: str
    duration: float
    report: str = ""     # the executed (or partial) notebook, relative to the output folder
    html: str = ""       # the report without code, relative to the output folder
    error: str = ""
    records: dict = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    files: dict = field(default_factory=dict)  # role -> file name inside the set
    refresh_data: bool = False
    defaults: dict = field(default_factory=dict)  # the notebook's parameter defaults (literals)
    inputs: dict = field(default_factory=dict)    # hashes of what the result depends on (run_inputs)
    cache: dict = field(default_factory=dict)     # {"hit": True, "checked": time} when reused

    @property
    def set_name(self) -> str:
        return self.name if self.status == "ok" else self.name + FAILED


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
    """The parameters cell's names and default values (as source text), inspected once per path."""
    import papermill as pm

    return {name: info["default"] for name, info in pm.inspect_notebook(str(path)).items()}


_NO_DEFAULT = object()


def default_values(path: Path) -> dict:
    """The parameters' default values as Python objects (``_NO_DEFAULT`` where not a literal)."""
    out = {}
    for name, text in notebook_parameters(path).items():
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError):
            out[name] = _NO_DEFAULT
    return out


def check_parameters(path: Path, params: dict, where: str = "") -> dict:
    """``params`` checked against the notebook's parameters cell; returns them typed.

    Unknown names and values of the wrong type raise UsageError naming them (and ``where``,
    e.g. the parameter file and key). A whole float is accepted for an int parameter and
    becomes an int; 2.5 is not.
    """
    prefix = f"{where}: " if where else ""
    defaults = default_values(path)
    unknown = [k for k in params if k not in defaults]
    if unknown:
        raise UsageError(f"{prefix}{path.stem}: unknown parameter(s) {', '.join(map(str, unknown))}. "
                         f"Its parameters: {', '.join(defaults)}")
    typed = {}
    for name, value in params.items():
        default = defaults[name]
        typed[name] = value
        if default is _NO_DEFAULT or default is None or value is None:
            continue
        if isinstance(default, bool) or isinstance(value, bool):
            ok = isinstance(value, bool) and isinstance(default, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            if ok:
                typed[name] = int(value)
        elif isinstance(default, float):
            ok = isinstance(value, int | float)
            if ok:
                typed[name] = float(value)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise UsageError(f"{prefix}{path.stem}: parameter {name} expects {type(default).__name__} "
                             f"(default {default!r}); got {value!r}")
    return typed


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error, not 'last wins'."""


def _construct_unique_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found the key {key!r} twice "
                f"(first on line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)

SPEC_KEYS = ("parameters", "sweep")


def read_params_file(path: Path) -> dict:
    """A parameter file's ``{notebook key: {"parameters": {...}, "sweep": {...}}}``, its shape checked.

    Duplicate keys, keys other than ``parameters`` and ``sweep``, a ``parameters`` that is not a
    mapping, sweep values that are not non-empty lists of distinct values: UsageError naming
    the file and key. Parameter names and types are checked against each notebook by :func:`plan`.
    """
    path = Path(path)
    try:
        content = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"Cannot read parameter file {path}: {exc}") from exc
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise UsageError(f"{path}: expected a mapping of notebook -> {{parameters, sweep}}; "
                         f"got {type(content).__name__}")
    for key, spec in content.items():
        where = f"{path}: {key}"
        if spec is None:
            continue
        if not isinstance(spec, dict):
            raise UsageError(f"{where}: expected a mapping with 'parameters' and/or 'sweep'; got {spec!r}")
        unknown = [str(k) for k in spec if k not in SPEC_KEYS]
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}. "
                             f"Valid keys: {', '.join(SPEC_KEYS)}")
        for part in SPEC_KEYS:
            if spec.get(part) is not None and not isinstance(spec[part], dict):
                raise UsageError(f"{where}: {part} must be a mapping of name: value; got {spec[part]!r}")
        for name, values in (spec.get("sweep") or {}).items():
            if not isinstance(values, list) or not values:
                raise UsageError(f"{where}: sweep values must be non-empty lists; {name} is {values!r}")
            texts = [json.dumps(v, sort_keys=True) for v in values]
            dupes = sorted({t for t in texts if texts.count(t) > 1})
            if dupes:
                raise UsageError(f"{where}: sweep {name} lists {', '.join(dupes)} more than once")
        both = sorted(set(spec.get("parameters") or {}) & set(spec.get("sweep") or {}))
        if both:
            raise UsageError(f"{where}: {', '.join(both)} both fixed in parameters and swept")
    return content


def names_of(notebook: Path) -> set[str]:
    """What a notebook answers to: its stem (``05_x``) and its number (``05``)."""
    return {notebook.stem, notebook.stem.split("_")[0]}


def key_matches(key, notebook: Path) -> bool:
    """A parameter-file key names the notebook (YAML may read ``5`` for ``05``)."""
    return bool({str(key), str(key).zfill(2)} & names_of(notebook))


# --------------------------------------------------------------------------- names


def _readable(value) -> tuple[str, bool]:
    """A short text for a parameter value and whether it loses information."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value), False
    if isinstance(value, int | float):
        return repr(value), False
    if isinstance(value, str):
        if "/" in value or os.sep in value:
            return Path(value).name or value, True
        return value, False
    if isinstance(value, dict):
        return "-".join(f"{_readable(k)[0]}-{_readable(v)[0]}" for k, v in value.items()), True
    if isinstance(value, list | tuple):
        return "-".join(_readable(v)[0] for v in value), True
    return str(value), True


def _safe(text: str) -> str:
    """Only letters, digits and ``._-``: safe in file names and URLs on every system."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _is_default(name: str, value, default) -> bool:
    if name == "data_source" and value in (None, "synthetic") and default in (None, "synthetic"):
        return True  # None means $QN_DATA_SOURCE, which the runner resolves and passes explicitly
    return default is not _NO_DEFAULT and type(value) is type(default) and value == default


def report_name(notebook: Path, params: dict) -> str:
    """The report set's name: the stem plus every non-default parameter, in the cell's order.

    ``05_drawdown_aware_leverage__target_vol=0.08``; values are made safe for file names and
    URLs, and a hash of the parameters is added when that changed them or the readable part
    is longer than ``SLUG_LIMIT``, so different parameters never share a name.
    """
    defaults = default_values(notebook)
    changed = {k: params[k] for k in defaults if k in params and not _is_default(k, params[k], defaults[k])}
    if not changed:
        return notebook.stem
    parts, lossy = [], False
    for k, v in changed.items():
        text, lost = _readable(v)
        safe = _safe(text)
        lossy |= lost or safe != text or safe.endswith(FAILED)
        parts.append(f"{k}={safe}")
    readable = "__".join(parts)
    if lossy or len(readable) > SLUG_LIMIT:
        digest = hashlib.sha256(json.dumps(changed, sort_keys=True, default=str).encode()).hexdigest()[:8]
        readable = readable[:SLUG_LIMIT].rstrip("-_.=") + f"__{digest}"
    return f"{notebook.stem}__{readable}"


# --------------------------------------------------------------------------- plan


def check_data_source(value, where: str) -> str | None:
    """A ``data_source`` value validated and, for a folder, made absolute (notebooks run elsewhere)."""
    from helpers.data import DataError, resolve_source

    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{where}: data_source must be a string; got {value!r}")
    if value == "":
        raise UsageError(f"{where}: data_source is empty; use 'synthetic', 'yfinance' or a directory")
    try:
        return resolve_source(value)
    except DataError as exc:
        raise UsageError(f"{where}: {exc}") from exc


def check_date_order(notebook: Path, params: dict, where: str) -> None:
    """``start`` after ``end`` (also ``train_start``/``train_end`` and the like) is bad input."""
    import pandas as pd

    values = {**{k: v for k, v in default_values(notebook).items() if v is not _NO_DEFAULT}, **params}
    for name, start in values.items():
        if not name.endswith("start"):
            continue
        end_name = name[: -len("start")] + "end"
        end = values.get(end_name)
        if start is None or end is None or not isinstance(start, str) or not isinstance(end, str):
            continue
        try:
            if pd.Timestamp(start) > pd.Timestamp(end):
                raise UsageError(f"{where}{notebook.stem}: {name} {start} is after {end_name} {end}")
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{where}{notebook.stem}: {name}={start!r} / {end_name}={end!r} are not "
                             f"dates like 'YYYY-MM-DD' ({exc})") from exc


def plan(notebooks: list[Path], overrides: dict, file_params: dict, where: str = "parameter file") -> list[Job]:
    """One job per notebook and sweep combination, parameters checked, names unique."""
    stray = [str(k) for k in file_params if not any(key_matches(k, nb) for nb in notebooks)]
    if stray:
        known = sorted(set().union(*(names_of(nb) for nb in notebooks)))
        raise UsageError(f"{where} names no selected notebook: {', '.join(stray)}. "
                         f"Use one of: {', '.join(known)}")
    taking = {k: [nb for nb in notebooks if k in notebook_parameters(nb)] for k in overrides}
    lacking = {k: v for k, v in taking.items() if 0 < len(v) < len(notebooks)}
    if lacking:  # (a name no selected notebook has is reported as unknown below)
        hints = []
        for k, having in lacking.items():
            numbers = " ".join(nb.stem.split("_")[0] for nb in having)
            without = ", ".join(nb.stem for nb in notebooks if nb not in having)
            hints.append(f"{without} {'has' if ',' not in without else 'have'} no parameter {k} "
                         f"(use --only {numbers}, or a --params-file for per-notebook values)")
        raise UsageError("a -p or --data-source value goes to every selected notebook, but "
                         + "; ".join(hints))
    jobs = []
    for nb in notebooks:
        keys = [k for k in file_params if key_matches(k, nb)]
        if len(keys) > 1:
            raise UsageError(f"{where}: {nb.stem} is named twice ({', '.join(repr(k) for k in keys)}); "
                             f"merge them into one entry")
        spec = (file_params[keys[0]] or {}) if keys else {}
        at = f"{where}: {keys[0]}" if keys else "command line"
        fixed = dict(spec.get("parameters") or {})
        sweep = dict(spec.get("sweep") or {})
        clash = sorted(set(sweep) & set(overrides))
        if clash:
            raise UsageError(f"{at}: {', '.join(clash)} swept in the file and also set with -p")
        check_parameters(nb, {**fixed, **{k: v[0] for k, v in sweep.items()}}, at)
        combos = [dict(zip(sweep, vals)) for vals in itertools.product(*sweep.values())] or [{}]
        for combo in combos:
            params = check_parameters(nb, {**fixed, **combo, **overrides}, at)
            if "data_source" in params:
                params["data_source"] = check_data_source(params["data_source"], f"{at}: {nb.stem}")
            check_date_order(nb, params, f"{at}: ")
            jobs.append(Job(nb, params, report_name(nb, params)))
    names = [j.name for j in jobs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"{where}: these runs would share a report (same effective parameters): "
                         f"{', '.join(dupes)}")
    return jobs


# --------------------------------------------------------------------------- incremental runs

HELPER_GLOBS = ("**/*.py", "csrc/**/*")   # under helpers/: the code every notebook runs
CATALOGUE = ("universe.csv", "factors.csv")  # under data/: what the simulated market is built from
CONSTRAINTS = PROJECT_ROOT / "constraints.txt"


def _hash_files(paths, root: Path) -> str:
    """SHA-256 over the files' paths (relative to ``root``) and contents, in sorted order."""
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def notebook_hash(path: Path) -> str:
    """The notebook's source: its cells' types and sources and its kernel (not outputs or metadata),
    so refreshing the stored outputs in place does not make a report stale."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = [(c.get("cell_type"), "".join(c.get("source", "")) if isinstance(c.get("source"), list)
              else c.get("source", "")) for c in nb.get("cells", [])]
    kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name")
    return hashlib.sha256(json.dumps([kernel, cells]).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def helpers_hash() -> str:
    """helpers/**/*.py and helpers/csrc (computed once per runner)."""
    root = PROJECT_ROOT / "helpers"
    return _hash_files([p for g in HELPER_GLOBS for p in root.glob(g)], PROJECT_ROOT)


def environment_hash(kernel: str) -> str:
    """The pinned environment: constraints.txt, the Python version, the kernel's name."""
    pins = CONSTRAINTS.read_bytes() if CONSTRAINTS.is_file() else b""
    return hashlib.sha256(pins + f"|{sys.version.split()[0]}|{kernel}".encode()).hexdigest()


def effective_source(job: Job) -> str:
    """The data source a job's kernel will load: its parameter, the notebook's default, else
    ``$QN_DATA_SOURCE`` or the simulated market, resolved (a folder made absolute)."""
    from helpers.data import resolve_source

    value = job.parameters.get("data_source")
    if value is None:
        default = default_values(job.notebook).get("data_source")
        value = default if isinstance(default, str) else None
    return resolve_source(value)


@functools.lru_cache(maxsize=16)
def _data_identity(source: str) -> str | None:
    return data_identity(source, memo=False)


def data_identity(source: str, memo: bool = True) -> str | None:
    """What identifies a source's data before it is loaded, as a hash; None when it cannot be known.

    ``synthetic[:SEED]``: the seed and the catalogue files (the simulator is helper code); a CSV
    folder: every file in it, names and contents; ``yfinance``: the files of its download cache
    (a run with unchanged cache files reads the same prices); ``yfinance:refresh``: None (it
    downloads again, so it is never reused).
    """
    if memo:
        return _data_identity(source)
    from helpers.data import DATA_DIR, cache_dir

    if source.startswith("synthetic"):
        return f"{source}|" + _hash_files([DATA_DIR / f for f in CATALOGUE], DATA_DIR)
    if source == "yfinance":
        folder = cache_dir()
        return "yfinance|" + (_hash_files(folder.iterdir(), folder) if folder.is_dir() else "empty")
    if source.startswith("yfinance"):
        return None
    folder = Path(source)
    return "csv|" + _hash_files([p for p in folder.iterdir() if not p.name.startswith(".")], folder)


def run_inputs(job: Job, kernel: str, refresh_data: bool = False) -> dict | None:
    """Hashes of everything a run's result depends on, or None when it must always run.

    ``notebook`` (its source), ``parameters``, ``source`` and ``data`` (:func:`data_identity`),
    ``helpers`` (:func:`helpers_hash`) and ``environment`` (:func:`environment_hash`). Two runs
    with equal inputs give the same report; a change of any one re-runs the notebook.
    """
    source = effective_source(job)
    data = None if refresh_data else data_identity(source)
    if data is None:
        return None
    return {"notebook": notebook_hash(job.notebook),
            "parameters": hashlib.sha256(json.dumps(job.parameters, sort_keys=True, default=str).encode()).hexdigest(),
            "source": source, "data": data, "helpers": helpers_hash(), "environment": environment_hash(kernel)}


def changed_inputs(meta: dict | None, inputs: dict | None) -> list[str]:
    """Why a published set cannot be reused for a run with ``inputs`` (empty: it can).

    The set must exist, have run ok with every file still there, and have been made from the same
    inputs.
    """
    if inputs is None:
        return ["not cacheable (yfinance refresh)"]
    if not meta:
        return ["no earlier report"]
    if meta.get("status") != "ok":
        return ["the earlier run failed"]
    old = meta.get("inputs") or {}
    changed = [k for k in inputs if old.get(k) != inputs[k]]
    return changed


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


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def _environ(env: dict | None) -> Iterator[None]:
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


def _papermill(job: Job, output: Path, kernel: str, timeout: int, progress: bool,
               parameters: dict | None = None) -> str:
    """Execute ``job`` (with ``parameters``, default its own) into ``output``; the error text, or ""."""
    import papermill as pm

    parameters = job.parameters if parameters is None else parameters
    for attempt in range(3):
        try:
            pm.execute_notebook(str(job.notebook), str(output), parameters=parameters or None,
                                kernel_name=kernel, cwd=str(job.notebook.parent), progress_bar=progress,
                                execution_timeout=timeout, start_timeout=120)
            return ""
        except pm.PapermillExecutionError as exc:
            return f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        except Exception as exc:  # kernel start failures (port clash) are retried
            if attempt == 2 or "kernel" not in str(exc).lower():
                return f"{type(exc).__name__}: {exc}"
            time.sleep(2 + 3 * attempt)
        finally:
            _child_signals()  # nbclient resets SIGINT/SIGTERM when it finishes
    return "unreachable"


def json_defaults(path: Path) -> dict:
    """The parameters' defaults that are JSON literals (the index compares sweeps with them)."""
    out = {}
    for name, value in default_values(path).items():
        if value is not _NO_DEFAULT and name != OUTPUT_DIR:
            with contextlib.suppress(TypeError, ValueError):
                out[name] = json.loads(json.dumps(value))
    return out


def _write_thumbnail(nb, staging: Path, files: dict) -> None:
    """The headline figure as ``thumbnail.png`` (see :func:`helpers.dashboard.headline_png`)."""
    from helpers.dashboard import headline_png, thumbnail

    png = headline_png(nb)
    if png is not None:
        try:
            data = thumbnail(png)
        except Exception:  # noqa: BLE001 - an unreadable image leaves the set without a thumbnail
            return
        atomic_write(staging / "thumbnail.png", lambda tmp: tmp.write_bytes(data))
        files["thumbnail"] = "thumbnail.png"


OUTPUT_DIR = "output_dir"  # a notebook parameter naming where its side outputs go


def run_parameters(job: Job, staging: Path) -> dict:
    """What papermill passes: the job's parameters, plus ``output_dir=<staging, absolute>`` for a
    notebook that declares ``output_dir`` and was not given one, so its side outputs (CSV, JSON)
    land in the run's own set and are published with it, atomically. Not part of the set's name
    or its recorded parameters."""
    params = dict(job.parameters)
    if OUTPUT_DIR not in params and OUTPUT_DIR in notebook_parameters(job.notebook):
        params[OUTPUT_DIR] = str(Path(staging).resolve())
    return params


def execute(job: Job, staging: Path, kernel: str, timeout: int, progress: bool,
            env: dict | None = None, delay: float = 0.0) -> Result:
    """Run one notebook into the (existing, empty) folder ``staging`` and describe it in run.json.

    Never raises for a notebook's failure: that is a Result with status 'failed' and the partial
    notebook as ``<name>.failed.ipynb``. Nothing outside ``staging`` is touched.
    """
    import nbformat

    time.sleep(delay)  # staggered kernel starts: papermill's port clash when started together
    started, clock = _now(), time.time()
    result = Result(job.notebook.stem, job.name, job.parameters, "ok", 0.0, started=started,
                    refresh_data=bool((env or {}).get("QN_REFRESH_DATA")), defaults=json_defaults(job.notebook))
    output = staging / f"{job.name}.ipynb"
    with _environ(env):
        result.error = _papermill(job, output, kernel, timeout, progress, run_parameters(job, staging))
    if job.inputs is not None:  # yfinance: the cache as the run left it (it may have downloaded)
        result.inputs = dict(job.inputs)
        if str(job.inputs.get("source", "")).startswith("yfinance"):
            result.inputs["data"] = data_identity(job.inputs["source"], memo=False)
    result.status = "failed" if result.error else "ok"
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
                from helpers.reporting import read_records

                result.records = read_records(nb)
                nbformat.write(nb, output)
                files = {"report": f"{job.name}.html", "code": f"{job.name}.code.html",
                         "notebook": output.name, "results": f"{job.name}.json"}
                atomic_write_text(staging / files["report"], render_html(nb, exclude_input=True))
                atomic_write_text(staging / files["code"], render_html(nb, exclude_input=False))
                atomic_write_text(staging / files["results"], json.dumps(result.records, indent=2))
                _write_thumbnail(nb, staging, files)
                for side in sorted(staging.iterdir()):  # what the notebook wrote into output_dir
                    if side.is_file() and not side.name.startswith(".") and side.name not in files.values():
                        files[f"output:{side.name}"] = side.name
                result.files = files
    except Exception as exc:  # a notebook that ran but cannot be read or rendered
        result.status, result.error = "failed", f"after running: {type(exc).__name__}: {exc}"
        for name in [n for role, n in result.files.items() if role != "notebook"]:
            (staging / name).unlink(missing_ok=True)
    result.duration = round(time.time() - clock, 1)
    result.finished = _now()
    set_dir = f"{RUNS}/{result.set_name}"
    result.report = f"{set_dir}/{result.files['notebook']}" if "notebook" in result.files else ""
    result.html = f"{set_dir}/{result.files['report']}" if "report" in result.files else ""
    atomic_write_text(staging / "run.json", json.dumps(set_metadata(result), indent=2))
    return result


def set_metadata(result: Result) -> dict:
    """What run.json says about a set: the Result, where it is, and what produced it."""
    return {**asdict(result), "set": result.set_name, "path": f"{RUNS}/{result.set_name}",
            "environment": environment(), "host": socket.gethostname(), "pid": os.getpid()}


def execute_in_place(job: Job, tmp: Path, failed_dir: Path, kernel: str, timeout: int,
                     progress: bool) -> Result:
    """Re-execute a committed notebook and replace it only when every cell ran (``--in-place``)."""
    import nbformat

    clock = time.time()
    result = Result(job.notebook.stem, job.name, job.parameters, "ok", 0.0, started=_now())
    result.error = _papermill(job, tmp, kernel, timeout, progress)
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
    result.finished = _now()
    return result


# --------------------------------------------------------------------------- worker processes

_PARENT_PID: int | None = None  # set in a worker: the runner that started it


def _child_signals() -> None:
    """In a worker: SIGINT is the runner's to handle, SIGTERM ends the worker (cleanly)."""
    if _PARENT_PID is None or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _watch_parent(parent: int) -> None:
    """A worker whose runner died (SIGKILL) stops its kernel and exits instead of running on."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _worker(kind: str, args: tuple, parent: int) -> None:
    """Body of a worker process: one notebook, then exit without tracebacks on signals."""
    global _PARENT_PID
    _PARENT_PID = parent
    os.setpgrp()  # Ctrl-C in a terminal reaches the runner only; it stops the workers itself
    _child_signals()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    code = 0
    try:
        if kind == "set":
            execute(*args)
        else:
            result = execute_in_place(*args[:-1])
            atomic_write_text(args[-1], json.dumps(asdict(result)))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - reported by the runner from the exit code
        print(f"worker error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class Workers:
    """Up to ``n`` worker processes, one notebook each, started at least ``stagger`` s apart."""

    def __init__(self, n: int, stagger: float = 3.0):
        self.n, self.stagger = n, stagger
        self.running: dict[int, tuple] = {}  # sentinel -> (process, payload)
        self.last_start = -1e9

    def has_room(self) -> bool:
        return len(self.running) < self.n

    def start(self, kind: str, args: tuple, payload) -> None:
        delay = max(0.0, self.last_start + self.stagger - time.monotonic()) if self.running else 0.0
        self.last_start = time.monotonic() + delay
        if kind == "set":
            args = (*args, delay)
        else:
            time.sleep(delay)
        proc = _mp_context().Process(target=_worker, args=(kind, args, os.getpid()), daemon=False)
        proc.start()
        self.running[proc.sentinel] = (proc, payload)

    def finished(self, timeout: float = 1.0) -> list[tuple]:
        """(exit code, payload) of workers that ended within ``timeout``."""
        done = []
        for sentinel in wait_for(list(self.running), timeout=timeout):
            proc, payload = self.running.pop(sentinel)
            proc.join()
            done.append((proc.exitcode, payload))
        return done

    def stop_all(self) -> list:
        """Kill every worker's kernels, then SIGTERM the worker; SIGKILL what is left after the grace.

        Kernels are killed rather than asked to shut down: a kernel busy in a cell would log
        tracebacks of its own while closing; its notebook is discarded anyway.
        """
        procs = [p for p, _ in self.running.values()]
        for p in procs:
            _kill_tree(p.pid, include_root=False)
            with contextlib.suppress(ProcessLookupError):
                p.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for p in procs:
            p.join(max(0.1, deadline - time.monotonic()))
            if p.is_alive():
                _kill_tree(p.pid)
                p.join(5)
        payloads = [payload for _, payload in self.running.values()]
        self.running.clear()
        return payloads


def _kill_tree(pid: int, include_root: bool = True) -> None:
    """SIGKILL a worker's descendants (its kernels run in their own sessions) and the worker."""
    try:
        import psutil  # a dependency of ipykernel

        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    except Exception:  # noqa: BLE001 - psutil missing or the process already gone
        pass
    if include_root:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- the output folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """SIGINT/SIGTERM wait until the block ends (a publication is never cut in half)."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def published_meta(root: Path, name: str) -> dict | None:
    """The run.json of the published set ``name`` under the output folder ``root``, if readable."""
    try:
        meta = json.loads((Path(root) / RUNS / name / "run.json").read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


class ReportFolder:
    """``reports/``: report sets under ``runs/``, the index, and the locks that let runners share it.

    ``runs/<set>`` is a relative symlink to ``runs/.store/<set>~<run id>/``; a run writes into
    ``runs/.staging/<name>~<run id>/`` and is published by renaming that into ``.store`` and
    swapping the symlink (one atomic rename). Every runner holds a shared lock on
    ``runs/.lock`` while it lives; one that gets it exclusively at its start knows it is alone
    and sweeps what dead runners left (staging folders, unreferenced store folders, temporary
    links and files). Publication and the index rebuild happen under ``runs/.publish.lock``.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / RUNS
        self.store = self.runs / ".store"
        self.staging = self.runs / ".staging"
        self.host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
        self._lock_fd: int | None = None

    # -- lifetime
    def __enter__(self) -> ReportFolder:
        for d in (self.root, self.runs, self.store, self.staging):
            d.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.runs / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except BlockingIOError:
            alone = False
        with self.publishing():
            self.sweep(alone)
            self.write_index()
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextlib.contextmanager
    def publishing(self) -> Iterator[None]:
        with _signals_blocked():
            fd = os.open(self.runs / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    # -- runs in progress
    def new_staging(self, name: str) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        path = self.staging / f"{name}~{stamp}-{self.host}-{os.getpid()}-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        return path

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def sweep(self, alone: bool) -> list[str]:
        """Remove what unfinished runs left; everything stale when ``alone``, else dead runners' only."""
        removed = []
        for d in self.staging.iterdir():
            owner = re.search(r"~[0-9T]{15}-(.+)-([0-9]+)-[0-9a-f]{6}$", d.name)
            dead = bool(owner) and owner.group(1) == self.host and not _pid_alive(int(owner.group(2)))
            if alone or dead:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d.name)
        if alone:
            referenced = {os.path.basename(os.readlink(p)) for p in self.runs.iterdir() if p.is_symlink()}
            for d in self.store.iterdir():
                if d.name not in referenced:
                    shutil.rmtree(d, ignore_errors=True)
                    removed.append(d.name)
            for folder in (self.root, self.runs):
                for p in folder.glob(".*"):
                    if p.name.endswith(".tmp") or ".link-" in p.name or p.name.endswith(".running.ipynb"):
                        p.unlink(missing_ok=True)
                        removed.append(p.name)
        return removed

    # -- publication
    def publish(self, result: Result, staging: Path) -> None:
        """Switch the run's set in with one atomic rename; a good run removes its stale failure."""
        with self.publishing():
            target = self.store / staging.name
            os.rename(staging, target)
            self._swap(result.set_name, target)
            if result.status == "ok":
                self._remove(result.name + FAILED)
            self.write_index()

    def _swap(self, set_name: str, target: Path) -> None:
        link = self.runs / set_name
        if link.exists() and not link.is_symlink():
            raise RuntimeError(f"{link} is a folder this runner did not make; move it away")
        old = self.runs / os.readlink(link) if link.is_symlink() else None
        tmp = self.runs / f".{set_name}.link-{secrets.token_hex(4)}"
        os.symlink(os.path.relpath(target, self.runs), tmp)
        os.replace(tmp, link)
        if old is not None and old.resolve() != target.resolve():
            shutil.rmtree(old, ignore_errors=True)

    def _remove(self, set_name: str) -> None:
        link = self.runs / set_name
        if link.is_symlink():
            old = self.runs / os.readlink(link)
            link.unlink()
            shutil.rmtree(old, ignore_errors=True)

    # -- reuse (incremental runs)
    def reuse(self, jobs: list[Job]) -> tuple[list[Result], dict[str, list[str]]]:
        """The published sets that jobs would remake unchanged, marked "cached"; and why the others run.

        A set is reused when it ran ok from the same :func:`run_inputs` and every file it lists is
        there. Its run.json gets ``cache: {"hit": true, "checked": ...}`` (the index shows
        "cached"), a stale failed set of the same name is removed, and the index is rebuilt once.
        """
        reused, reasons = [], {}
        with self.publishing():
            for job in jobs:
                link = self.runs / job.name
                meta = published_meta(self.root, job.name)
                why = changed_inputs(meta, job.inputs)
                if not why and not all((link / f).is_file() for f in (meta.get("files") or {}).values()):
                    why = ["files of the earlier report are missing"]
                if why:
                    reasons[job.name] = why
                    continue
                meta["cache"] = {"hit": True, "checked": _now()}
                atomic_write_text(link / "run.json", json.dumps(meta, indent=2))
                self._remove(job.name + FAILED)
                reused.append(Result(**{k: meta[k] for k in Result.__dataclass_fields__ if k in meta}))
            if reused:
                self.write_index()
        return reused, reasons

    # -- the index
    def sets(self) -> list[dict]:
        """Every published set's run.json (plus its path), notebooks in order, failures after."""
        out = []
        for link in sorted(self.runs.iterdir()) if self.runs.is_dir() else []:
            if link.name.startswith(".") or not link.is_dir():
                continue
            try:
                meta = json.loads((link / "run.json").read_text())
            except (OSError, ValueError) as exc:
                meta = {"name": link.name, "notebook": link.name.split("__")[0], "status": "unreadable",
                        "error": f"run.json: {exc}", "parameters": {}, "records": {}, "files": {}}
            meta["path"] = f"{RUNS}/{link.name}"
            out.append(meta)
        return sorted(out, key=lambda m: (m.get("notebook", ""), m.get("name", ""), m.get("status") != "ok"))

    def write_index(self) -> None:
        sets = self.sets()
        atomic_write_text(self.root / "index.html", index_html(sets, environment()))
        atomic_write_text(self.root / "runs.json", json.dumps(sets, indent=2))


# --------------------------------------------------------------------------- summary and index


def summary_table(results: list[Result]) -> str:
    rows = [("notebook", "parameters", "status", "seconds", "report")]
    for r in results:
        cached = r.cache.get("hit")
        rows.append((r.name, json.dumps(r.parameters) if r.parameters else "defaults",
                     "cached" if cached else r.status, "-" if cached else f"{r.duration:.1f}", r.html or r.report or "-"))
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(5)]
    lines = ["  ".join(str(c)[:60].ljust(w) for c, w in zip(row, widths)) for row in rows]
    for r in results:
        if r.error:
            lines.append(f"FAILED {r.name}: {r.error}")
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def _environment() -> tuple:
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
    return tuple({"python": sys.version.split()[0], "git commit": commit, **versions}.items())


def environment() -> dict:
    """Python, the git commit and the key packages' versions (computed once per process)."""
    return dict(_environment())


def index_row(meta: dict) -> str:
    """One report set's rows of the index (see :mod:`helpers.dashboard`)."""
    from helpers.dashboard import index_row as row

    return row(meta)


def index_html(sets: list[dict], env: dict | None = None) -> str:
    """The index page of report sets, a research dashboard (see :mod:`helpers.dashboard`)."""
    from helpers.dashboard import index_html as page

    return page(sets, env)


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
    p.add_argument("--data-source", help="'synthetic', 'synthetic:SEED', 'yfinance' or a directory of "
                   "TICKER.csv files (default: $QN_DATA_SOURCE, else synthetic)")
    p.add_argument("--refresh-data", action="store_true",
                   help="download yfinance prices again even when cached (once per ticker per run)")
    p.add_argument("--jobs", type=int, default=1, help="notebooks run in parallel (local processes)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster (e.g. tcp://127.0.0.1:8786); needs the 'dask' extra")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds allowed per cell")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    p.add_argument("--output-dir", type=Path, default=REPORT_DIR)
    p.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    p.add_argument("--dry-run", action="store_true", help="check the input and print the runs; run nothing")
    p.add_argument("--force", action="store_true",
                   help="run every selected notebook, even those whose report is up to date (not 'cached')")
    p.add_argument("--in-place", action="store_true",
                   help="re-execute the committed notebooks in place with defaults (nox -s refresh)")
    return p


def prepare(args) -> list[Job]:
    """The jobs the arguments ask for; UsageError on any bad input."""
    notebooks = select(args.only, args.notebook_dir)
    if not notebooks:
        raise UsageError(f"No notebooks found in {args.notebook_dir}")
    if args.in_place and (args.parameter or args.params_file or args.data_source):
        raise UsageError("--in-place refreshes the committed defaults: it takes no parameters")
    if args.in_place and args.scheduler:
        raise UsageError("--in-place runs locally: it takes no --scheduler")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.timeout < 1:
        raise UsageError("--timeout must be at least 1 second")
    overrides = {name: parse_value(value) for name, value in args.parameter}
    source = args.data_source or (None if args.in_place else os.environ.get("QN_DATA_SOURCE"))
    if source is not None:
        where = "--data-source" if args.data_source else "$QN_DATA_SOURCE"
        if "data_source" in overrides:
            raise UsageError(f"{where} and -p data_source both given; use one")
        resolved = check_data_source(source, where)
        if args.data_source or all("data_source" in notebook_parameters(nb) for nb in notebooks):
            overrides["data_source"] = resolved
    file_params = read_params_file(args.params_file) if args.params_file else {}
    return plan(notebooks, overrides, file_params, str(args.params_file) if args.params_file else "command line")


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt(signum)


def run_sets(jobs: list[Job], args, folder: ReportFolder, env: dict, progress: bool,
             client=None) -> list[Result]:
    """Every job into a staging folder, each published as soon as it ends.

    Unless ``args.force``, a job whose published set was made from the same inputs is not run:
    the set is kept and marked "cached" (:meth:`ReportFolder.reuse`).
    """
    results: list[Result] = []
    if not args.force:
        reused, reasons = folder.reuse(jobs)
        for result in reused:
            _report_line(result)
        for job in jobs:
            if job.name in reasons:
                print(f"[run] {job.name}: {', '.join(reasons[job.name])}", flush=True)
        results += reused
        done = {r.name for r in reused}
        order = {job.name: i for i, job in enumerate(jobs)}
        rest = run_sets([j for j in jobs if j.name not in done], argparse.Namespace(**{**vars(args), "force": True}),
                        folder, env, progress, client) if len(done) < len(jobs) else []
        if client is not None and len(done) == len(jobs):
            client.close()
        return sorted(results + rest, key=lambda r: order[r.name])
    if client is not None:
        stagings = {job.name: folder.new_staging(job.name) for job in jobs}
        futures = {client.submit(execute, job, stagings[job.name], args.kernel, args.timeout, False, env,
                                 pure=False): job for job in jobs}
        try:
            from dask.distributed import as_completed as dask_completed

            for fut in dask_completed(futures):
                result = fut.result()
                folder.publish(result, stagings.pop(result.name))
                results.append(result)
                _report_line(result)
        finally:
            client.cancel(list(futures))
            for staging in stagings.values():
                folder.discard(staging)
            client.close()
        return results
    workers = Workers(args.jobs)
    pending = list(jobs)
    try:
        while pending or workers.running:
            while pending and workers.has_room():
                job = pending.pop(0)
                staging = folder.new_staging(job.name)
                workers.start("set", (job, staging, args.kernel, args.timeout, progress and args.jobs == 1, env),
                              (job, staging))
            for code, (job, staging) in workers.finished():
                result = _read_result(job, staging, code)
                folder.publish(result, staging)
                results.append(result)
                _report_line(result)
    except BaseException:
        for _, staging in workers.stop_all():
            folder.discard(staging)
        raise
    order = {job.name: i for i, job in enumerate(jobs)}
    return sorted(results, key=lambda r: order[r.name])


def _read_result(job: Job, staging: Path, code: int | None) -> Result:
    try:
        meta = json.loads((staging / "run.json").read_text())
        return Result(**{k: meta[k] for k in Result.__dataclass_fields__ if k in meta})
    except (OSError, ValueError, TypeError):  # the worker died (killed, out of memory)
        partial = staging / f"{job.name}.ipynb"
        for p in staging.iterdir():
            if p.is_file() and p != partial:
                p.unlink()
        result = Result(job.notebook.stem, job.name, job.parameters, "failed", 0.0, finished=_now(),
                        error=f"the worker process ended with exit code {code} before describing its run")
        if partial.exists():  # papermill's last save, as the partial notebook
            partial.rename(staging / f"{job.name}{FAILED}.ipynb")
            result.files = {"notebook": f"{job.name}{FAILED}.ipynb"}
            result.report = f"{RUNS}/{result.set_name}/{result.files['notebook']}"
        atomic_write_text(staging / "run.json", json.dumps(set_metadata(result), indent=2))
        return result


def _report_line(result: Result) -> None:
    where = result.html or result.report or "-"
    if result.cache.get("hit"):
        print(f"[cached] {result.name} (unchanged since its run of {result.duration:.1f}s) {where}", flush=True)
        return
    print(f"[{result.status}] {result.name} ({result.duration:.1f}s) {where}", flush=True)


def run_in_place(jobs: list[Job], args, progress: bool) -> list[Result]:
    """``--in-place``: each notebook re-executed by a worker; replaced only when every cell ran."""
    out_dir = args.output_dir.resolve()
    for stale in args.notebook_dir.glob(".*.running-*"):
        owner = re.search(r"-([0-9]+)\.(ipynb|json)$", stale.name)
        if owner and not _pid_alive(int(owner.group(1))):
            stale.unlink(missing_ok=True)
    workers = Workers(args.jobs)
    pending, results = list(jobs), []
    try:
        while pending or workers.running:
            while pending and workers.has_room():
                job = pending.pop(0)
                tmp = job.notebook.with_name(f".{job.notebook.stem}.running-{len(pending)}-{os.getpid()}.ipynb")
                answer = tmp.with_suffix(".json")
                workers.start("in-place", (job, tmp, out_dir, args.kernel, args.timeout,
                                           progress and args.jobs == 1, answer), (job, tmp, answer))
            for code, (job, tmp, answer) in workers.finished():
                try:
                    result = Result(**json.loads(answer.read_text()))
                except (OSError, ValueError, TypeError):
                    result = Result(job.notebook.stem, job.name, {}, "failed", 0.0,
                                    error=f"the worker process ended with exit code {code}")
                for p in (tmp, answer):
                    p.unlink(missing_ok=True)
                results.append(result)
                _report_line(result)
    except BaseException:
        for _job, tmp, answer in workers.stop_all():
            for p in (tmp, answer):
                p.unlink(missing_ok=True)
        raise
    return results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ci = bool(os.environ.get("CI"))
    progress = sys.stderr.isatty() and not ci
    client = None
    try:
        jobs = prepare(args)
        if args.scheduler and not args.dry_run and not args.in_place:
            client = connect(args.scheduler)  # fails here, with exit 2, when it does not answer
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.in_place:
        for job in jobs:
            try:
                job.inputs = run_inputs(job, args.kernel, args.refresh_data)
            except (OSError, ValueError) as exc:  # unreadable data files: run, and let the notebook say why
                print(f"note: {job.name} cannot be cached: {exc}", file=sys.stderr)
    if args.dry_run:
        for job in jobs:
            why = ["--force"] if args.force else [] if args.in_place else changed_inputs(
                published_meta(args.output_dir, job.name), job.inputs)
            state = "in place" if args.in_place else f"run: {', '.join(why)}" if why else "cached, not run"
            print(f"{job.name}: {json.dumps(job.parameters) if job.parameters else 'defaults'} ({state})")
        print(f"{len(jobs)} run(s) planned; nothing was run (--dry-run)")
        return 0
    out_dir = args.output_dir.resolve()
    env = {"QN_REFRESH_DATA": f"{time.time():.0f}"} if args.refresh_data else {}
    print(f"Running {len(jobs)} notebook(s) into {'notebooks/ (in place)' if args.in_place else out_dir}",
          flush=True)
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if threading.current_thread() is threading.main_thread() else None
    try:
        if args.in_place:
            with _environ(env):
                results = run_in_place(jobs, args, progress)
        else:
            with ReportFolder(out_dir) as folder:
                results = run_sets(jobs, args, folder, env, progress, client)
    except KeyboardInterrupt as exc:
        sig = exc.args[0] if exc.args and isinstance(exc.args[0], int) else signal.SIGINT
        name = signal.Signals(sig).name
        print(f"\ninterrupted ({name}): runs that had not finished were stopped and nothing of them "
              f"was published; earlier reports are unchanged.", file=sys.stderr, flush=True)
        return 128 + int(sig)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(summary_table(results))
    if not args.in_place:
        print(f"Index of every report set: {out_dir / 'index.html'}")
    return 1 if any(r.status != "ok" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
