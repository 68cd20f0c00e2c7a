"""Project files agree with each other: environment.yml, pyproject.toml, constraints.txt."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}  # pip name -> conda-forge name where they differ


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pip_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return reqs


def test_environment_yml_lists_the_same_packages_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = {name_of(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip", "nox"}
    pip = {CONDA_NAMES.get(name_of(r), name_of(r)) for r in pip_requirements()}
    assert conda == pip, f"only in environment.yml: {conda - pip}; only in pyproject: {pip - conda}"
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section  # the package itself, editable


def test_versions_agree_between_files():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {name_of(d): d for d in env["dependencies"] if isinstance(d, str)}
    for req in pip_requirements():
        name = CONDA_NAMES.get(name_of(req), name_of(req))
        spec = req[len(name_of(req)):].split("#")[0].strip().replace("==", "=")
        if spec:
            assert conda[name].endswith(spec.lstrip()), f"{name}: pyproject says {spec}, conda {conda[name]}"


def test_constraints_pin_every_dependency_and_torch():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    assert pins["torch"] == "2.13.0"
    missing = [name_of(r) for r in pip_requirements() if name_of(r) not in pins]
    assert not missing, f"not pinned in constraints.txt: {missing}"


def test_notebooks_name_the_kernel_the_environment_registers_and_the_readme_names():
    """Opened in ``nox -s lab``, a notebook starts the project's kernel, the one the README tells users to pick."""
    nox_text = (ROOT / "noxfile.py").read_text()
    name = re.search(r'^KERNEL = "(.+)"$', nox_text, re.M).group(1)
    display = re.search(r'^KERNEL_DISPLAY = "(.+)"$', nox_text, re.M).group(1)
    assert f'"{display}"' in (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        spec = json.loads(path.read_text())["metadata"]["kernelspec"]
        assert (spec["name"], spec["display_name"], spec["language"]) == (name, display, "python"), path.name


def test_mutant_files_load_and_a_mutant_names_the_lines_its_text_spans(monkeypatch):
    spec = importlib.util.spec_from_file_location("run_mutants", ROOT / "tests" / "run_mutants.py")
    run_mutants = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "run_mutants", run_mutants)  # dataclasses look their module up
    spec.loader.exec_module(run_mutants)
    assert len(run_mutants.load_mutants()) > 0  # every tests/mutants/*.toml parses, with every field
    mutant = run_mutants.Mutant("m", "rule", "f.py", "b = 2\nc = 3\n", "b = 0\n", ("tests/x.py",), "x.toml")
    assert run_mutants.mutated_lines(mutant, "a = 1\nb = 2\nc = 3\nd = 4\n") == [2, 3]
