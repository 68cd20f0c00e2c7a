"""Incremental runs: what a run's result depends on, as hashes, and whether a published set still holds."""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
import sys
from pathlib import Path

from helpers.catalogue import PROJECT_ROOT
from helpers.data import resolve_source
from helpers.files import hash_files
from helpers.run.core import Job
from helpers.run.parameters import default_values
from helpers.source import DataSource

PACKAGE = "helpers"  # the notebooks' helper package, under PROJECT_ROOT
NON_PYTHON = {"helpers.ckernels": ("csrc/**/*",)}  # modules that compile or read other files of it
CONSTRAINTS = PROJECT_ROOT / "constraints.txt"


def notebook_hash(path: Path) -> str:
    """The notebook's source: its cells' types and sources and its kernel (not outputs or metadata),
    so refreshing the stored outputs in place does not make a report stale."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = [(c.get("cell_type"), "".join(c.get("source", "")) if isinstance(c.get("source"), list)
              else c.get("source", "")) for c in nb.get("cells", [])]
    kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name")
    return hashlib.sha256(json.dumps([kernel, cells]).encode()).hexdigest()


def _code(path: Path) -> str:
    """A notebook's code cells as one Python source (IPython's ``%magic`` and ``!shell`` lines blanked)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
             for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    return "\n".join(re.sub(r"(?m)^\s*[%!].*$", "", cell) for cell in cells)


def _module_file(name: str, root: Path) -> Path | None:
    """The file of the dotted module ``name`` under ``root`` (``a/b.py`` or ``a/b/__init__.py``)."""
    base = root.joinpath(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _imported(source: str, module: str) -> set[str] | None:
    """Dotted names that ``source`` (the code of ``module``; "" for a notebook) may import from
    :data:`PACKAGE`, anywhere in it (function bodies too); None when it cannot be parsed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to the importing module's package
                package = module.split(".")[: len(module.split(".")) - node.level]
                base = ".".join([*package, *([node.module] if node.module else [])])
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


@functools.lru_cache(maxsize=512)
def _imports_of(path: Path, module: str, stamp: tuple) -> frozenset[str] | None:
    """:func:`_imported` of a helper file, remembered while its ``stamp`` (mtime, size) holds."""
    found = _imported(path.read_text(encoding="utf-8"), module)
    return None if found is None else frozenset(found)


def helper_files(notebook: Path) -> list[Path]:
    """The helper source a notebook runs: the modules of :data:`PACKAGE` its code cells import,
    and those they import, transitively (read with :mod:`ast`, never executed), with their
    packages' ``__init__.py`` and the non-Python files some read (:data:`NON_PYTHON`).

    A notebook whose code cannot be parsed depends on every helper file.
    """
    root = PROJECT_ROOT
    everything = sorted(p for g in ("**/*.py", *(g for gs in NON_PYTHON.values() for g in gs))
                        for p in (root / PACKAGE).glob(g) if p.is_file() and "__pycache__" not in p.parts)
    todo = _imported(_code(notebook), "")
    if todo is None:
        return everything
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # a module and the packages above it
            dotted = ".".join(parts[:i])
            path = _module_file(dotted, root)
            if path is None or dotted in seen:
                continue
            seen[dotted] = path
            stat = path.stat()
            found = _imports_of(path, dotted if path.name != "__init__.py" else dotted + ".__init__",
                                (stat.st_mtime_ns, stat.st_size))
            if found is None:
                return everything
            todo |= set(found) - set(seen)
    extra = [p for name in seen for g in NON_PYTHON.get(name, ()) for p in (root / PACKAGE).glob(g) if p.is_file()]
    return sorted(set(seen.values()) | set(extra))


def helpers_hash(notebook: Path) -> str:
    """SHA-256 of :func:`helper_files`: an edit of a helper re-runs only the notebooks that import it."""
    return hash_files(helper_files(notebook), PROJECT_ROOT)


def environment_hash(kernel: str) -> str:
    """The pinned environment: constraints.txt, the Python version, the kernel's name."""
    pins = CONSTRAINTS.read_bytes() if CONSTRAINTS.is_file() else b""
    return hashlib.sha256(pins + f"|{sys.version.split()[0]}|{kernel}".encode()).hexdigest()


def effective_source(job: Job) -> str:
    """The data source a job's kernel will load: its parameter, the notebook's default, else
    ``$QN_DATA_SOURCE`` or the simulated market, resolved (a folder made absolute)."""
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
    return DataSource.parse(source).cache_identity()


def run_inputs(job: Job, kernel: str, refresh_data: bool = False) -> dict | None:
    """Hashes of everything a run's result depends on, or None when it must always run.

    ``notebook`` (its source), ``parameters``, ``source`` and ``data`` (:func:`data_identity`),
    ``helpers`` (:func:`helpers_hash`: the helper modules the notebook imports) and ``environment`` (:func:`environment_hash`). Two runs
    with equal inputs give the same report; a change of any one re-runs the notebook.
    """
    source = effective_source(job)
    data = None if refresh_data else data_identity(source)
    if data is None:
        return None
    return {"notebook": notebook_hash(job.notebook),
            "parameters": hashlib.sha256(json.dumps(job.parameters, sort_keys=True, default=str).encode()).hexdigest(),
            "source": source, "data": data, "helpers": helpers_hash(job.notebook), "environment": environment_hash(kernel)}


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



def file_checksums(folder: Path, files: dict) -> dict[str, str]:
    """``{file name: sha256}`` of a set's files (``files`` maps roles to names inside ``folder``)."""
    return {name: hashlib.sha256((Path(folder) / name).read_bytes()).hexdigest() for name in files.values()}


def why_run(meta: dict | None, inputs: dict | None, set_dir: Path) -> list[str]:
    """Why the published set in ``set_dir`` (its run.json ``meta``) cannot stand for a run with
    ``inputs``; empty when it can, and the run is "cached".

    It must have run ok from the same inputs (:func:`changed_inputs`), and every file it lists
    must be there with the sha256 its run recorded: a file edited, replaced or removed since
    (or a set from before checksums were recorded) makes the notebook run again. A real run
    (:meth:`ReportFolder.reuse <helpers.run.folder.ReportFolder.reuse>`) and ``--dry-run`` both
    decide with this function.
    """
    why = changed_inputs(meta, inputs)
    if why:
        return why
    files = list((meta.get("files") or {}).values())
    missing = [f for f in files if not (Path(set_dir) / f).is_file()]
    if missing:
        return [f"files of the earlier report are missing ({', '.join(missing)})"]
    recorded = meta.get("checksums") or {}
    if any(f not in recorded for f in files):
        return ["the earlier report has no checksums of its files (made by an older runner)"]
    actual = file_checksums(set_dir, {f: f for f in files})
    edited = [f for f in files if actual[f] != recorded[f]]
    if edited:
        return [f"files of the earlier report changed after its run ({', '.join(edited)})"]
    return []
