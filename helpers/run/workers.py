"""Worker processes: one notebook each, stopped cleanly (with their kernels) on a signal."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import wait as wait_for

import psutil  # a dependency of ipykernel

STOP_GRACE = 15          # seconds a stopped worker gets before it is killed
MEMORY_PER_KERNEL = 3 * 2**30  # bytes one notebook's kernel may take (the LSTM grid of 02 is the largest)


def default_jobs(runs: int, cores: int | None = None, available: int | None = None) -> int:
    """How many notebooks to run at once: ``min(cores, runs, available memory / MEMORY_PER_KERNEL)``, >= 1.

    ``cores`` defaults to the CPUs this process may use, ``available`` to the memory free now (bytes).
    Each kernel computes on one thread (:data:`helpers.run.execute.KERNEL_THREADS`), so one per core.
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if available is None:
        available = psutil.virtual_memory().available
    return max(1, min(cores, runs, available // MEMORY_PER_KERNEL))

_PARENT_PID: int | None = None  # set in a worker: the runner that started it


def child_signals() -> None:
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


def _worker(target, args: tuple, parent: int, delay: float) -> None:
    """Body of a worker process: ``target(*args)`` (one notebook) after ``delay`` seconds, then exit
    without tracebacks on signals."""
    global _PARENT_PID
    _PARENT_PID = parent
    os.setpgrp()  # Ctrl-C in a terminal reaches the runner only; it stops the workers itself
    child_signals()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    code = 0
    try:
        time.sleep(delay)  # staggered kernel starts: papermill's ports clash when started together
        target(*args)
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

    def start(self, target, args: tuple, payload) -> None:
        """``target(*args)`` in a new worker process; ``payload`` comes back from :meth:`finished`."""
        delay = max(0.0, self.last_start + self.stagger - time.monotonic()) if self.running else 0.0
        self.last_start = time.monotonic() + delay
        proc = _mp_context().Process(target=_worker, args=(target, args, os.getpid(), delay), daemon=False)
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
    with contextlib.suppress(psutil.Error):  # the process already gone
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    if include_root:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

