"""Project sessions: ``nox -s tests`` (the guard), ``nox -s reports`` (the main job), and
``findings``, ``mutants``, ``lint``, ``lab``, ``refresh``. Arguments after ``--`` pass through, e.g.
``nox -s reports -- --data-source yfinance`` or ``nox -s tests -- -k metrics``.

Every session except ``lint`` runs in ONE environment, ``.venv`` beside this file: the project,
editable, with every version pinned by ``constraints.txt``, and its Jupyter kernel
"quant-notebooks". The first session builds it (pip's output shows its progress); later sessions
reuse it without running pip, until ``pyproject.toml``, ``constraints.txt`` or the Python version
change (a fingerprint of them is stored in ``.venv/quant-notebooks.stamp``). ``rm -rf .venv``
rebuilds it from scratch. Pip, not uv, installs it: pip.conf's find-links (e.g. a local CPU
torch wheel) apply.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"  # sessions run in .venv, managed below
nox.options.reuse_venv = "yes"  # lint's own small environment
nox.options.sessions = ["tests"]

ROOT = Path(__file__).resolve().parent
ENV = ROOT / ".venv"
BIN = ENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = "3.11"
EXTRAS = "test,dask,browser"
KERNEL = "quant-notebooks"
KERNEL_DISPLAY = "Python (quant-notebooks)"


class _NoUvNote(logging.Filter):
    """nox looks for uv at every start and says when it is absent; no session here uses uv."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "uv binary not found."


logging.getLogger("nox").addFilter(_NoUvNote())


def fingerprint(python_version: str) -> str:
    """What the installed environment depends on: the two dependency files, the extras, the kernel,
    the Python version and where the project is (the editable install points at it)."""
    h = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        h.update((ROOT / name).read_bytes())
    h.update(f"|{EXTRAS}|{KERNEL}|{KERNEL_DISPLAY}|{python_version}|{ROOT}".encode())
    return h.hexdigest()


def _python_version(python: Path | str) -> str | None:
    """``sys.version`` of an interpreter, or None when it does not run."""
    try:
        res = subprocess.run([str(python), "-c", "import sys; print(sys.version)"], capture_output=True,
                             text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def _base_python(session: nox.Session) -> str:
    """The Python 3.11 that builds .venv: ``python3.11`` on PATH, else the one running nox."""
    for candidate in (shutil.which(f"python{PYTHON}"), sys.executable):
        version = candidate and _python_version(candidate)
        if version and version.startswith(PYTHON + "."):
            return candidate
    session.error(f"Python {PYTHON} is needed (torch 2.13.0 CPU and the pins of constraints.txt are for it): "
                  f"no python{PYTHON} on PATH and nox runs on {sys.version.split()[0]}.")


@contextlib.contextmanager
def _lock():
    """One session at a time builds .venv (two terminals starting sessions at once)."""
    ROOT.joinpath(".nox").mkdir(exist_ok=True)
    with open(ROOT / ".nox" / "venv.lock", "w") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: no lock
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def environment(session: nox.Session) -> dict[str, str]:
    """Build .venv when missing or stale, else reuse it as it is; return the variables to run in it.

    One BLAS thread, so results do not depend on the machine.
    """
    python, stamp = BIN / "python", ENV / "quant-notebooks.stamp"
    with _lock():
        version = _python_version(python) if python.exists() else None
        if version is None or not stamp.exists() or stamp.read_text().strip() != fingerprint(version):
            if version is None or not version.startswith(PYTHON + "."):
                session.log(f"Creating the project environment {ENV} (once; every session reuses it)")
                session.run(_base_python(session), "-m", "venv", "--clear", str(ENV), external=True)
                version = _python_version(python)
                # pip >= 25.1 shows a progress bar while it installs, not only while it downloads
                session.run(str(python), "-m", "pip", "install", "--disable-pip-version-check", "--upgrade",
                            "pip>=25.1", external=True)
            stamp.unlink(missing_ok=True)  # a failed or interrupted install is retried next time
            session.log("Installing the project with the versions pinned by constraints.txt into .venv "
                        "(minutes the first time; torch alone is a large download)")
            session.run(str(python), "-m", "pip", "install", "--disable-pip-version-check", "-c",
                        "constraints.txt", "-e", f".[{EXTRAS}]", external=True)
            # A named kernel that runs this environment's Python, for JupyterLab and papermill.
            session.run(str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
                        "--display-name", KERNEL_DISPLAY, external=True, silent=True)
            stamp.write_text(fingerprint(version) + "\n")
        else:
            session.log(f"Reusing the project environment {ENV} (pyproject.toml, constraints.txt, Python unchanged)")
    return {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(ENV),
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def python(session: nox.Session, *args: str, env: dict[str, str]) -> None:
    """``python ARGS`` with .venv's interpreter."""
    session.run(str(BIN / "python"), *args, env=env, external=True)


def ensure_chromium(session: nox.Session) -> None:
    """Debian's chromium and chromedriver for the browser test, installed when missing."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        session.warn("chromium/chromedriver missing and cannot be installed here: the browser test will skip")
        return
    session.run("apt-get", "update", "-qq", external=True, silent=True)
    session.run("apt-get", "install", "-y", "-qq", "chromium", "chromium-driver", external=True, silent=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests, nbval over notebooks/, then integration tests (runner, JupyterLab, browser).

    With arguments, only ``pytest tests <args>`` runs (e.g. ``nox -s tests -- -k metrics``).
    """
    env = environment(session)
    if session.posargs:
        python(session, "-m", "pytest", "tests", *session.posargs, env=env)
        return
    python(session, "-m", "pytest", "tests", "-m", "not integration", env=env)
    python(session, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
           "tests/nbval_sanitize.cfg", "--nbval-cell-timeout", "900", "-p", "no:cacheprovider", "notebooks",
           env=env)
    ensure_chromium(session)
    python(session, "-m", "pytest", "tests", "-m", "integration", env=env)


@nox.session
def reports(session: nox.Session) -> None:
    """The main job: run every notebook with papermill into reports/ (HTML + index)."""
    python(session, "-m", "helpers.run", *session.posargs, env=environment(session))


@nox.session
def refresh(session: nox.Session) -> None:
    """Re-execute the committed notebooks in place with their default parameters."""
    python(session, "-m", "helpers.run", "--in-place", *session.posargs, env=environment(session))


@nox.session
def findings(session: nox.Session) -> None:
    """The main job on real prices into reports/real, then the README's Findings block rewritten.

    ``nox -s findings`` uses ../shared/market-data; ``-- --data-source DIR`` another folder;
    ``-- --check`` compares instead of writing and fails, naming what changed, when the README is stale.
    reports/real is emptied first, so the block is made only of this run's sets.
    """
    env = environment(session)
    args = list(session.posargs)
    check = ["--check"] if "--check" in args else []
    args = [a for a in args if a != "--check"]
    if "--data-source" not in args:
        args += ["--data-source", os.path.join("..", "shared", "market-data")]
    out = os.path.join("reports", "real")
    shutil.rmtree(out, ignore_errors=True)  # a fresh folder: no set of an earlier run can leak in
    python(session, "-m", "helpers.run", "--output-dir", out, *args, env=env)
    python(session, "-m", "helpers.findings", out, *check, env=env)


@nox.session
def mutants(session: nox.Session) -> None:
    """Break each promised rule on purpose (tests/mutants/*.toml) and check a test goes red.

    Ends with ``mutants killed: K of N``; ``nox -s mutants -- -k engine`` runs a subset.
    """
    python(session, "tests/run_mutants.py", *session.posargs, env=environment(session))


@nox.session(python=PYTHON, venv_backend="venv")
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, benchmarks and notebooks (its own small environment)."""
    session.install("-c", "constraints.txt", "ruff")
    session.run("ruff", "check", "helpers", "tests", "benchmarks", "data", "noxfile.py", *session.posargs)


@nox.session
def lab(session: nox.Session) -> None:
    """JupyterLab in the project environment, with the 'quant-notebooks' kernel registered."""
    env = environment(session)
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers run as root
    python(session, "-m", "jupyterlab", "--notebook-dir", str(ROOT / "notebooks"), *root, *session.posargs,
           env=env)
