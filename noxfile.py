"""Project sessions: ``nox -s tests`` (the guard), ``nox -s reports`` (the main job), and
``lint``, ``lab``, ``refresh``. Arguments after ``--`` pass through, e.g.
``nox -s reports -- --data-source yfinance`` or ``nox -s tests -- -k metrics``.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYTHON = "3.11"
KERNEL = "quant-notebooks"


def install(session: nox.Session, extras: str = "test") -> None:
    """The project, editable, with every version pinned by constraints.txt."""
    session.install("-c", "constraints.txt", "-e", f".[{extras}]")
    # A named kernel that runs this environment's Python, for JupyterLab and papermill.
    session.run("python", "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
                "--display-name", "Python (quant-notebooks)", silent=True)


def quiet_env() -> dict[str, str]:
    # One BLAS thread so results do not depend on the machine (the kernels plot inline).
    return {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests, then nbval over notebooks/ (stored outputs must match a fresh run)."""
    install(session)
    env = quiet_env()
    args = session.posargs or []
    session.run("pytest", "tests", *args, env=env)
    if not args:
        session.run("pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
                    "tests/nbval_sanitize.cfg", "--nbval-cell-timeout", "900", "-p", "no:cacheprovider",
                    "notebooks", env=env)


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
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, benchmarks and notebooks."""
    session.install("-c", "constraints.txt", "ruff")
    session.run("ruff", "check", "helpers", "tests", "benchmarks", "data", "noxfile.py", *session.posargs)


@nox.session(python=PYTHON)
def lab(session: nox.Session) -> None:
    """JupyterLab in the project environment, with the 'quant-notebooks' kernel registered."""
    install(session)
    session.run("jupyter", "lab", "--notebook-dir", os.path.join(os.getcwd(), "notebooks"),
                *session.posargs)
