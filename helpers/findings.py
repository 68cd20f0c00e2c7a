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
import json
import math
import re
import sys
from pathlib import Path

from helpers.catalogue import PROJECT_ROOT

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
_PERCENT = re.compile(r"fee|cagr|volatility|drawdown|maxdd|return_on|alpha_annual|alpha_ci|^alpha$|turnover_cost")


def _num(x: float, percent: bool) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if percent:
        return f"{x:.1%}"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}" if abs(x) < 100 else f"{x:.0f}"


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
    if source.startswith("synthetic"):
        source = f"simulated market ({source}, not real prices)"
    elif source != "yfinance":
        source = f"CSV folder '{Path(source.removeprefix('csv:')).name}' (real prices)"
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
            parts.append(f"- `{key}`: {format_value(key, value)}")
        parts.append(f"\n<sub>Data: {provenance_line(data)}.</sub>\n")
    return "\n".join(parts).strip() + "\n"


def load_runs(report_dir: Path) -> list[dict]:
    """Recorded results of every report set under ``report_dir`` that recorded an answer.

    Reads each ``*.json`` whose content is a dict of records (with ``answer`` and ``data``); the
    notebook is the file's stem up to the first ``__`` or ``.`` (parameter slugs follow it).
    With several runs of one notebook, only runs with default parameters are kept when present.
    """
    runs = {}
    for path in sorted(Path(report_dir).rglob("*.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and "records" in rec and isinstance(rec["records"], dict):
            meta, rec = rec, rec["records"]
            stem = meta.get("notebook") or path.stem
            params = meta.get("parameters") or {}
        else:
            stem, params = path.stem, None
        if not isinstance(rec, dict) or "answer" not in rec or "data" not in rec:
            continue
        stem = re.split(r"__|\.", stem)[0]
        if stem not in runs or (params == {} and runs[stem][1] != {}):
            runs[stem] = ({"notebook": stem, "records": rec}, params)
    return [r for r, _ in runs.values()]


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
    import difflib

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
    from helpers.reporting import atomic_write_text

    atomic_write_text(args.readme, replace_block(text, block))
    print(f"findings: wrote {len(runs)} notebooks' findings into {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
