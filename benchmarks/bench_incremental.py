"""Incremental main job: a repeat run with nothing changed, and one with one notebook touched.

    python benchmarks/bench_incremental.py                 # notebooks 01 03 05, simulated market
    python benchmarks/bench_incremental.py --only 03 05

Copies the project's helpers, catalogue, pins and the chosen notebooks into a temporary folder and
runs ``python -m helpers.run`` there (``PYTHONPATH`` points the runner and its kernels at the copy,
so edits others make to this checkout meanwhile cannot change the helper hash, and touching a
notebook edits only the copy), three times: (1) from scratch, (2) again
with nothing changed, which must take under 10% of (1)'s time, every run "cached", and (3) after a
source edit to one notebook, which must re-run exactly that notebook. Prints the times and ratios;
exits 1 when a promise is broken.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_project(dest: Path, only: list[str]) -> list[Path]:
    """helpers/, data/*.csv, constraints.txt and the chosen notebooks under ``dest``; the notebooks."""
    shutil.copytree(ROOT / "helpers", dest / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "data").mkdir()
    for p in (ROOT / "data").glob("*.csv"):
        shutil.copy2(p, dest / "data" / p.name)
    shutil.copy2(ROOT / "constraints.txt", dest / "constraints.txt")
    (dest / "notebooks").mkdir()
    chosen = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if p.name[:2] in only]
    for p in chosen:
        shutil.copy2(p, dest / "notebooks" / p.name)
    return [dest / "notebooks" / p.name for p in chosen]


def main_job(project: Path, only: list[str]) -> tuple[float, list[str], list[str], str]:
    """Run the main job in the copied project; (seconds, sets run, sets cached, output)."""
    env = {k: v for k, v in os.environ.items() if k not in ("QN_DATA_SOURCE", "CI")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(project))
    clock = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "helpers.run", "--only", *only], cwd=project, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - clock
    if done.returncode != 0:
        sys.exit(f"main job failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    ran = re.findall(r"^\[ok\] (\S+)", done.stdout, re.M)
    cached = re.findall(r"^\[cached\] (\S+)", done.stdout, re.M)
    return seconds, ran, cached, done.stdout


def touch(notebook: Path) -> None:
    """A source edit: a comment appended to the last code cell."""
    nb = json.loads(notebook.read_text())
    cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = src + "\n# touched by bench_incremental"
    notebook.write_text(json.dumps(nb, indent=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", default=["01", "03", "05"], help="notebooks by number")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    try:
        chosen = copy_project(tmp, args.only)
        stems = [p.stem for p in chosen]
        first, ran1, _, _ = main_job(tmp, args.only)
        second, ran2, cached2, log2 = main_job(tmp, args.only)
        touch(chosen[-1])
        third, ran3, cached3, log3 = main_job(tmp, args.only)
        ratio = second / first
        print(f"notebooks: {' '.join(stems)} (simulated market, one BLAS thread)")
        print(f"{'run':<44}{'seconds':>9}{'ratio':>8}  ran / cached")
        print(f"{'1. from scratch':<44}{first:9.1f}{1:8.3f}  {len(ran1)} / 0")
        print(f"{'2. again, nothing changed':<44}{second:9.1f}{ratio:8.3f}  {len(ran2)} / {len(cached2)}")
        print(f"{'3. ' + chosen[-1].stem + ' touched':<44}{third:9.1f}{third / first:8.3f}  "
              f"{len(ran3)} / {len(cached3)}  (re-ran: {', '.join(ran3) or 'none'})")
        problems = []
        if sorted(ran1) != sorted(stems):
            problems.append(f"the first run ran {ran1}, expected {stems}")
        if ran2 or sorted(cached2) != sorted(stems):
            problems.append(f"the repeat ran {ran2} (cached {cached2})")
        if ratio >= 0.10:
            problems.append(f"the repeat took {ratio:.1%} of the first run (promise: under 10%)")
        if ran3 != [chosen[-1].stem] or sorted(cached3) != sorted(stems[:-1]):
            problems.append(f"after touching {chosen[-1].stem} it ran {ran3} (cached {cached3})")
        for p in problems:
            print(f"BROKEN: {p}")
        if problems:
            print("why runs ran:", *re.findall(r"^\[run\] .*$", log2 + log3, re.M), sep="\n  ")
        if not problems:
            print(f"ok: a repeat takes {ratio:.1%} of the first run; touching one notebook re-runs only it")
        return 1 if problems else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
