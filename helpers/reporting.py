"""Key results that notebooks record for the batch runner's index (no scrapbook needed).

``record("sharpe", 1.23)`` shows nothing visible in the notebook but stores the value as a
custom MIME output (``application/vnd.quant-notebooks.record+json``) in the executed
notebook; :func:`read_records` collects them afterwards.
"""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display

from helpers import comparison as cmp
from helpers.catalogue import PROJECT_ROOT
from helpers.data import provenance, source_of
from helpers.files import content_hash

MIME = "application/vnd.quant-notebooks.record+json"


def _plain(value):
    """A JSON-serializable version of numpy / pandas scalars and containers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    raise TypeError(f"record() takes JSON-like values (numbers, strings, lists, dicts); got {type(value).__name__}")


def record(key: str, value) -> None:
    """Store a key result in the executed notebook (floats are rounded to 6 significant digits)."""
    value = _plain(value)
    value = json.loads(json.dumps(value), parse_float=lambda s: float(f"{float(s):.6g}"))
    display({MIME: {"key": key, "value": value}, "text/plain": ""}, raw=True)


def read_records(nb) -> dict:
    """All values recorded in an executed notebook (an nbformat node), key -> value."""
    out = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(MIME)
            if payload:
                out[payload["key"]] = payload["value"]
    return out


def data_banner(frame) -> None:
    """Print a loaded frame's one-line ``Data:`` banner and record its provenance.

    The dates and content hash are those of the frame passed (after any trimming, e.g. to the
    dates common to every ticker), not of the frame as it was loaded.
    """
    prov = provenance(frame)
    if len(frame.index):
        prov = replace(prov, first_date=frame.index[0].date().isoformat(),
                       last_date=frame.index[-1].date().isoformat(), content_hash=content_hash(frame))
    print(prov.banner())
    record("data", prov.as_dict())


def project_path(relative: str | Path) -> Path:
    """A path under the project root (notebooks run from notebooks/, outputs go to reports/)."""
    path = Path(relative)
    return path if path.is_absolute() else PROJECT_ROOT / path


def source_label(frame) -> str:
    """Where a loaded frame's numbers come from, in words, e.g. "the simulated market (synthetic; not real prices)"."""
    prov = provenance(frame)
    what = source_of(frame).describe()
    # the dates of the frame passed (after any trimming), not those recorded when it was loaded
    first, last = (frame.index[0], frame.index[-1]) if len(frame.index) else (prov.first_date, prov.last_date)
    first, last = (d.date().isoformat() if hasattr(d, "date") else str(d) for d in (first, last))
    return f"{what}, {first} to {last}"


def answer(text: str, frame) -> str:
    """Print and ``record("answer", ...)`` a notebook's computed answer, prefixed with its data source.

    ``text`` is built by code from the results (effect sizes, 95% intervals, a plain decision), so
    it stays true on every data source; ``frame`` is the loaded frame, trimmed to the dates the
    answer is about (its first and last dates are printed; its provenance names the source).
    Returns the full text.
    """
    full = f"On {source_label(frame)}: {text.strip()}"
    print("\n".join(textwrap.fill(p, 100) for p in full.split("\n")))
    record("answer", full)
    return full


def conclude(question: str, headline: str, comparisons, frame, *, verdict: str, deciding: int = 0,
             caveats=(), period: str | None = None) -> str:
    """Show and record a notebook's conclusion: headline first, then the comparisons as a table.

    Records ``question``, ``headline`` (at most 40 words, checked), ``verdict`` (a few words for
    the README's summary table), ``comparisons`` (a list of :meth:`Comparison.to_dict`),
    ``deciding`` (the comparison whose figure decides the verdict, as a dict), ``period`` and
    ``answer`` (headline, table and caveats as one markdown text, prefixed with the data source
    and dates of ``frame``, as :func:`answer` does).

    Parameters
    ----------
    question : str             the notebook's question
    headline : str             the verdict and the figure that decides it, with its interval
    comparisons : sequence of helpers.comparison.Comparison
    frame : DataFrame          the loaded prices trimmed to the evaluation period (provenance)
    verdict : str              short form of the verdict, e.g. "No pair beats cash"
    deciding : int             index in ``comparisons`` of the deciding comparison
    caveats : sequence of str  one sentence each, computed from conventions and parameters
    period : str               the evaluation period in words; default: the frame's first to last date
    """
    head = cmp.headline(headline)
    rows = list(comparisons)
    if period is None:
        period = source_label(frame).rsplit(", ", 1)[-1]
    table_md = cmp.render(rows, "markdown") if rows else ""
    parts = [f"**{head}**", table_md, *(f"- {c}" for c in caveats)]
    full = f"On {source_label(frame)}: " + "\n\n".join(p for p in parts if p)
    for key, value in (("question", question), ("headline", head), ("verdict", verdict),
                       ("period", period), ("comparisons", [c.to_dict() for c in rows]),
                       ("deciding", rows[deciding].to_dict() if rows else None), ("answer", full)):
        record(key, value)
    print(textwrap.fill(f"Answer. {head}", 100))
    if rows:
        with pd.option_context("display.max_colwidth", None, "display.width", 200):
            display(cmp.table(rows))  # whole cells: a cut measure or decision would change its meaning
    for c in caveats:
        print(textwrap.fill(f"- {c}", 100, subsequent_indent="  "))
    return full
