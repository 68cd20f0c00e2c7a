"""The output folder: report sets published atomically, the index, and the locks runners share."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from helpers.dashboard import index_html
from helpers.files import atomic_write_text
from helpers.run.cache import why_run
from helpers.run.core import FAILED, RUNS, Job, Result, UsageError, environment, now, pid_alive


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


def check_writable(root: Path) -> None:
    """UsageError naming the output folder ``root`` when it cannot be created or written.

    Probed by making (and at once removing) a hidden folder in ``root`` and in its ``runs/``
    when they exist, else in the nearest folder above that exists, where ``root`` would be
    created: a read-only mount, a folder without write permission or a place like ``/sys``.
    """
    root = Path(root).absolute()
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--output-dir {root}: {existing} is not a folder")
    probes = [existing, *([root / RUNS] if existing == root and (root / RUNS).is_dir() else [])]
    for folder in probes:
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".write-probe-", dir=folder))
        except OSError as exc:
            action = "write in" if existing == root else "create it in"
            raise UsageError(f"--output-dir {root}: cannot {action} {folder} ({exc.strerror or exc}); "
                             f"choose a folder you can write") from exc


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
            dead = bool(owner) and owner.group(1) == self.host and not pid_alive(int(owner.group(2)))
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

        A set is reused when :func:`~helpers.run.cache.why_run` finds no reason to run: it ran ok
        from the same inputs and every file it lists is there, unchanged (sha256). Its run.json
        gets ``cache: {"hit": true, "checked": ...}`` (the index shows "cached"), a stale failed
        set of the same name is removed, and the index is rebuilt once.
        """
        reused, reasons = [], {}
        with self.publishing():
            for job in jobs:
                link = self.runs / job.name
                meta = published_meta(self.root, job.name)
                why = why_run(meta, job.inputs, link)
                if why:
                    reasons[job.name] = why
                    continue
                meta["cache"] = {"hit": True, "checked": now()}
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

