"""Mutation session: each rule the project promises, broken on purpose, must turn a test red.

Every ``tests/mutants/*.toml`` file lists mutants::

    [[mutant]]
    name = "engine: same-day return"             # one line, printed
    rule = "a decision at t earns from t+1"      # the promise it breaks
    file = "helpers/backtest.py"                  # path from the project root
    find = "R = r.fillna(0.0).to_numpy()"         # exact text, found exactly once
    replace = "R = np.roll(r.fillna(0.0).to_numpy(), -1, axis=0)"
    tests = ["tests/test_backtest.py"]            # pytest arguments that must fail

Each mutant is applied to a copy of the project (tracked and untracked, not ignored files), its
tests run there (the copy's ``helpers`` is imported, not the installed one), and it is *killed*
when they fail. The un-mutated copy must pass the same tests first. Prints one line per mutant
and ends with ``mutants killed: K of N``; exits 1 unless every mutant dies.

How it stays fast (``--jobs`` mutants at once, default one per core):

* one copy of the project per job, made once; a mutant is written into it and undone after;
* one baseline run per distinct ``tests`` list, which also records (with coverage) which tests
  execute each mutant's lines and how long each test takes; a mutant's run puts those tests
  first, quickest first, and ``-x`` stops at the first failure, so a killed mutant usually costs
  one pytest start-up and a few tests (the same tests run as without the ordering, so a
  survivor is still a survivor);
* pytest without plugin autoloading (nbval's import alone costs a second per start) and without
  its cache.

Usage: ``python tests/run_mutants.py [-k SUBSTRING] [--jobs N]`` (``nox -s mutants``).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANT_DIR = ROOT / "tests" / "mutants"
TIMEOUT = 900  # seconds for one mutant's tests: a hang counts as survived, with a note
PLUGIN = "qn_mutants_plugin"

# A pytest plugin, written to a temporary folder on the copies' PYTHONPATH (after the copy).
# QN_MUTANT_COVER: record, per test, which of the given lines it executes, and its seconds (the baseline).
# QN_MUTANT_FIRST: run these test ids first, the rest after in their usual order (a mutant).
PLUGIN_SOURCE = '''
import json
import os

import pytest

_FIRST = json.loads(os.environ.get("QN_MUTANT_FIRST") or "[]")
_COVER = json.loads(os.environ.get("QN_MUTANT_COVER") or "null")


def pytest_collection_modifyitems(session, config, items):
    if _FIRST:
        rank = {nodeid: i for i, nodeid in enumerate(_FIRST)}
        items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: the rest keep their order


if _COVER:
    import coverage

    _cov = coverage.Coverage(data_file=None, config_file=False, include=[os.path.abspath(f) for f in _COVER["lines"]])
    _cov.start()

    _seconds = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        _cov.switch_context(item.nodeid)
        yield

    def pytest_runtest_logreport(report):
        _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(session, exitstatus):
        _cov.stop()
        data = _cov.get_data()
        out = {}
        for name, lines in _COVER["lines"].items():
            by_line = data.contexts_by_lineno(os.path.abspath(name))
            out[name] = {str(n): sorted(c for c in by_line.get(n, []) if c) for n in lines}
        with open(_COVER["out"], "w") as fh:
            json.dump({"lines": out, "seconds": _seconds}, fh)
'''


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


def mutated_lines(mutant: Mutant, text: str) -> list[int]:
    """The 1-based line numbers the mutant's ``find`` text spans in ``text``."""
    start = text[:text.index(mutant.find)].count("\n") + 1
    return list(range(start, start + mutant.find.rstrip("\n").count("\n") + 1))


def apply(mutant: Mutant, root: Path) -> str:
    """Write the mutant into the copy at ``root``; returns the file's original text."""
    path = root / mutant.file
    text = path.read_text()
    count = text.count(mutant.find)
    if count != 1:
        raise ValueError(f"mutant {mutant.name!r}: the text to replace occurs {count} times in {mutant.file} "
                         "(must be exactly once; update tests/mutants/" + mutant.source + ")")
    path.write_text(text.replace(mutant.find, mutant.replace))
    return text


def run_tests(root: Path, plugin_dir: Path, tests: tuple[str, ...], first: list[str] | None = None,
              cover: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{plugin_dir}", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", QN_MUTANT_FIRST=json.dumps(first or []),
               QN_MUTANT_COVER=json.dumps(cover) if cover else "")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", PLUGIN,
           "-m", "not integration", *tests]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def check_imports_copy(root: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(root))
    where = subprocess.run([sys.executable, "-c", "import helpers; print(helpers.__file__)"], cwd=root,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"the copy imports helpers from {where}, not from the copy: mutants would be invisible")


def last_line(res: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (res.stdout + res.stderr).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit {res.returncode}"


class Copies:
    """``n`` copies of the project, each lent to one trial at a time."""

    def __init__(self, n: int, files: list[str], tmp: Path):
        self.plugin_dir = tmp / "plugin"
        self.plugin_dir.mkdir()
        (self.plugin_dir / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE)
        self.free: queue.Queue[Path] = queue.Queue()
        for i in range(n):
            copy_project(tmp / f"copy{i}", files)
            self.free.put(tmp / f"copy{i}")

    def baseline(self, tests: tuple[str, ...], lines: dict[str, list[int]]) -> tuple[bool, str, dict]:
        """(tests failed, last output line, record) without a mutant; the record has ``lines``
        ({file: {line: [test ids executing it]}}) and ``seconds`` (each test's duration)."""
        root = self.free.get()
        try:
            out = root / ".qn-cover.json"
            try:
                res = run_tests(root, self.plugin_dir, tests, cover={"lines": lines, "out": str(out)})
            except subprocess.TimeoutExpired:
                return True, f"tests timed out after {TIMEOUT} s", {"lines": {}, "seconds": {}}
            covered = json.loads(out.read_text()) if out.exists() else {"lines": {}, "seconds": {}}
            out.unlink(missing_ok=True)
            return res.returncode != 0, last_line(res), covered
        finally:
            self.free.put(root)

    def trial(self, mutant: Mutant, first: list[str]) -> tuple[bool, str]:
        """(tests failed, last line of their output) with the mutant written into a copy."""
        root = self.free.get()
        original = apply(mutant, root)
        try:
            res = run_tests(root, self.plugin_dir, mutant.tests, first=first)
            return res.returncode != 0, last_line(res)
        except subprocess.TimeoutExpired:
            return False, f"tests timed out after {TIMEOUT} s"
        finally:
            (root / mutant.file).write_text(original)
            self.free.put(root)


def main(argv: list[str] | None = None) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default="", help="only mutants whose name contains this text")
    ap.add_argument("--jobs", type=int, default=cores, help=f"mutants tested at once (default: the cores, {cores})")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1; got {args.jobs}")
    mutants = [m for m in load_mutants() if args.k.lower() in m.name.lower()]
    if not mutants:
        print("no mutant matches", file=sys.stderr)
        return 2
    lines = {}
    for m in mutants:  # a stale mutant is an error before anything runs
        text = (ROOT / m.file).read_text()
        if text.count(m.find) != 1:
            print(f"STALE   {m.name}: its text occurs {text.count(m.find)} times in {m.file} ({m.source})")
            return 2
        lines[m] = mutated_lines(m, text)
    started = time.monotonic()
    files = project_files()
    suites = sorted({m.tests for m in mutants})
    jobs = min(args.jobs, len(mutants))
    with tempfile.TemporaryDirectory(prefix="qn-mutants-") as tmp, ThreadPoolExecutor(jobs) as pool:
        copies = Copies(jobs, files, Path(tmp))
        check_imports_copy(Path(tmp) / "copy0")
        # The same tests must pass without the mutant, or a "kill" proves nothing.
        targets = {s: {} for s in suites}
        for m in mutants:
            targets[m.tests].setdefault(m.file, set()).update(lines[m])
        baseline = dict(zip(suites, pool.map(
            lambda s: copies.baseline(s, {f: sorted(ls) for f, ls in targets[s].items()}), suites)))
        broken = [s for s, (failed, _, _) in baseline.items() if failed]
        for s in broken:
            print(f"BASELINE FAILS  {' '.join(s)}: {baseline[s][1]}")
        if broken:
            return 1
        print(f"baseline: {len(suites)} test sets pass ({time.monotonic() - started:.0f} s); "
              f"{len(mutants)} mutants on {jobs} job(s)", flush=True)

        def covering(m: Mutant) -> list[str]:
            """The tests that execute the mutant's lines, quickest first."""
            record = baseline[m.tests][2]
            by_line = record["lines"].get(m.file, {})
            ids = {t for n in lines[m] for t in by_line.get(str(n), [])}
            return sorted(ids, key=lambda t: (record["seconds"].get(t, float("inf")), t))

        killed = 0
        for m, (failed, last) in zip(mutants, pool.map(lambda m: copies.trial(m, covering(m)), mutants)):
            killed += failed
            status = "killed  " if failed else "SURVIVED"
            print(f"{status} {m.name} [{m.rule}] -- {last}", flush=True)
    print(f"mutants killed: {killed} of {len(mutants)}")
    return 0 if killed == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
