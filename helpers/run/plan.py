"""The plan: one job per notebook and sweep combination, checked, each with its report set's name."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from pathlib import Path

import pandas as pd

from helpers.data import DataError, resolve_source
from helpers.run.cache import data_identity
from helpers.run.core import FAILED, Job, UsageError
from helpers.run.parameters import (
    NO_DEFAULT,
    check_parameters,
    default_values,
    key_matches,
    names_of,
    notebook_parameters,
)
from helpers.source import DEFAULT_SOURCE

SLUG_LIMIT = 60          # characters of readable parameters in a report name


def _readable(value) -> tuple[str, bool]:
    """A short text for a parameter value and whether it loses information."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value), False
    if isinstance(value, int | float):
        return repr(value), False
    if isinstance(value, str):
        if "/" in value or os.sep in value:
            return Path(value).name or value, True
        return value, False
    if isinstance(value, dict):
        return "-".join(f"{_readable(k)[0]}-{_readable(v)[0]}" for k, v in value.items()), True
    if isinstance(value, list | tuple):
        return "-".join(_readable(v)[0] for v in value), True
    return str(value), True


def _safe(text: str) -> str:
    """Only letters, digits and ``._-``: safe in file names and URLs on every system."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _is_default(name: str, value, default) -> bool:
    if name == "data_source" and value in (None, DEFAULT_SOURCE) and default in (None, DEFAULT_SOURCE):
        return True  # None means $QN_DATA_SOURCE, which the runner resolves and passes explicitly
    return default is not NO_DEFAULT and type(value) is type(default) and value == default


def _is_folder(value) -> bool:
    return isinstance(value, str) and Path(value).is_dir()


def report_name(notebook: Path, params: dict) -> str:
    """The report set's name: the stem plus every non-default parameter, in the cell's order.

    ``05_drawdown_aware_leverage__target_vol=0.08``; values are made safe for file names and
    URLs, and a hash of the parameters is added when that changed them or the readable part
    is longer than ``SLUG_LIMIT``, so different parameters never share a name.
    """
    defaults = default_values(notebook)
    changed = {k: params[k] for k in defaults if k in params and not _is_default(k, params[k], defaults[k])}
    if not changed:
        return notebook.stem
    parts, lossy = [], False
    for k, v in changed.items():
        text, lost = _readable(v)
        safe = _safe(text)
        lossy |= lost or safe != text or safe.endswith(FAILED)
        parts.append(f"{k}={safe}")
    readable = "__".join(parts)
    if lossy or len(readable) > SLUG_LIMIT:
        # a CSV folder by its contents, not its path: the same data gives the same name on every machine
        # (the README's findings link to these names), different data in a same-named folder does not
        keyed = {k: (data_identity(v) if k == "data_source" and _is_folder(v) else v) for k, v in changed.items()}
        digest = hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()[:8]
        readable = readable[:SLUG_LIMIT].rstrip("-_.=") + f"__{digest}"
    return f"{notebook.stem}__{readable}"


def check_data_source(value, where: str) -> str | None:
    """A ``data_source`` value validated and, for a folder, made absolute (notebooks run elsewhere)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{where}: data_source must be a string; got {value!r}")
    if value == "":
        raise UsageError(f"{where}: data_source is empty; use 'synthetic', 'yfinance' or a directory")
    try:
        return resolve_source(value)
    except DataError as exc:
        raise UsageError(f"{where}: {exc}") from exc


def is_date_parameter(name: str) -> bool:
    """``start`` and ``end`` (also ``train_start``, ``test_end`` and the like) hold dates."""
    return name in ("start", "end") or name.endswith(("_start", "_end"))


def check_dates(notebook: Path, params: dict, where: str) -> None:
    """Every date parameter a date (``'YYYY-MM-DD'`` or None) and each ``start`` before its ``end``.

    Whether the dates fall inside the data is checked when the notebook loads it
    (:func:`helpers.data.check_date_range`): only then is the data's range known.
    """
    values = {**{k: v for k, v in default_values(notebook).items() if v is not NO_DEFAULT}, **params}
    dates = {}
    for name, value in values.items():
        if not is_date_parameter(name) or value is None:
            continue
        try:
            if not isinstance(value, str):
                raise TypeError(f"got {type(value).__name__}")
            dates[name] = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            hint = "; in a YAML file, quote the date: '2022-01-01'" if hasattr(value, "isoformat") else ""
            raise UsageError(f"{where}{notebook.stem}: {name}={value!r} is not a date like 'YYYY-MM-DD' "
                             f"({exc}){hint}") from exc
    for name, start in dates.items():
        end_name = name[: -len("start")] + "end" if name.endswith("start") else None
        if end_name in dates and start >= dates[end_name]:
            raise UsageError(f"{where}{notebook.stem}: {name} {values[name]} is "
                             f"{'after' if start > dates[end_name] else 'the same day as'} {end_name} "
                             f"{values[end_name]}: {name} must come before {end_name}")


def plan(notebooks: list[Path], overrides: dict, file_params: dict, where: str = "parameter file") -> list[Job]:
    """One job per notebook and sweep combination, parameters checked, names unique."""
    stray = [str(k) for k in file_params if not any(key_matches(k, nb) for nb in notebooks)]
    if stray:
        known = sorted(set().union(*(names_of(nb) for nb in notebooks)))
        raise UsageError(f"{where} names no selected notebook: {', '.join(stray)}. "
                         f"Use one of: {', '.join(known)}")
    taking = {k: [nb for nb in notebooks if k in notebook_parameters(nb)] for k in overrides}
    lacking = {k: v for k, v in taking.items() if 0 < len(v) < len(notebooks)}
    if lacking:  # (a name no selected notebook has is reported as unknown below)
        hints = []
        for k, having in lacking.items():
            numbers = " ".join(nb.stem.split("_")[0] for nb in having)
            without = ", ".join(nb.stem for nb in notebooks if nb not in having)
            hints.append(f"{without} {'has' if ',' not in without else 'have'} no parameter {k} "
                         f"(use --only {numbers}, or a --params-file for per-notebook values)")
        raise UsageError("a -p or --data-source value goes to every selected notebook, but "
                         + "; ".join(hints))
    jobs = []
    for nb in notebooks:
        keys = [k for k in file_params if key_matches(k, nb)]
        if len(keys) > 1:
            raise UsageError(f"{where}: {nb.stem} is named twice ({', '.join(repr(k) for k in keys)}); "
                             f"merge them into one entry")
        spec = (file_params[keys[0]] or {}) if keys else {}
        at = f"{where}: {keys[0]}" if keys else "command line"
        fixed = dict(spec.get("parameters") or {})
        sweep = dict(spec.get("sweep") or {})
        clash = sorted(set(sweep) & set(overrides))
        if clash:
            raise UsageError(f"{at}: {', '.join(clash)} swept in the file and also set with -p")
        check_parameters(nb, {**fixed, **{k: v[0] for k, v in sweep.items()}}, at)
        combos = [dict(zip(sweep, vals)) for vals in itertools.product(*sweep.values())] or [{}]
        for combo in combos:
            params = check_parameters(nb, {**fixed, **combo, **overrides}, at)
            if "data_source" in params:
                params["data_source"] = check_data_source(params["data_source"], f"{at}: {nb.stem}")
            check_dates(nb, params, f"{at}: ")
            jobs.append(Job(nb, params, report_name(nb, params)))
    names = [j.name for j in jobs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"{where}: these runs would share a report (same effective parameters): "
                         f"{', '.join(dupes)}")
    return jobs

