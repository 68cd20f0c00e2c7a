"""Notebook 05's study of the leverage overlay: ablation, matched leverage, sensitivity, answer, outputs.

Every Sharpe and Sortino ratio here is in excess of the convention's cash rate; every interval
is a stationary block bootstrap of daily excess returns (:mod:`helpers.evidence`). Costs and
financing are fractions of equity per year.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import evidence, metrics, portfolio
from helpers.backtest import BacktestResult, CashConvention, run_backtest
from helpers.overlay import OverlayParams, ablation_params, column, constant_leverage, simulate

NOTEBOOK = "05_drawdown_aware_leverage"
TRADING_DAYS = 252
OVERLAY = "vol targeting + brake"
MATCHED = "matched constant leverage"


# --------------------------------------------------------------------------- the base portfolio


def base_portfolio(rets: pd.DataFrame, rebalance_freq: str, cov_lookback: int, min_hist: int, shrinkage: str,
                   shrink_alpha: float, alpha_minvar: float, convention: CashConvention) -> BacktestResult:
    """The unlevered risk-parity / min-variance blend, rebalanced at each ``rebalance_freq`` period end."""
    dates = portfolio.month_end_dates(rets.index, rebalance_freq)
    weights = portfolio.blended_weight_path(rets, dates, cov_lookback, min_hist, shrinkage, shrink_alpha,
                                            alpha_minvar)
    return run_backtest(rets, weights, convention)


def cost_fraction(bt: BacktestResult) -> pd.Series:
    """The base backtest's daily trading costs as a fraction of the previous day's equity (n_days,)."""
    prev = bt.equity.shift(1).fillna(1.0)
    return (bt.costs / prev).rename("base cost")


# --------------------------------------------------------------------------- variants and their table


def ablation(base: pd.Series, p: OverlayParams, convention: CashConvention) -> dict[str, pd.DataFrame]:
    """Daily paths of base (1x), vol targeting only, brake only, both, and constant leverage at the
    full overlay's average leverage (same financing and costs), keyed by variant name."""
    variants = ablation_params(p)
    runs = simulate(base, list(variants.values()), convention)
    out = {name: column(runs, j) for j, name in enumerate(variants)}
    level = float(out[OVERLAY]["leverage"].mean())
    out[MATCHED] = column(simulate(base, [constant_leverage(level, p.rebalance_every)], convention), 0)
    return out


def variant_table(runs: dict[str, pd.DataFrame], convention: CashConvention,
                  base_costs: pd.Series | None = None, reps: int = 1000) -> pd.DataFrame:
    """One row per variant: CAGR, volatility, Sharpe with its 95% bootstrap interval, Sortino, max
    drawdown, Calmar, average leverage, financing and trading costs a year.

    ``base_costs`` (daily fraction of equity, see :func:`cost_fraction`) adds the base portfolio's own
    rebalancing costs, scaled by the leverage held, to each variant's costs.
    """
    rows = {}
    for name, run in runs.items():
        cash = convention.daily_cash(run.index)
        s = metrics.performance_summary(run["ret"], cash)
        ci = evidence.sharpe_ci(run["ret"] - cash, reps=reps)
        costs = run["cost"] + (0.0 if base_costs is None else run["leverage"] * base_costs.reindex(run.index))
        rows[name] = {"CAGR": s["CAGR"], "Volatility": s["Volatility"], "Sharpe": s["Sharpe"],
                      "Sharpe CI low": ci.low, "Sharpe CI high": ci.high, "Sortino": s["Sortino"],
                      "Max drawdown": s["Max drawdown"], "Calmar": s["Calmar"],
                      "Avg leverage": float(run["leverage"].mean()),
                      "Financing / yr": float(run["financing"].mean() * TRADING_DAYS),
                      "Costs / yr": float(costs.mean() * TRADING_DAYS)}
    return pd.DataFrame(rows).T


# --------------------------------------------------------------------------- paired comparisons


@dataclass(frozen=True)
class OverlayEvidence:
    """What the answer needs: Sharpe ratios and max drawdowns by variant, paired intervals.

    ``vs_base`` = Sharpe(overlay) - Sharpe(base); ``vs_matched`` = Sharpe(overlay) - Sharpe(matched);
    ``vol_effect`` = Sharpe(both) - Sharpe(brake only); ``brake_effect`` = Sharpe(both) - Sharpe(vol only).
    """

    sharpe: dict[str, float]
    max_drawdown: dict[str, float]
    avg_leverage: float
    vs_base: evidence.Interval
    vs_matched: evidence.Interval
    vol_effect: evidence.Interval
    brake_effect: evidence.Interval
    best_cell: str = ""
    best_sharpe: float = float("nan")
    deflated_sharpe: float = float("nan")
    n_trials: int = 0


def paired_evidence(runs: dict[str, pd.DataFrame], table: pd.DataFrame, convention: CashConvention,
                    reps: int = 1000) -> OverlayEvidence:
    """Paired block-bootstrap intervals of the Sharpe differences the answer reports."""
    ex = {k: convention.excess(v["ret"]) for k, v in runs.items()}
    diff = lambda a, b: evidence.sharpe_diff_ci(ex[a], ex[b], reps=reps)  # noqa: E731
    return OverlayEvidence(sharpe=table["Sharpe"].to_dict(), max_drawdown=table["Max drawdown"].to_dict(),
                           avg_leverage=float(table.loc[OVERLAY, "Avg leverage"]),
                           vs_base=diff(OVERLAY, "base (1x)"), vs_matched=diff(OVERLAY, MATCHED),
                           vol_effect=diff(OVERLAY, "drawdown brake only"),
                           brake_effect=diff(OVERLAY, "vol targeting only"))


# --------------------------------------------------------------------------- sensitivity


def sensitivity_cells(p: OverlayParams, grid: dict[str, list],
                      sweeps: dict[str, list]) -> list[tuple[str, OverlayParams]]:
    """Labelled parameter sets: the 2-D ``grid`` crossed, then each of ``sweeps`` varied alone around ``p``.

    Duplicates (e.g. the default cell, which every sweep contains) appear once, under their first label.
    """
    cells: dict[OverlayParams, str] = {}
    names = list(grid)
    for values in itertools.product(*grid.values()):
        q = replace(p, **dict(zip(names, values)))
        cells.setdefault(q, " ".join(f"{k}={v}" for k, v in zip(names, values)))
    for name, values in sweeps.items():
        for v in values:
            cells.setdefault(replace(p, **{name: v}), f"{name}={v}")
    return [(label, q) for q, label in cells.items()]


def sensitivity(base: pd.Series, cells: list[tuple[str, OverlayParams]], convention: CashConvention,
                extra_bases: dict[str, pd.Series] | None = None, default: OverlayParams | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every cell's Sharpe (annual and daily, in excess of cash), max drawdown, CAGR and average leverage.

    ``extra_bases`` adds cells that run ``default`` on other base portfolios (e.g. other rebalance
    frequencies), labelled by their key, on the dates they share with ``base``. Returns the table
    (one row per cell, in order) and the cells' daily excess returns (n_days, n_cells).
    """
    labels = [c[0] for c in cells]
    runs = simulate(base, [c[1] for c in cells], convention)
    ret, lev = runs["ret"].set_axis(labels, axis=1), runs["leverage"].set_axis(labels, axis=1)
    if extra_bases:
        frame = pd.concat(extra_bases, axis=1).dropna()
        extra = simulate(frame, [default] * frame.shape[1], convention)
        ret = pd.concat([ret, extra["ret"].set_axis(list(extra_bases), axis=1)], axis=1)
        lev = pd.concat([lev, extra["leverage"].set_axis(list(extra_bases), axis=1)], axis=1)
    cash = convention.daily_cash(ret.index)
    excess = ret.sub(cash, axis=0)
    rows = {}
    for c in ret.columns:
        x = ret[c].dropna()
        rows[c] = {"Sharpe": metrics.sharpe_ratio(x, cash.reindex(x.index)),
                   "daily Sharpe": evidence.daily_sharpe(excess[c].dropna()),
                   "Max drawdown": metrics.max_drawdown(x), "CAGR": metrics.cagr(x),
                   "Avg leverage": float(lev[c].mean())}
    return pd.DataFrame(rows).T, excess


def grid_table(table: pd.DataFrame, rows: str, cols: str, value: str = "Sharpe") -> pd.DataFrame:
    """The 2-D grid cells of a :func:`sensitivity` table as a rows x cols pivot of ``value``."""
    out = {}
    for label, v in table[value].items():
        parts = dict(kv.split("=") for kv in label.split(" ")) if " " in label else {}
        if set(parts) == {rows, cols}:
            out[(float(parts[rows]), float(parts[cols]))] = v
    s = pd.Series(out)
    return s.unstack().rename_axis(index=rows, columns=cols)


def sweeps_view(table: pd.DataFrame, cells: list[tuple[str, OverlayParams]], default: OverlayParams,
                columns=("Sharpe", "Max drawdown", "Avg leverage")) -> pd.DataFrame:
    """The one-at-a-time rows of a :func:`sensitivity` table, after the default cell (labelled "defaults")."""
    label = next(lbl for lbl, q in cells if q == default)
    rows = [lbl for lbl in table.index if " " not in lbl and lbl != label]
    return table.loc[[label, *rows], list(columns)].rename(index={label: "defaults"})


def deflated_best(table: pd.DataFrame, excess: pd.DataFrame) -> tuple[str, float, float, int]:
    """(best cell, its Sharpe, deflated Sharpe ratio counting every cell as a trial, number of trials)."""
    best = str(table["Sharpe"].idxmax())
    dsr = evidence.deflated_sharpe_ratio(excess[best].dropna(), table["daily Sharpe"].to_numpy())
    return best, float(table.loc[best, "Sharpe"]), float(dsr), len(table)


def spread_sweep(base: pd.Series, p: OverlayParams, convention: CashConvention, spreads) -> pd.DataFrame:
    """Sharpe of base, overlay and matched constant leverage for each financing spread (annual)."""
    rows = {}
    for s in spreads:
        conv = replace(convention, financing_spread=float(s))
        runs = ablation(base, p, conv)
        cash = conv.daily_cash(base.index)
        sh = {k: metrics.sharpe_ratio(v["ret"], cash) for k, v in runs.items()}
        rows[float(s)] = {"Sharpe base": sh["base (1x)"], "Sharpe overlay": sh[OVERLAY],
                          "Sharpe matched": sh[MATCHED], "overlay - matched": sh[OVERLAY] - sh[MATCHED],
                          "Avg leverage": float(runs[OVERLAY]["leverage"].mean())}
    return pd.DataFrame(rows).T.rename_axis("financing_spread")


# --------------------------------------------------------------------------- the answer


def _verdict(ci: evidence.Interval) -> str:
    if not (np.isfinite(ci.low) and np.isfinite(ci.high)):
        return "cannot be compared"
    if ci.low > 0:
        return "improves"
    if ci.high < 0:
        return "worsens"
    return "shows no evidence of changing"


def answer_text(e: OverlayEvidence) -> str:
    """The computed answer: overlay vs base and vs matched leverage (Sharpe differences with 95%
    intervals, max drawdowns), which component does the work, and the deflated Sharpe of the best cell."""
    s, dd = e.sharpe, e.max_drawdown
    lev = f"{e.avg_leverage:.2f}x"
    parts = [
        f"The overlay (volatility targeting + drawdown brake, average leverage {lev}) after financing and "
        f"costs, Sharpe ratios in excess of cash: overlay {s[OVERLAY]:.2f}, unlevered base {s['base (1x)']:.2f}, "
        f"constant {lev} leverage with the same financing and costs {s[MATCHED]:.2f}.",
        evidence.decide(e.vs_base, "the overlay", "the base portfolio"),
        evidence.decide(e.vs_matched, "the overlay", f"constant {lev} leverage"),
        f"Max drawdown (one path, no interval): overlay {dd[OVERLAY]:.1%}, base {dd['base (1x)']:.1%}, "
        f"constant {lev} {dd[MATCHED]:.1%}.",
        f"Components: volatility targeting alone {s['vol targeting only']:.2f} (max drawdown "
        f"{dd['vol targeting only']:.1%}), drawdown brake alone {s['drawdown brake only']:.2f} "
        f"({dd['drawdown brake only']:.1%}).",
        "Volatility targeting's contribution (full overlay vs brake alone): "
        + evidence.decide(e.vol_effect, "the full overlay", "the brake alone"),
        "The brake's contribution (full overlay vs volatility targeting alone): "
        + evidence.decide(e.brake_effect, "the full overlay", "volatility targeting alone"),
    ]
    if e.n_trials:
        parts.append(f"The best of the {e.n_trials} sensitivity cells ({e.best_cell}, Sharpe {e.best_sharpe:.2f}) "
                     f"has a deflated Sharpe ratio of {e.deflated_sharpe:.2f} (probability that its true Sharpe "
                     f"is above zero after {e.n_trials} trials; 0.95 would be evidence at the 5% level).")
    cut_base = dd[OVERLAY] > dd["base (1x)"]
    cut_matched = dd[OVERLAY] > dd[MATCHED]
    parts.append(
        f"Verdict: the overlay {_verdict(e.vs_base)} the Sharpe ratio of the base portfolio and "
        f"{_verdict(e.vs_matched)} that of matched constant leverage; its max drawdown is "
        f"{'smaller' if cut_base else 'not smaller'} than the base's and "
        f"{'smaller' if cut_matched else 'not smaller'} than matched leverage's.")
    return " ".join(parts)


def recorded(e: OverlayEvidence, table: pd.DataFrame) -> dict:
    """The recorded keys besides ``answer``."""
    return {"sharpe_base": e.sharpe["base (1x)"], "sharpe_dynamic": e.sharpe[OVERLAY],
            "sharpe_matched_leverage": e.sharpe[MATCHED], "maxdd_dynamic": e.max_drawdown[OVERLAY],
            "sharpe_diff_ci": {"vs_base": e.vs_base.as_list(), "vs_matched": e.vs_matched.as_list()},
            "ablation": {k: {"sharpe": float(r["Sharpe"]), "max_drawdown": float(r["Max drawdown"]),
                             "cagr": float(r["CAGR"])} for k, r in table.iterrows()},
            "deflated_sharpe_best_cell": e.deflated_sharpe}


# --------------------------------------------------------------------------- outputs


def daily_series(rets: pd.DataFrame, prices: pd.DataFrame, base: BacktestResult,
                 overlay: pd.DataFrame) -> pd.DataFrame:
    """The seed's daily CSV columns: prices, per-asset returns ``ret_X``, weights ``w_X``, the base
    portfolio (``ret_port_base``, ``equity_base``, ``dd_base``) and the overlay (``leverage``,
    ``ret_port_dyn``, ``equity_dyn``, ``dd_dyn``), on the overlay's dates."""
    idx = overlay.index
    eq_base = (1.0 + base.returns.loc[idx]).cumprod()
    cols = {"ret_port_base": base.returns.loc[idx], "equity_base": eq_base,
            "dd_base": eq_base / np.maximum(eq_base.cummax(), 1.0) - 1.0, "leverage": overlay["leverage"],
            "ret_port_dyn": overlay["ret"], "equity_dyn": overlay["equity"], "dd_dyn": overlay["drawdown"],
            "financing_dyn": overlay["financing"], "cost_dyn": overlay["cost"]}
    return pd.concat([prices.reindex(idx), rets.reindex(idx).add_prefix("ret_"),
                      base.weights.reindex(idx).add_prefix("w_"), pd.DataFrame(cols)], axis=1)


def notebook_defaults(path: Path) -> dict:
    """Names and literal default values of a notebook's cell tagged ``parameters``."""
    nb = json.loads(Path(path).read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            out = {}
            for node in ast.parse(src).body:
                target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
                if isinstance(target, ast.Name):
                    try:
                        out[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue
            return out
    raise ValueError(f"{path} has no cell tagged 'parameters'")


def _text(value) -> str:
    if isinstance(value, str) and ("/" in value or "\\" in value):
        value = Path(value).name  # a data folder: its name
    return str(value).replace("/", "-").replace(" ", "").replace("\\", "-")


def run_folder(output_dir: str | Path | None, namespace: dict, defaults: dict) -> Path:
    """Where this run writes its side outputs.

    ``output_dir`` given: that folder (relative to the project root unless absolute). ``None``: a
    folder of its own under ``reports/05_drawdown_aware_leverage/``, named by the parameters that
    differ from the notebook's ``defaults`` (``defaults`` when none do; the data source counts even
    when it came from ``$QN_DATA_SOURCE``). A sweep therefore writes one folder per combination and
    re-running a combination rewrites its own folder only.
    """
    from helpers.data import resolve_source
    from helpers.reporting import project_path

    if output_dir not in (None, ""):
        return project_path(output_dir)
    current = {k: namespace[k] for k in defaults if k in namespace}
    if "data_source" in current:
        current["data_source"] = resolve_source(current["data_source"])
        defaults = {**defaults, "data_source": "synthetic"}
    changed = {k: v for k, v in current.items() if k != "output_dir" and v != defaults[k]}
    name = "__".join(f"{k}={_text(v)}" for k, v in changed.items()) or "defaults"
    if len(name) > 100:
        name = name[:80] + "__" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return project_path("reports") / NOTEBOOK / name


def write_outputs(folder: Path, daily: pd.DataFrame, summary: dict) -> list[Path]:
    """Write ``dd_leverage_series.csv`` and ``dd_leverage_summary.json`` atomically into ``folder``."""
    from helpers.reporting import atomic_write_text

    csv, js = folder / "dd_leverage_series.csv", folder / "dd_leverage_summary.json"
    atomic_write_text(csv, daily.to_csv(date_format="%Y-%m-%d"))
    atomic_write_text(js, json.dumps(summary, indent=2, default=str))
    return [csv, js]
