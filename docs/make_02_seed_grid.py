"""Write ``docs/02_seed_grid.md`` from finished seed-grid runs of notebook 02: successive halving
(the seed grid's default) and, when given, the full grid.

    python -m helpers.run --only 02 -p grid seed --output-dir HALVING_DIR
    python -m helpers.run --only 02 -p grid seed -p grid_search full --output-dir FULL_DIR
    python docs/make_02_seed_grid.py HALVING_DIR [FULL_DIR] [--note TEXT] [--out docs/02_seed_grid.md]

Reads ``runs/<set>/run.json`` (written by :mod:`helpers.run`) of ok runs of
``02_pairs_lstm_mean_reversion`` with ``grid = "seed"`` under the folders given, one per search
strategy (a run from before successive halving existed counts as "full"), and writes aggregates
only: per pair the chosen configuration and F1 scores, the F1-difference intervals (LSTM minus
|z| rule, per pair and pooled), each book's P/L over cash (dollars) and Sharpe ratio in excess of
cash (annualized, with its 95% interval), the notebook's computed answer, quoted; with both
strategies, a table of the configuration each chose per pair with its validation and test F1,
whether the verdict is unchanged, and each run's duration. ``--note`` adds a sentence (for
example the machine's load during the runs). Exit status 2 when a folder holds no such run, or
two runs of one strategy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project's helpers/

from helpers.findings import provenance_line  # noqa: E402
from helpers.grid import expand, resolve_grid  # noqa: E402

NOTEBOOK = "02_pairs_lstm_mean_reversion"
CONFIG_KEYS = ("hidden_size", "learning_rate", "window_size", "batch_size", "num_layers")
MODELS = ("LSTM", "|z| rule", "logistic regression", "always revert")  # test F1 columns, in order


def strategy_of(meta: dict) -> str:
    """"halving" or "full": the run's record, else its parameter, else "full" (runs before halving)."""
    search = (meta.get("records") or {}).get("grid_search") or {}
    return search.get("strategy") or (meta.get("parameters") or {}).get("grid_search") or "full"


def seed_grid_runs(report_dir: Path) -> list[dict]:
    """run.json of every published ok seed-grid set of notebook 02 under ``report_dir/runs``."""
    runs = []
    for run_json in sorted((report_dir / "runs").glob("*/run.json")):
        if run_json.parent.name.startswith(".") or run_json.parent.name.endswith(".failed"):
            continue
        try:
            meta = json.loads(run_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        params = meta.get("parameters") or {}
        if (meta.get("notebook") == NOTEBOOK and meta.get("status") == "ok" and params.get("grid") == "seed"
                and not params.get("param_grid") and "answer" in (meta.get("records") or {})):
            runs.append(meta)
    return runs


def command(params: dict) -> str:
    """The runner command that reproduces a run with these (non-default) parameters."""
    parts = ["python -m helpers.run --only 02"]
    source = params.get("data_source")
    if source not in (None, "synthetic"):
        parts.append(f"--data-source {source}")
    parts += [f"-p {k} {json.dumps(v) if not isinstance(v, str) else v}"
              for k, v in params.items() if k != "data_source"]
    return " ".join(parts)


def interval(ci: list[float], digits: int = 3) -> str:
    """``[lo, hi]`` as ``-0.036 to +0.031``."""
    return f"{ci[0]:+.{digits}f} to {ci[1]:+.{digits}f}"


def dollars(x: float) -> str:
    """Signed whole dollars: ``-$22,967``."""
    return f"{'-' if x < 0 else '+'}${abs(x):,.0f}"


def config_cells(config: dict) -> list[str]:
    """The chosen configuration's cells (integers without ``.0``, the learning rate as given)."""
    return [f"{config[k]:g}" for k in CONFIG_KEYS]


def book(label: str, pnl: float, sharpe: float, ci: list[float] | None) -> str:
    """One book: P/L over cash in dollars, Sharpe ratio in excess of cash and its 95% interval."""
    return f"{label} {dollars(pnl)} (Sharpe {sharpe:.2f}{f', 95% CI {interval(ci, 2)}' if ci else ''})"


def run_line(meta: dict) -> str:
    """How a run was made and how long it took."""
    params = meta.get("parameters") or {}
    grid = resolve_grid(params.get("grid", "seed"), params.get("param_grid"))
    n_configs, epochs = len(expand(grid)), "/".join(str(e) for e in grid["epochs"])
    n_pairs = len(meta["records"]["per_pair"])
    rungs = ((meta["records"].get("grid_search") or {}).get("rungs") or [])
    trained = (f"successive halving, configurations per pair in each rung: "
               f"{', '.join(str(n // n_pairs) for n in rungs)}" if strategy_of(meta) == "halving"
               else f"full grid: all {n_configs * n_pairs} trainings to {epochs} epochs")
    return (f"`{command(params)}` ({n_configs} configurations x {n_pairs} pairs; {trained}; run "
            f"{meta.get('finished', '?')[:10]}, {meta.get('duration', 0) / 60:.1f} minutes)")


def result_section(meta: dict) -> list[str]:
    """The chosen configurations, test F1 scores, books and answer of one run."""
    rec = meta["records"]
    per_pair, f1_ci = rec["per_pair"], rec["f1_diff_vs_zrule_ci"]
    head = ["pair", "hidden", "lr", "window", "batch", "layers", "val F1",
            *(f"test F1 {m.replace('|', chr(92) + '|')}" for m in MODELS), "F1 LSTM - \\|z\\| rule, 95% CI"]
    rows = [head, ["---"] * len(head)]
    for pair in sorted(per_pair):
        p = per_pair[pair]
        rows.append([pair, *config_cells(p["config"]), f"{p['val F1']:.3f}",
                     *(f"{p[f'test F1 {m}']:.3f}" for m in MODELS), interval(f1_ci[pair])])
    rows.append(["pooled", *[""] * (len(head) - 2), interval(f1_ci["pooled"])])
    books = [book(label, rec["over_cash"][name], rec["sharpe"][name], None)
             for name, label in (("LSTM", "LSTM filter"), ("|z| rule", "every |z| signal"), ("logistic", "logistic filter"))
             if name in rec.get("over_cash", {})]
    return [
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        "Book after costs (pairs passing the cointegration test; test period), P/L over cash and Sharpe "
        f"ratio in excess of cash: {'; '.join(books)}.",
        "",
        "The notebook's computed answer on this run:",
        "",
        *(f"> {line}" for line in rec["answer"].splitlines()),
        "",
    ]


def verdict(meta: dict) -> str:
    """The verdict the notebook recorded (``reporting.conclude``)."""
    return meta["records"]["verdict"]


def comparison(halving: dict, full: dict) -> list[str]:
    """Per pair, the configuration chosen by the full grid and by halving, their validation and test F1."""
    a, b = full["records"]["per_pair"], halving["records"]["per_pair"]
    head = ["pair", "full grid: configuration", "val F1", "test F1", "halving: configuration", "val F1",
            "test F1", "same"]
    rows = [head, ["---"] * len(head)]
    same = 0
    for pair in sorted(a):
        ca, cb = " / ".join(config_cells(a[pair]["config"])), " / ".join(config_cells(b[pair]["config"]))
        same += ca == cb
        rows.append([pair, ca, f"{a[pair]['val F1']:.3f}", f"{a[pair]['test F1 LSTM']:.3f}", cb,
                     f"{b[pair]['val F1']:.3f}", f"{b[pair]['test F1 LSTM']:.3f}", "yes" if ca == cb else "no"])
    va, vb = verdict(full), verdict(halving)
    pooled = (f"Pooled test F1 difference, LSTM minus |z| rule: full grid "
              f"{interval(full['records']['f1_diff_vs_zrule_ci']['pooled'])}, halving "
              f"{interval(halving['records']['f1_diff_vs_zrule_ci']['pooled'])} (95% CIs).")
    said = ("The notebook's verdict is unchanged:" if va == vb else
            f"The verdict differs. Full grid: \"{va}\" Halving:")
    return [
        "## Successive halving against the full grid",
        "",
        "Configuration: hidden / learning rate / window / batch / layers, chosen on validation F1 "
        "(halving: among the configurations its last rung trained to all 50 epochs).",
        "",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"Same configuration chosen for {same} of {len(a)} pairs. Mean over pairs of the full grid's choice "
        f"minus halving's: validation F1 {sum(a[p]['val F1'] - b[p]['val F1'] for p in a) / len(a):+.3f}, "
        f"test F1 {sum(a[p]['test F1 LSTM'] - b[p]['test F1 LSTM'] for p in a) / len(a):+.3f}. {pooled}",
        "",
        f"{said} \"{vb}\"",
        "",
        *([f"Halving kept the full grid's choice for only {same} of {len(a)} pairs: its early rungs rank "
           "configurations differently from 50 epochs on this data, so it is a cheaper search, not the same "
           "search; its choices score lower on validation F1 on average (above), and the pooled F1 gap to the "
           "|z| rule moves with the search.", ""] if 2 * same < len(a) else []),
        f"Time on this machine: halving {halving.get('duration', 0) / 60:.1f} minutes, full grid "
        f"{full.get('duration', 0) / 60:.1f} minutes (wall clock; see the note on load below).",
        "",
    ]


def markdown(runs: dict[str, dict], note: str = "") -> str:
    """The page for the seed-grid runs, {strategy: run.json}; halving's result first when present."""
    main = runs.get("halving") or runs["full"]
    rec = main["records"]
    made = "; ".join(f"{s}: {run_line(m)}" for s, m in runs.items())
    return "\n".join([
        "# Notebook 02: the seed grid's result",
        "",
        f"Generated by `python docs/make_02_seed_grid.py REPORT_DIR...` from the runs {made}; every other "
        "parameter at the notebook's default.",
        "",
        f"Data: {provenance_line(rec.get('data') or {})}. Aggregates only. Configuration and threshold "
        "chosen on validation F1; test scored once.",
        "",
        "## Result (" + ("successive halving, the seed grid's default" if "halving" in runs else "full grid") + ")",
        "",
        *result_section(main),
        *(comparison(runs["halving"], runs["full"]) if len(runs) == 2 else
          ["No run of the other strategy was given, so there is no comparison.", ""]),
        *([f"Note: {note}", ""] if note else []),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_dirs", type=Path, nargs="+", help="folders given to helpers.run --output-dir")
    parser.add_argument("--note", default="", help="a sentence added to the page (e.g. the machine's load)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().with_name("02_seed_grid.md"))
    args = parser.parse_args(argv)
    runs: dict[str, dict] = {}
    for folder in args.report_dirs:
        found = seed_grid_runs(folder)
        if not found:
            print(f"make_02_seed_grid: no finished seed-grid run of {NOTEBOOK} in {folder}/runs (make one with: "
                  f"python -m helpers.run --only 02 -p grid seed --output-dir {folder})", file=sys.stderr)
            return 2
        for meta in found:
            strategy = strategy_of(meta)
            if strategy in runs:
                print(f"make_02_seed_grid: two {strategy} seed-grid runs ({runs[strategy].get('name')} and "
                      f"{meta.get('name')}); give folders with one run of each strategy", file=sys.stderr)
                return 2
            runs[strategy] = meta
    args.out.write_text(markdown(runs, args.note), encoding="utf-8")
    names = ", ".join(f"{strategy}: {meta.get('name')}" for strategy, meta in runs.items())
    print(f"wrote {args.out} from {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
