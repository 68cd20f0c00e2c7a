"""Findings: each notebook's verdict, deciding figure and headline, formatted for people.

The README's Findings block (a summary table, a headline and report link per notebook, a glossary)
is generated from the recorded results of a main-job run (the
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
import os
import re
import sys
from pathlib import Path

from helpers.catalogue import PROJECT_ROOT
from helpers.comparison import format_interval
from helpers.files import atomic_write_text
from helpers.source import DataSource

START, END = "<!-- findings:start -->", "<!-- findings:end -->"

# Keys shown as percentages (fractions of capital or annual rates).
_PERCENT = re.compile(r"fee|cagr|volatility|drawdown|maxdd|return_on|excess_return|alpha_annual|alpha_ci|alpha_hedged|"
                      r"^alpha$|turnover_cost|_share$|^share_")
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


# Plain words for the terms the answers use (the README's glossary, under the summary).
GLOSSARY = (
    ("95% CI", "a range built to catch the true value 19 times out of 20; \"no evidence\": it includes zero."),
    ("Block bootstrap", "resampling runs of consecutive days (length by Politis-White), keeping calm and "
                        "turbulent spells intact."),
    ("Jobson-Korkie-Memmel", "a formula test of a Sharpe-ratio gap."),
    ("Probabilistic / deflated Sharpe", "the chance the true Sharpe ratio beats a benchmark; deflated: "
                                        "after picking the best of many trials."),
    ("Holm", "keeps the chance of any false \"yes\" among several tests at 5%."),
    ("HAC (Newey-West)", "standard errors allowing for autocorrelated noise."),
    ("Reg T margin", "a short needs collateral of 50% of its value."),
    ("Log-gap slope", "how fast a 3x fund lags 3x its index as variance grows (theory: -3)."),
    ("IC", "rank correlation of forecasts with outcomes, across assets or through time."),
    ("F1, ROC AUC", "how well a classifier's calls and scores pick the spreads that revert; |z| rule: "
                    "bet on reversion when the spread is far from its mean."),
    ("Minimum detectable effect", "the smallest true difference a test finds 80% of the time."),
    ("Halves", "the same test on each half of the period; bp: 0.01%."),
)
MAX_WORDS = 700  # the whole generated block


def question_of(stem: str, records: dict) -> str:
    """The notebook's recorded ``question`` (empty for a set recorded before notebooks recorded one)."""
    return str(records.get("question") or "")


def headline_of(records: dict, limit: int = 40) -> str:
    """The recorded ``headline``; for an older set, the start of its ``answer`` (``limit`` words, "...")."""
    if records.get("headline"):
        return str(records["headline"])
    answer = str(records.get("answer") or "")
    if answer.startswith("On ") and ": " in answer:  # the source and dates: the period says them
        answer = answer.split(": ", 1)[1]
    words = answer.split()
    return " ".join(words[:limit]) + (" ..." if len(words) > limit else "")


def deciding_figure(records: dict) -> str:
    """The deciding comparison in words: ``"Sharpe ratio, overlay vs base: -0.06 (95% CI -0.31 to +0.15)"``.

    Rendered by :func:`helpers.comparison.format_interval` (the one wording layer); "" when the set
    recorded no ``deciding`` comparison.
    """
    d = records.get("deciding")
    if not isinstance(d, dict):
        return ""
    nan = float("nan")
    est, low, high = (nan if d.get(k) is None else float(d[k]) for k in ("estimate", "low", "high"))
    level, unit = float(d.get("level") or 0.95), str(d.get("unit") or "")
    digits = int(d.get("digits") if d.get("digits") is not None else 2)
    if all(math.isfinite(x) for x in (est, low, high)):
        figure = format_interval(est, low, high, level, unit, digits)
    else:
        figure = "n/a" if not math.isfinite(est) else f"{format_interval(est, 0, 0, level, unit, digits).split(' (')[0]} (no interval)"
    measure = str(d.get("measure", ""))
    return f"{measure[:1].upper() + measure[1:]}, {d.get('what', '')}: {figure}"


def period_of(records: dict) -> str:
    """The recorded evaluation ``period``, else the data's first to last date."""
    if records.get("period"):
        return str(records["period"])
    data = records.get("data") or {}
    return f"{data.get('first_date', '?')} to {data.get('last_date', '?')}" if data else ""


def title_of(stem: str) -> str:
    """``"01_leveraged_etf_decay"`` -> ``"01 Leveraged ETF decay"``."""
    words = stem.split("_")
    upper = {"etf": "ETF", "lstm": "LSTM", "mag7": "Mag-7", "ml": "ML"}
    rest = [upper.get(w, w) for w in words[1:]]
    if rest:
        rest[0] = rest[0][:1].upper() + rest[0][1:]
    return " ".join(words[:1] + rest)


def source_words(data: dict) -> str:
    """Where a run's numbers come from, plainly: "CSV folder 'market-data' (real prices)"."""
    if not data:
        return "unknown data"
    ds = DataSource.from_label(str(data.get("source", "?")))
    return ("the simulated market (not real prices)" if ds.is_simulated else
            f"CSV folder '{ds.name}' (real prices)" if ds.kind == "csv" else "Yahoo Finance (real prices)")


def data_line(data: dict, source: bool = True) -> str:
    """Source (unless ``source`` is False) and content hash of a run's data, briefly."""
    if not data:
        return "data: unknown"
    where = f"{source_words(data)}, " if source else ""
    return f"{where}sha256 {str(data.get('content_hash', ''))[:12]}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def findings_markdown(runs: list[dict]) -> str:
    """The Findings block: a summary table, a few lines per notebook, a glossary.

    ``runs``: ``{"notebook": stem, "records": {...}, "link": report path or None}``, one per notebook.
    The table has a row per notebook: question, verdict, deciding figure with its interval, period.
    Each notebook then gets its headline, a link to its report and its data, in a few lines.
    """
    runs = sorted(runs, key=lambda r: r["notebook"])
    rows = ["| Notebook | Question | Verdict | Deciding figure | Evaluated over |", "|---|---|---|---|---|"]
    for run in runs:
        rec, stem = run["records"], run["notebook"]
        rows.append("| " + " | ".join(_cell(x) for x in (
            f"[{title_of(stem)}]({run['link']})" if run.get("link") else title_of(stem),
            question_of(stem, rec), rec.get("verdict") or "(not recorded)",
            deciding_figure(rec) or "(not recorded)", period_of(rec))) + " |")
    sources = {source_words(r["records"].get("data") or {}) for r in runs}
    one = len(sources) == 1
    parts = ["\n".join(rows), ""] + ([f"All on {sources.pop()}.", ""] if one else [])
    for run in runs:
        rec, stem = run["records"], run["notebook"]
        link = f"[report]({run['link']}) · " if run.get("link") else ""
        parts += [f"**{stem.split('_', 1)[0]}.** {headline_of(rec)}",  # the table names it
                  f"<sub>{link}{data_line(rec.get('data') or {}, source=not one)}.</sub>", ""]
    parts += ["**Terms**", "", *(f"- *{term}*: {text}" for term, text in GLOSSARY)]
    return "\n".join(parts).strip() + "\n"


def word_count(markdown: str) -> int:
    """Words a reader reads in ``markdown``: tokens with a letter or digit, link targets left out."""
    text = re.sub(r"\]\([^)]*\)", "]", markdown)
    text = re.sub(r"<[^>]+>", " ", text)
    return sum(bool(re.search(r"[A-Za-z0-9]", tok)) for tok in text.split())


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


def preference(meta: dict) -> tuple:
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
            report = (meta.get("files") or {}).get("report")
            out.append({**meta, "name": meta.get("name") or link.name,
                        "report": link / report if report else None})
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
    """One run per notebook, ``{"notebook": stem, "records": {...}, "report": path}``, from a main-job output folder.

    A runner's folder (``runs/<name>/run.json``, :mod:`helpers.run`) is read set by set, ignoring
    failed sets and the ``.store``/``.staging`` folders behind the published names; otherwise every
    ``*.json`` of records is read. Only runs that recorded their ``data`` and a ``headline`` or an
    ``answer`` count. ``report`` is the path of the set's HTML report (runner layout), else None.
    Of several runs of one notebook, the set named exactly as the notebook (default parameters) is
    preferred, then one with defaults except ``data_source``, then the first by name.
    """
    report_dir = Path(report_dir)
    metas = _runner_sets(report_dir) if (report_dir / "runs").is_dir() else _record_files(report_dir)
    best: dict[str, dict] = {}
    for meta in metas:
        rec = meta["records"]
        if not ("answer" in rec or "headline" in rec) or "data" not in rec:
            continue
        stem = meta["notebook"]
        if stem not in best or preference(meta) < preference(best[stem]):
            best[stem] = meta
    return [{"notebook": stem, "records": best[stem]["records"], "report": best[stem].get("report")}
            for stem in sorted(best)]


def with_links(runs: list[dict], readme: Path) -> list[dict]:
    """``runs`` with ``link``: each report's path relative to the README's folder (POSIX), or None."""
    base = os.path.dirname(os.path.abspath(readme))  # abspath: the published name, not the .store copy
    return [{**r, "link": Path(os.path.relpath(os.path.abspath(r["report"]), base)).as_posix()
             if r.get("report") else None} for r in runs]


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
    block = findings_markdown(with_links(runs, args.readme))
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
