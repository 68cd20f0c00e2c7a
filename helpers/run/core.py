"""What every part of the runner shares: where things are, a job, its result, bad input."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib.metadata as md
import os
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from helpers.catalogue import PROJECT_ROOT

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORT_DIR = PROJECT_ROOT / "reports"
DEFAULT_TIMEOUT = 1200  # seconds per cell
RUNS = "runs"            # reports/runs/<set> -> .store/<set>~<run id>
FAILED = ".failed"       # suffix of a failed run's set


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
    checksums: dict = field(default_factory=dict)  # file name -> sha256 of every file in ``files``

    @property
    def set_name(self) -> str:
        return self.name if self.status == "ok" else self.name + FAILED


def now() -> str:
    """The local time with its UTC offset, to the second (ISO 8601)."""
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.lru_cache(maxsize=1)
def _environment() -> tuple:
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


def set_metadata(result: Result) -> dict:
    """What run.json says about a set: the Result, where it is, and what produced it."""
    return {**asdict(result), "set": result.set_name, "path": f"{RUNS}/{result.set_name}",
            "environment": environment(), "host": socket.gethostname(), "pid": os.getpid()}
