"""Project sessions: ``nox -s tests`` (the guard), ``nox -s reports`` (the main job), and
``findings``, ``mutants``, ``lint``, ``lab``, ``refresh``. Arguments after ``--`` pass through, e.g.
``nox -s reports -- --data-source yfinance`` or ``nox -s tests -- -k metrics``.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYTHON = "3.11"
KERNEL = "quant-notebooks"


def install(session: nox.Session, extras: str = "test,dask,browser") -> None:
    """The project, editable, with every version pinned by constraints.txt."""
    session.install("-c", "constraints.txt", "-e", f".[{extras}]")
    # A named kernel that runs this environment's Python, for JupyterLab and papermill.
    session.run("python", "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
                "--display-name", "Python (quant-notebooks)", silent=True)


def quiet_env() -> dict[str, str]:
    # One BLAS thread so results do not depend on the machine (the kernels plot inline).
    return {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


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


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests, nbval over notebooks/, then integration tests (runner, JupyterLab, browser).

    With arguments, only ``pytest tests <args>`` runs (e.g. ``nox -s tests -- -k metrics``).
    """
    install(session)
    env = quiet_env()
    if session.posargs:
        session.run("pytest", "tests", *session.posargs, env=env)
        return
    session.run("pytest", "tests", "-m", "not integration", env=env)
    session.run("pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
                "tests/nbval_sanitize.cfg", "--nbval-cell-timeout", "900", "-p", "no:cacheprovider",
                "notebooks", env=env)
    ensure_chromium(session)
    session.run("pytest", "tests", "-m", "integration", env=env)


@nox.session(python=PYTHON)
def reports(session: nox.Session) -> None:
    """The main job: run every notebook with papermill into reports/ (HTML + index)."""
    install(session)
    session.run("python", "-m", "helpers.run", *session.posargs, env=quiet_env())


@nox.session(python=PYTHON)
def refresh(session: nox.Session) -> None:
    """Re-execute the committed notebooks in place with their default parameters."""
    install(session)
    session.run("python", "-m", "helpers.run", "--in-place", *session.posargs, env=quiet_env())


@nox.session(python=PYTHON)
def findings(session: nox.Session) -> None:
    """The main job on real prices into reports/real, then the README's Findings block rewritten.

    ``nox -s findings`` uses ../shared/market-data; ``-- --data-source DIR`` another folder;
    ``-- --check`` compares instead of writing and fails, naming what changed, when the README is stale.
    reports/real is emptied first, so the block is made only of this run's sets.
    """
    install(session)
    args = list(session.posargs)
    check = ["--check"] if "--check" in args else []
    args = [a for a in args if a != "--check"]
    if "--data-source" not in args:
        args += ["--data-source", os.path.join("..", "shared", "market-data")]
    out = os.path.join("reports", "real")
    shutil.rmtree(out, ignore_errors=True)  # a fresh folder: no set of an earlier run can leak in
    session.run("python", "-m", "helpers.run", "--output-dir", out, *args, env=quiet_env())
    session.run("python", "-m", "helpers.findings", out, *check)


@nox.session(python=PYTHON)
def mutants(session: nox.Session) -> None:
    """Break each promised rule on purpose (tests/mutants/*.toml) and check a test goes red.

    Ends with ``mutants killed: K of N``; ``nox -s mutants -- -k engine`` runs a subset.
    """
    install(session)
    session.run("python", "tests/run_mutants.py", *session.posargs, env=quiet_env())


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, benchmarks and notebooks."""
    session.install("-c", "constraints.txt", "ruff")
    session.run("ruff", "check", "helpers", "tests", "benchmarks", "data", "noxfile.py", *session.posargs)


@nox.session(python=PYTHON)
def lab(session: nox.Session) -> None:
    """JupyterLab in the project environment, with the 'quant-notebooks' kernel registered."""
    install(session)
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers run as root
    session.run("jupyter", "lab", "--notebook-dir", os.path.join(os.getcwd(), "notebooks"), *root,
                *session.posargs)
