"""Findings: each notebook's computed answer and key numbers, formatted for people.

The README's Findings block is generated from the recorded results of a main-job run (the
``.json`` each report set carries) and checked against a fresh run in CI, so it cannot drift
from what the code computes::

    python -m helpers.findings reports/            # rewrite the README's Findings block
    python -m helpers.findings reports/ --check    # exit 1, naming what changed, if it is stale

Only aggregate figures appear (answers, effect sizes, intervals, data provenance): no prices.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
from pathlib import Path

from helpers.catalogue import PROJECT_ROOT
from helpers.files import atomic_write_text
from helpers.source import DataSource

START, END = "<!-- findings:start -->", "<!-- findings:end -->"

QUESTIONS = {
    "01_leveraged_etf_decay": "Does a long-underlying / short-3x book earn a positive return on capital "
                              "once borrow and costs are counted?",
    "02_pairs_lstm_mean_reversion": "Does an LSTM beat simple rules at predicting pair-spread mean reversion, "
                                    "as a classifier and as a trading filter after costs?",
    "03_mag7_beta_hedge": "How much of a Mag-7 basket is QQQ beta, is alpha left after hedging, and does a "
                          "re-estimated hedge beat a static one?",
    "04_multi_asset_allocation": "Do walk-forward ML signals beat equal weight, minimum variance and inverse "
                                 "volatility out of sample after costs?",
    "05_drawdown_aware_leverage": "Does a vol-targeting, drawdown-braking overlay improve risk-adjusted "
                                  "returns against the base and matched constant leverage?",
}

# Keys shown as percentages (fractions of capital or annual rates).
_PERCENT = re.compile(r"fee|cagr|volatility|drawdown|maxdd|return_on|excess_return|alpha_annual|alpha_ci|alpha_hedged|"
                      r"^alpha$|turnover_cost")
# Recorded detail too fine for the findings (the report shows it).
DETAIL_KEYS = {"per_pair"}


def _num(x: float, percent: bool) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if percent:
        return f"{x:.1%}"
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e6:  # counts and sizes: 64, not 64.00
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"  # 3 significant digits


def format_value(key: str, value, parent: str = "") -> str:
    """A recorded value for people: percentages for rates and drawdowns, 2-3 significant digits,
    ``[low, high]`` for intervals, ``name: value`` lists for dictionaries."""
    percent = bool(_PERCENT.search(key.lower()) or _PERCENT.search(parent.lower()))
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return _num(float(value), percent)
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int | float) or v is None
                                                                   for v in value):
        return f"[{_num(value[0], percent)}, {_num(value[1], percent)}]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(str(k), v, parent or key)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(format_value(key, v, parent) for v in value)
    return str(value)


def provenance_line(data: dict) -> str:
    """Source, ticker count, date range and content hash of a run's data, in one line."""
    if not data:
        return "data: unknown"
    source = str(data.get("source", "?"))
    ds = DataSource.from_label(source)
    if ds.is_simulated:
        source = f"simulated market ({source}, not real prices)"
    elif ds.kind == "csv":
        source = f"CSV folder '{ds.name}' (real prices)"
    tickers = data.get("tickers") or []
    return (f"{source}; {len(tickers)} tickers ({', '.join(tickers[:8])}{', ...' if len(tickers) > 8 else ''}); "
            f"{data.get('first_date', '?')} to {data.get('last_date', '?')}; sha256 {str(data.get('content_hash', ''))[:12]}")


def findings_markdown(runs: list[dict]) -> str:
    """Markdown of every run: {"notebook": stem, "records": {...}} -> question, answer, key numbers, data."""
    parts = []
    for run in sorted(runs, key=lambda r: r["notebook"]):
        rec = dict(run["records"])
        stem = run["notebook"]
        parts.append(f"### {stem}\n")
        if stem in QUESTIONS:
            parts.append(f"*{QUESTIONS[stem]}*\n")
        parts.append(f"**Answer.** {rec.pop('answer', '(no answer recorded)')}\n")
        data = rec.pop("data", {})
        for key, value in rec.items():
            if key not in DETAIL_KEYS:
                parts.append(f"- `{key}`: {format_value(key, value)}")
        parts.append(f"\n<sub>Data: {provenance_line(data)}.</sub>\n")
    return "\n".join(parts).strip() + "\n"


def _defaults_but_data(meta: dict) -> bool:
    """A set run with default parameters except perhaps ``data_source``.

    Judged from its name, which carries every non-default parameter (``05_x__data_source=...__hash``),
    or, for a record without a usable name, from its parameters.
    """
    stem, name = meta.get("notebook", ""), meta.get("name") or meta.get("set") or ""
    if name == stem or not (meta.get("parameters") or {}).keys() - {"data_source"}:
        return True
    if not name.startswith(stem + "__"):
        return False
    parts = name[len(stem) + 2:].split("__")
    if parts and re.fullmatch(r"[0-9a-f]{8}", parts[-1]):
        parts = parts[:-1]  # the hash added when a value was shortened
    return all(p.split("=", 1)[0] == "data_source" for p in parts)


def _rank(meta: dict) -> tuple:
    """Which of several sets of one notebook stands for it: named exactly as the notebook (all
    defaults), then defaults but the data source, then any other (a sweep), by name."""
    exact = (meta.get("name") or meta.get("set")) == meta.get("notebook")
    return (not exact, not _defaults_but_data(meta), meta.get("name") or "")


def _runner_sets(report_dir: Path) -> list[dict]:
    """The ok sets of a runner's folder, ``runs/<name>/run.json`` (no failures, no ``.store`` or
    ``.staging`` copies: only the published names)."""
    out = []
    for link in sorted((report_dir / "runs").iterdir()):
        if link.name.startswith(".") or link.name.endswith(".failed") or not link.is_dir():
            continue
        try:
            meta = json.loads((link / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("status") == "ok" and isinstance(meta.get("records"), dict):
            out.append({**meta, "name": meta.get("name") or link.name})
    return out


def _record_files(report_dir: Path) -> list[dict]:
    """Sets described by loose ``*.json`` files (older layouts): a records dict, or run.json-like."""
    out = []
    for path in sorted(report_dir.rglob("*.json")):
        rel = path.relative_to(report_dir).parts
        if any(part.startswith(".") or part.endswith(".failed") for part in rel):
            continue
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(rec, dict):
            continue
        if isinstance(rec.get("records"), dict):
            if rec.get("status", "ok") != "ok":
                continue
            name = rec.get("name") or path.stem
            out.append({**rec, "notebook": rec.get("notebook") or re.split(r"__|\.", name)[0], "name": name})
        else:
            out.append({"notebook": re.split(r"__|\.", path.stem)[0], "name": path.stem, "records": rec,
                        "parameters": None})
    return out


def load_runs(report_dir: Path) -> list[dict]:
    """One run per notebook, ``{"notebook": stem, "records": {...}}``, from a main-job output folder.

    A runner's folder (``runs/<name>/run.json``, :mod:`helpers.run`) is read set by set, ignoring
    failed sets and the ``.store``/``.staging`` folders behind the published names; otherwise every
    ``*.json`` of records is read. Only runs that recorded an ``answer`` and their ``data`` count.
    Of several runs of one notebook, the set named exactly as the notebook (default parameters) is
    preferred, then one with defaults except ``data_source``, then the first by name.
    """
    report_dir = Path(report_dir)
    metas = _runner_sets(report_dir) if (report_dir / "runs").is_dir() else _record_files(report_dir)
    best: dict[str, dict] = {}
    for meta in metas:
        rec = meta["records"]
        if "answer" not in rec or "data" not in rec:
            continue
        stem = meta["notebook"]
        if stem not in best or _rank(meta) < _rank(best[stem]):
            best[stem] = meta
    return [{"notebook": stem, "records": best[stem]["records"]} for stem in sorted(best)]


def replace_block(text: str, block: str) -> str:
    """``text`` with the Findings block between the markers replaced by ``block``."""
    if START not in text or END not in text:
        raise ValueError(f"README has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}{END}{tail}"


def current_block(text: str) -> str:
    head, rest = text.split(START, 1)
    return rest.split(END, 1)[0].lstrip("\n")


def differences(old: str, new: str) -> list[str]:
    """Lines that differ between two Findings blocks, as ``- old`` / ``+ new`` pairs."""
    return [ln for ln in difflib.unified_diff(old.splitlines(), new.splitlines(), "committed", "fresh", lineterm="",
                                              n=0) if ln[:1] in "+-" and not ln.startswith(("---", "+++"))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write or check the README's Findings block from a main-job run.")
    ap.add_argument("reports", type=Path, help="the output folder of a main-job run (e.g. reports/)")
    ap.add_argument("--readme", type=Path, default=PROJECT_ROOT / "README.md")
    ap.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when stale")
    args = ap.parse_args(argv)
    if not args.reports.is_dir():
        print(f"findings: no report folder {args.reports}", file=sys.stderr)
        return 2
    runs = load_runs(args.reports)
    if not runs:
        print(f"findings: no report under {args.reports} recorded an answer", file=sys.stderr)
        return 2
    block = findings_markdown(runs)
    text = args.readme.read_text(encoding="utf-8")
    if args.check:
        diff = differences(current_block(text), block)
        if diff:
            print(f"findings: {args.readme.name} is stale; what changed (run `nox -s findings -- "
                  f"{args.reports}` to update):", file=sys.stderr)
            print("\n".join(diff), file=sys.stderr)
            return 1
        print(f"findings: {args.readme.name} matches the run in {args.reports} ({len(runs)} notebooks)")
        return 0
    atomic_write_text(args.readme, replace_block(text, block))
    print(f"findings: wrote {len(runs)} notebooks' findings into {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
