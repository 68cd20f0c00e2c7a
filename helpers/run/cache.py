"""Incremental runs: what a run's result depends on, as hashes, and whether a published set still holds."""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path

from helpers.catalogue import PROJECT_ROOT
from helpers.data import DATA_DIR, cache_dir, resolve_source
from helpers.run.core import Job
from helpers.run.parameters import default_values

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

