"""The notebooks and their parameters: selection, typed values, parameter files."""

from __future__ import annotations

import ast
import contextlib
import functools
import json
from pathlib import Path

import papermill as pm
import yaml

from helpers.run.core import NOTEBOOK_DIR, Job, UsageError

OUTPUT_DIR = "output_dir"  # a notebook parameter naming where its side outputs go


def list_notebooks(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """The analysis notebooks (``NN_name.ipynb``), in order."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb"))


def select(only: list[str] | None, directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """Notebooks named by number (``01``) or name; all when ``only`` is empty."""
    notebooks = list_notebooks(directory)
    if not only:
        return notebooks
    chosen = []
    for key in only:
        hits = [p for p in notebooks if key_matches(key, p) or p.name == key]
        if not hits:
            valid = ", ".join(p.stem for p in notebooks)
            raise UsageError(f"Unknown notebook {key!r}. Valid: {valid}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def parse_value(text: str):
    """Type a command-line value as papermill does: int, float, bool, None, else string."""
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):  # (ValueError: a date-like text that is no date, 2019-13-45)
        return text
    return value if isinstance(value, int | float | bool | list | dict) or value is None else text


@functools.lru_cache(maxsize=64)
def notebook_parameters(path: Path) -> dict:
    """The parameters cell's names and default values (as source text), inspected once per path."""
    return {name: info["default"] for name, info in pm.inspect_notebook(str(path)).items()}


NO_DEFAULT = object()


def default_values(path: Path) -> dict:
    """The parameters' default values as Python objects (``NO_DEFAULT`` where not a literal)."""
    out = {}
    for name, text in notebook_parameters(path).items():
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError):
            out[name] = NO_DEFAULT
    return out


def check_parameters(path: Path, params: dict, where: str = "") -> dict:
    """``params`` checked against the notebook's parameters cell; returns them typed.

    Unknown names and values of the wrong type raise UsageError naming them (and ``where``,
    e.g. the parameter file and key). A whole float is accepted for an int parameter and
    becomes an int; 2.5 is not.
    """
    prefix = f"{where}: " if where else ""
    defaults = default_values(path)
    unknown = [k for k in params if k not in defaults]
    if unknown:
        raise UsageError(f"{prefix}{path.stem}: unknown parameter(s) {', '.join(map(str, unknown))}. "
                         f"Its parameters: {', '.join(defaults)}")
    typed = {}
    for name, value in params.items():
        default = defaults[name]
        typed[name] = value
        if default is NO_DEFAULT or default is None or value is None:
            continue
        if isinstance(default, bool) or isinstance(value, bool):
            ok = isinstance(value, bool) and isinstance(default, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            if ok:
                typed[name] = int(value)
        elif isinstance(default, float):
            ok = isinstance(value, int | float)
            if ok:
                typed[name] = float(value)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            hint = ("; in a YAML file, quote the date: '2022-01-01'"
                    if isinstance(default, str) and hasattr(value, "isoformat") else "")
            raise UsageError(f"{prefix}{path.stem}: parameter {name} expects {type(default).__name__} "
                             f"(default {default!r}); got {value!r}{hint}")
    return typed


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error, not 'last wins'."""


def _construct_unique_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found the key {key!r} twice "
                f"(first on line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)

SPEC_KEYS = ("parameters", "sweep")


def read_params_file(path: Path) -> dict:
    """A parameter file's ``{notebook key: {"parameters": {...}, "sweep": {...}}}``, its shape checked.

    Duplicate keys, keys other than ``parameters`` and ``sweep``, a ``parameters`` that is not a
    mapping, sweep values that are not non-empty lists of distinct values: UsageError naming
    the file and key. Parameter names and types are checked against each notebook by :func:`plan`.
    """
    path = Path(path)
    try:
        content = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise UsageError(f"Cannot read parameter file {path}: {exc}") from exc
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise UsageError(f"{path}: expected a mapping of notebook -> {{parameters, sweep}}; "
                         f"got {type(content).__name__}")
    for key, spec in content.items():
        where = f"{path}: {key}"
        if spec is None:
            continue
        if not isinstance(spec, dict):
            raise UsageError(f"{where}: expected a mapping with 'parameters' and/or 'sweep'; got {spec!r}")
        unknown = [str(k) for k in spec if k not in SPEC_KEYS]
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}. "
                             f"Valid keys: {', '.join(SPEC_KEYS)}")
        for part in SPEC_KEYS:
            if spec.get(part) is not None and not isinstance(spec[part], dict):
                raise UsageError(f"{where}: {part} must be a mapping of name: value; got {spec[part]!r}")
        for name, values in (spec.get("sweep") or {}).items():
            if not isinstance(values, list) or not values:
                raise UsageError(f"{where}: sweep values must be non-empty lists; {name} is {values!r}")
            texts = [json.dumps(v, sort_keys=True) for v in values]
            dupes = sorted({t for t in texts if texts.count(t) > 1})
            if dupes:
                raise UsageError(f"{where}: sweep {name} lists {', '.join(dupes)} more than once")
        both = sorted(set(spec.get("parameters") or {}) & set(spec.get("sweep") or {}))
        if both:
            raise UsageError(f"{where}: {', '.join(both)} both fixed in parameters and swept")
    return content


def names_of(notebook: Path) -> set[str]:
    """What a notebook answers to: its stem (``05_x``) and its number (``05``)."""
    return {notebook.stem, notebook.stem.split("_")[0]}


def key_matches(key, notebook: Path) -> bool:
    """A parameter-file key names the notebook (YAML may read ``5`` for ``05``)."""
    return bool({str(key), str(key).zfill(2)} & names_of(notebook))


def json_defaults(path: Path) -> dict:
    """The parameters' defaults that are JSON literals (the index compares sweeps with them)."""
    out = {}
    for name, value in default_values(path).items():
        if value is not NO_DEFAULT and name != OUTPUT_DIR:
            with contextlib.suppress(TypeError, ValueError):
                out[name] = json.loads(json.dumps(value))
    return out


def run_parameters(job: Job, staging: Path) -> dict:
    """What papermill passes: the job's parameters, plus ``output_dir=<staging, absolute>`` for a
    notebook that declares ``output_dir`` and was not given one, so its side outputs (CSV, JSON)
    land in the run's own set and are published with it, atomically. Not part of the set's name
    or its recorded parameters."""
    params = dict(job.parameters)
    if OUTPUT_DIR not in params and OUTPUT_DIR in notebook_parameters(job.notebook):
        params[OUTPUT_DIR] = str(Path(staging).resolve())
    return params

