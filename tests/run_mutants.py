"""Mutation session: each rule the project promises, broken on purpose, must turn a test red.

Every ``tests/mutants/*.toml`` file lists mutants::

    [[mutant]]
    name = "engine: same-day return"             # one line, printed
    rule = "a decision at t earns from t+1"      # the promise it breaks
    file = "helpers/backtest.py"                  # path from the project root
    find = "R = r.fillna(0.0).to_numpy()"         # exact text, found exactly once
    replace = "R = np.roll(r.fillna(0.0).to_numpy(), -1, axis=0)"
    tests = ["tests/test_backtest.py"]            # pytest arguments that must fail

Each mutant is applied to a fresh copy of the project (tracked and untracked, not ignored
files), its tests run there (the copy's ``helpers`` is imported, not the installed one), and
it is *killed* when they fail. The un-mutated copy must pass the same tests first. Prints one
line per mutant and ends with ``mutants killed: K of N``; exits 1 unless every mutant dies.

Usage: ``python tests/run_mutants.py [-k SUBSTRING] [--jobs 2]`` (``nox -s mutants``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANT_DIR = ROOT / "tests" / "mutants"
TIMEOUT = 900  # seconds for one mutant's tests: a hang counts as survived, with a note


@dataclass(frozen=True)
class Mutant:
    name: str
    rule: str
    file: str
    find: str
    replace: str
    tests: tuple[str, ...]
    source: str


def load_mutants(directory: Path = MUTANT_DIR) -> list[Mutant]:
    """Every mutant of every ``*.toml`` in ``directory``, checked for the fields it needs."""
    out = []
    for path in sorted(directory.glob("*.toml")):
        for i, entry in enumerate(tomllib.loads(path.read_text()).get("mutant", [])):
            missing = {"name", "rule", "file", "find", "replace", "tests"} - entry.keys()
            if missing:
                raise SystemExit(f"{path.name}: mutant {i + 1} lacks {sorted(missing)}")
            out.append(Mutant(entry["name"], entry["rule"], entry["file"], entry["find"], entry["replace"],
                              tuple(entry["tests"]), path.name))
    names = [m.name for m in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"duplicate mutant names: {sorted(dupes)}")
    return out


def project_files() -> list[str]:
    """Files git tracks or would track (untracked, not ignored), relative to the root."""
    res = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    # hidden files under notebooks/ and reports/ are other runs' temporaries, not the project
    return [f for f in res.stdout.splitlines() if (ROOT / f).is_file() and not Path(f).name.startswith(".")]


def copy_project(dest: Path, files: list[str]) -> None:
    for f in files:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(ROOT / f, target)
        except FileNotFoundError:  # removed since it was listed (a run's temporary file)
            continue


def apply(mutant: Mutant, root: Path) -> None:
    path = root / mutant.file
    text = path.read_text()
    count = text.count(mutant.find)
    if count != 1:
        raise ValueError(f"mutant {mutant.name!r}: the text to replace occurs {count} times in {mutant.file} "
                         "(must be exactly once; update tests/mutants/" + mutant.source + ")")
    path.write_text(text.replace(mutant.find, mutant.replace))


def run_tests(root: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not integration",
           *tests]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def check_imports_copy(root: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(root))
    where = subprocess.run([sys.executable, "-c", "import helpers; print(helpers.__file__)"], cwd=root,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"the copy imports helpers from {where}, not from the copy: mutants would be invisible")


def trial(mutant: Mutant, files: list[str], mutate: bool) -> tuple[bool, str]:
    """(tests failed, last line of their output) for the project copy, mutated or not."""
    with tempfile.TemporaryDirectory(prefix="qn-mutant-") as tmp:
        root = Path(tmp)
        copy_project(root, files)
        if mutate:
            apply(mutant, root)
        try:
            res = run_tests(root, mutant.tests)
        except subprocess.TimeoutExpired:
            return False, f"tests timed out after {TIMEOUT} s"
        lines = [ln for ln in (res.stdout + res.stderr).strip().splitlines() if ln.strip()]
        return res.returncode != 0, lines[-1] if lines else f"exit {res.returncode}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default="", help="only mutants whose name contains this text")
    ap.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    args = ap.parse_args(argv)
    mutants = [m for m in load_mutants() if args.k.lower() in m.name.lower()]
    if not mutants:
        print("no mutant matches", file=sys.stderr)
        return 2
    files = project_files()
    with tempfile.TemporaryDirectory(prefix="qn-mutant-") as tmp:
        copy_project(Path(tmp), files)
        check_imports_copy(Path(tmp))
    for m in mutants:  # a stale mutant is an error before anything runs
        text = (ROOT / m.file).read_text()
        if text.count(m.find) != 1:
            print(f"STALE   {m.name}: its text occurs {text.count(m.find)} times in {m.file} ({m.source})")
            return 2
    # The same tests must pass without the mutant, or a "kill" proves nothing.
    suites = sorted({m.tests for m in mutants})
    with ThreadPoolExecutor(args.jobs) as pool:
        baseline = dict(zip(suites, pool.map(lambda s: trial(Mutant("", "", "", "", "", s, ""), files, False),
                                             suites)))
    broken = [s for s, (failed, _) in baseline.items() if failed]
    for s in broken:
        print(f"BASELINE FAILS  {' '.join(s)}: {baseline[s][1]}")
    if broken:
        return 1
    killed = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        for m, (failed, last) in zip(mutants, pool.map(lambda m: trial(m, files, True), mutants)):
            killed += failed
            status = "killed  " if failed else "SURVIVED"
            print(f"{status} {m.name} [{m.rule}] -- {last}", flush=True)
    print(f"mutants killed: {killed} of {len(mutants)}")
    return 0 if killed == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
