"""The main job's times, measured in one run: first run vs repeat, serial vs parallel.

    python benchmarks/bench_main_job.py                  # every notebook, --jobs = the cores
    python benchmarks/bench_main_job.py --only 01 03 --jobs 2

Copies the project's helpers, catalogue, pins and the chosen notebooks into a temporary folder
(``PYTHONPATH`` points the runner and its kernels at the copy, so edits made to this checkout
meanwhile change nothing) and runs ``python -m helpers.run`` there three times, each into its own
output folder under the copy:

1. parallel (``--jobs N``, default the cores) from scratch,
2. the same again with nothing changed (every set must be *cached*),
3. serial (``--jobs 1``) from scratch into a second folder; its recorded results must equal the
   parallel run's. It runs last, on warm caches (compiled C kernels, bytecode), so the speed-up
   printed is if anything understated.

Prints the wall seconds of each, the ratios repeat / first and serial / parallel, the machine
and the load average during each run (other jobs inflate wall times; ratios measured in one run
are steadier). The README's time claims come from this script. Exits 1 when a run fails, the
repeat re-runs something, or the parallel results differ.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def copy_project(dest: Path, only: list[str] | None) -> list[str]:
    """helpers/, data/*.csv, constraints.txt and the chosen notebooks under ``dest``; their stems."""
    shutil.copytree(ROOT / "helpers", dest / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "data").mkdir()
    for p in (ROOT / "data").glob("*.csv"):
        shutil.copy2(p, dest / "data" / p.name)
    shutil.copy2(ROOT / "constraints.txt", dest / "constraints.txt")
    (dest / "notebooks").mkdir()
    chosen = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if not only or p.name[:2] in only]
    for p in chosen:
        shutil.copy2(p, dest / "notebooks" / p.name)
    return [p.stem for p in chosen]


def main_job(project: Path, out: str, jobs: int) -> dict:
    """One main job in the copy: wall seconds, the sets run and cached, the load average."""
    env = {k: v for k, v in os.environ.items() if k not in ("QN_DATA_SOURCE", "CI")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(project))
    load0 = os.getloadavg()[0]
    clock = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "helpers.run", "--output-dir", out, "--jobs", str(jobs)],
                          cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - clock
    if done.returncode != 0:
        sys.exit(f"main job failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {"wall": wall, "ran": re.findall(r"^\[ok\] (\S+)", done.stdout, re.M),
            "cached": re.findall(r"^\[cached\] (\S+)", done.stdout, re.M),
            "load": (load0 + os.getloadavg()[0]) / 2}


def recorded(folder: Path) -> dict[str, object]:
    """Each set's recorded results (``runs/<name>/<name>.json``), by set name."""
    out = {}
    for path in sorted(folder.glob("runs/*/*.json")):
        if path.name != "run.json" and path.stem == path.parent.name:
            out[path.stem] = json.loads(path.read_text())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", help="notebooks by number (default: all)")
    ap.add_argument("--jobs", type=int, default=cores(), help="notebooks at once in the parallel run "
                    f"(default: the cores, {cores()})")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-main-job-"))
    try:
        stems = copy_project(tmp, args.only)
        parallel = main_job(tmp, "out-parallel", args.jobs)
        repeat = main_job(tmp, "out-parallel", args.jobs)
        serial = main_job(tmp, "out-serial", 1)
        same = recorded(tmp / "out-serial") == recorded(tmp / "out-parallel")
        print(f"machine: {platform.machine()}, {cores()} cores, Python {platform.python_version()}; "
              f"notebooks: {' '.join(stems)} (simulated market, one BLAS thread per kernel)")
        print(f"{'run':<40}{'wall s':>8}{'load':>6}  ran / cached")
        for label, r in ((f"1. parallel (--jobs {args.jobs}), from scratch", parallel),
                         ("2. repeat, nothing changed", repeat), ("3. serial (--jobs 1), from scratch", serial)):
            print(f"{label:<40}{r['wall']:8.1f}{r['load']:6.1f}  {len(r['ran'])} / {len(r['cached'])}")
        print(f"repeat / first: {repeat['wall'] / parallel['wall']:.3f} of the wall time "
              f"({repeat['wall']:.1f} s vs {parallel['wall']:.1f} s)")
        print(f"serial / parallel: {serial['wall'] / parallel['wall']:.2f}x faster with --jobs {args.jobs} "
              f"({parallel['wall']:.1f} s vs {serial['wall']:.1f} s)")
        print(f"parallel results equal the serial ones: {'yes' if same else 'NO'}")
        problems = []
        if sorted(serial["ran"]) != sorted(stems) or sorted(parallel["ran"]) != sorted(stems):
            problems.append(f"runs ran {serial['ran']} and {parallel['ran']}, expected {stems}")
        if repeat["ran"] or sorted(repeat["cached"]) != sorted(stems):
            problems.append(f"the repeat ran {repeat['ran']} (cached {repeat['cached']})")
        if not same:
            problems.append("the parallel run recorded different results from the serial run")
        for p in problems:
            print(f"BROKEN: {p}")
        return 1 if problems else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
