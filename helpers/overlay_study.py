"""Notebook 05's study of the leverage overlay: ablation, matched leverage, sensitivity, answer, outputs.

Every Sharpe and Sortino ratio here is in excess of the convention's cash rate; every interval
is a stationary block bootstrap of daily excess returns (:mod:`helpers.evidence`). Costs and
financing are fractions of equity per year.
"""

from __future__ import annotations

import ast
import itertools
import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import evidence, metrics, portfolio
from helpers.backtest import BacktestResult, CashConvention, run_backtest
from helpers.files import atomic_write_text
from helpers.metrics import TRADING_DAYS
from helpers.overlay import OverlayParams, ablation_params, column, constant_leverage, simulate
from helpers.reporting import project_path

NOTEBOOK = "05_drawdown_aware_leverage"
OVERLAY = "vol targeting + brake"
MATCHED = "matched constant leverage"
BASE = "base (1x)"
DD_THRESHOLD = 0.02  # max-drawdown gaps smaller than this (2 points) are "about the same"


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


def max_drawdowns(returns: np.ndarray) -> np.ndarray:
    """Max drawdown (<= 0) of each column of daily simple returns (n_days, k); equity starts at 1, a peak."""
    equity = np.cumprod(1.0 + np.asarray(returns, dtype=float), axis=0)
    peak = np.maximum(np.maximum.accumulate(equity, axis=0), 1.0)
    return (equity / peak - 1.0).min(axis=0)


def maxdd_diff_ci(returns_a: pd.Series, returns_b: pd.Series, reps: int = 1000, seed: int = 0,
                  block: float | None = None, level: float = 0.95) -> evidence.Interval:
    """MaxDD(a) - MaxDD(b) of two daily simple-return series on the same dates, with a *paired*
    stationary block-bootstrap interval (arch; both series resampled on the same blocks of dates).

    Max drawdowns are negative, so a positive difference means a's worst drawdown is shallower
    (in fractions of equity: 0.02 = 2 points). Rows where either series is NaN are dropped; the
    mean block length is Politis-White's (:func:`helpers.evidence.block_length`) unless given.
    """
    x = pd.concat([returns_a, returns_b], axis=1, sort=True).dropna().to_numpy(dtype=float)
    return evidence.statistic_ci(x, lambda d: float(np.subtract(*max_drawdowns(d))), reps, seed, block, level)


@dataclass(frozen=True)
class OverlayEvidence:
    """What the answer needs: Sharpe ratios and max drawdowns by variant, paired intervals.

    Sharpe differences: ``vs_base`` = Sharpe(overlay) - Sharpe(base); ``vs_matched`` = Sharpe(overlay)
    - Sharpe(matched); ``vol_effect`` = Sharpe(both) - Sharpe(brake only); ``brake_effect`` =
    Sharpe(both) - Sharpe(vol only). ``dd_*``: the same pairs for max drawdown (positive: the overlay's
    is shallower). Sensitivity (:func:`with_sensitivity`): the best cell, its deflated Sharpe ratio
    over ``n_trials`` cells (a test against zero), ``base_psr`` (the base's probabilistic Sharpe ratio
    against zero, the same test), ``n_beat_base`` cells with a higher Sharpe than the base and
    ``best_vs_base`` = Sharpe(best cell) - Sharpe(base).
    """

    sharpe: dict[str, float]
    max_drawdown: dict[str, float]
    avg_leverage: float
    vs_base: evidence.Interval
    vs_matched: evidence.Interval
    vol_effect: evidence.Interval
    brake_effect: evidence.Interval
    dd_vs_base: evidence.Interval
    dd_vs_matched: evidence.Interval
    dd_vol_effect: evidence.Interval
    dd_brake_effect: evidence.Interval
    best_cell: str = ""
    best_sharpe: float = float("nan")
    deflated_sharpe: float = float("nan")
    n_trials: int = 0
    base_psr: float = float("nan")
    n_beat_base: int = 0
    best_vs_base: evidence.Interval | None = None


PAIRS = {"vs_base": (OVERLAY, BASE), "vs_matched": (OVERLAY, MATCHED),
         "vol_effect": (OVERLAY, "drawdown brake only"), "brake_effect": (OVERLAY, "vol targeting only")}


def paired_evidence(runs: dict[str, pd.DataFrame], table: pd.DataFrame, convention: CashConvention,
                    reps: int = 1000) -> OverlayEvidence:
    """Paired block-bootstrap intervals of the Sharpe and max-drawdown differences the answer reports."""
    ex = {k: convention.excess(v["ret"]) for k, v in runs.items()}
    sharpe = {k: evidence.sharpe_diff_ci(ex[a], ex[b], reps=reps) for k, (a, b) in PAIRS.items()}
    dd = {f"dd_{k}": maxdd_diff_ci(runs[a]["ret"], runs[b]["ret"], reps=reps) for k, (a, b) in PAIRS.items()}
    return OverlayEvidence(sharpe=table["Sharpe"].to_dict(), max_drawdown=table["Max drawdown"].to_dict(),
                           avg_leverage=float(table.loc[OVERLAY, "Avg leverage"]), **sharpe, **dd)


def with_sensitivity(e: OverlayEvidence, table: pd.DataFrame, excess: pd.DataFrame, base_excess: pd.Series,
                     reps: int = 1000) -> OverlayEvidence:
    """``e`` with the sensitivity grid's evidence: best cell, its deflated Sharpe ratio (against zero),
    the base's PSR against zero, how many cells beat the base's Sharpe, and the paired interval of
    Sharpe(best cell) - Sharpe(base) (optimistic: the best cell is chosen on the same data).

    ``table``/``excess`` as returned by :func:`sensitivity`; ``base_excess`` the base's daily excess returns.
    """
    best, best_sharpe, dsr, n = deflated_best(table, excess)
    return replace(e, best_cell=best, best_sharpe=best_sharpe, deflated_sharpe=dsr, n_trials=n,
                   base_psr=evidence.probabilistic_sharpe_ratio(base_excess, 0.0),
                   n_beat_base=int((table["Sharpe"] > e.sharpe[BASE]).sum()),
                   best_vs_base=evidence.sharpe_diff_ci(excess[best], base_excess, reps=reps))


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


def _dd_verdict(ci: evidence.Interval, threshold: float = DD_THRESHOLD) -> str:
    """How a max drawdown compares, from MaxDD(a) - MaxDD(b) and its interval: a small gap is
    "about the same", a gap whose interval includes zero "not distinguishable"."""
    if not (np.isfinite(ci.low) and np.isfinite(ci.high)):
        return "cannot be compared with"
    if abs(ci.estimate) < threshold:
        return "about the same as"
    if ci.low > 0:
        return "smaller than"
    if ci.high < 0:
        return "larger than"
    return "not distinguishable from"


def _points(ci: evidence.Interval) -> str:
    """``"+1.2 points (95% CI -0.4 to +2.9)"`` for a difference in fractions of equity."""
    return f"{ci.estimate * 100:+.1f} points (95% CI {ci.low * 100:+.1f} to {ci.high * 100:+.1f})"


def drawdown_sentence(ci: evidence.Interval, a: str, b: str, dd_a: float, dd_b: float,
                      threshold: float = DD_THRESHOLD) -> str:
    """One sentence on MaxDD(a) - MaxDD(b) (positive: a's is shallower) from its paired interval."""
    both = f"({dd_a:.1%} vs {dd_b:.1%})"
    verdict = _dd_verdict(ci, threshold)
    if verdict == "about the same as":
        return (f"{a[:1].upper() + a[1:]} and {b} have about the same max drawdown {both}: the gap is "
                f"{_points(ci)}, under {threshold * 100:.0f} points.")
    if verdict == "smaller than":
        return f"{a[:1].upper() + a[1:]} has a smaller max drawdown than {b} {both}: {_points(ci)} shallower."
    if verdict == "larger than":
        return f"{a[:1].upper() + a[1:]} has a larger max drawdown than {b} {both}: {_points(ci)} deeper."
    if verdict == "not distinguishable from":
        return (f"No evidence that {a} and {b} differ in max drawdown {both}: the gap is {_points(ci)}, "
                "an interval that includes zero.")
    return f"Too little data to compare the max drawdowns of {a} and {b}."


def _who_works(effects: dict[str, evidence.Interval], what: str, up: str, down: str, none: str,
               threshold: float = 0.0) -> str:
    """Which components' contributions are clear (interval excludes zero, effect at least ``threshold``),
    largest first; ``none`` when neither is."""
    clear = sorted([(k, ci) for k, ci in effects.items() if ci.excludes_zero() and abs(ci.estimate) >= threshold],
                   key=lambda kv: -abs(kv[1].estimate))
    named = [f"{k} ({up if ci.estimate > 0 else down} it)" for k, ci in clear]
    if not named:
        return none
    if len(named) == 1:
        return f"{named[0]} accounts for the change in {what}; the other component's part is not clear"
    return f"both components change the {what}: {named[0]} more, {named[1]} less"


def components_sentence(e: OverlayEvidence, threshold: float = DD_THRESHOLD) -> str:
    """Which component does the work: volatility targeting's part (overlay minus brake alone) and the
    brake's part (overlay minus volatility targeting alone) of the Sharpe and max-drawdown changes."""
    sharpe = _who_works({"volatility targeting": e.vol_effect, "the brake": e.brake_effect}, "Sharpe ratio",
                        "raises", "lowers", "neither component's part is distinguishable from zero")
    dd = _who_works({"volatility targeting": e.dd_vol_effect, "the brake": e.dd_brake_effect}, "max drawdown",
                    "shrinks", "deepens", "neither component's part is clear (an interval excluding zero and at "
                    f"least {threshold * 100:.0f} points)", threshold)
    return (f"Which component does the work: on Sharpe, volatility targeting's part (overlay minus brake alone) "
            f"is {e.vol_effect} and the brake's part (overlay minus volatility targeting alone) is "
            f"{e.brake_effect}, so {sharpe}. On max drawdown (positive: shallower), volatility targeting's part "
            f"is {_points(e.dd_vol_effect)} and the brake's is {_points(e.dd_brake_effect)}, so {dd}.")


def sensitivity_sentence(e: OverlayEvidence) -> str:
    """The grid's best cell: its deflated Sharpe ratio stated as a test against zero (which the base
    passes too), how many cells beat the base, and the paired interval of best cell - base."""
    s = (f"Sensitivity: {e.n_beat_base} of the {e.n_trials} cells have a higher Sharpe ratio than the base's "
         f"{e.sharpe[BASE]:.2f}. The best cell ({e.best_cell}, Sharpe {e.best_sharpe:.2f}) has a deflated Sharpe "
         f"ratio of {e.deflated_sharpe:.2f} after {e.n_trials} trials; that tests its Sharpe against zero, not "
         f"against the base")
    if e.base_psr >= 0.95:
        s += (f", and the unlevered base passes the same test (probabilistic Sharpe ratio {e.base_psr:.4f} "
              "against zero), so it is no evidence for the overlay over the base.")
    else:
        s += f" (the unlevered base's probabilistic Sharpe ratio against zero is {e.base_psr:.4f})."
    if e.best_vs_base is not None:
        s += (" Against the base: " + evidence.decide(e.best_vs_base, "the best cell", "the base portfolio")
              + " This interval is optimistic: the best cell was chosen on the same data.")
    return s


def answer_text(e: OverlayEvidence, threshold: float = DD_THRESHOLD) -> str:
    """The computed answer: overlay vs base and vs matched leverage (Sharpe and max-drawdown differences
    with paired 95% intervals; drawdown gaps under ``threshold`` are "about the same"), which component
    does the work, and what the sensitivity grid's best cell shows."""
    s, dd = e.sharpe, e.max_drawdown
    lev = f"{e.avg_leverage:.2f}x"
    matched = f"constant {lev} leverage"
    parts = [
        f"The overlay (volatility targeting + drawdown brake, average leverage {lev}) after financing and "
        f"costs, Sharpe ratios in excess of cash: overlay {s[OVERLAY]:.2f}, unlevered base {s[BASE]:.2f}, "
        f"{matched} with the same financing and costs {s[MATCHED]:.2f}.",
        evidence.decide(e.vs_base, "the overlay", "the base portfolio"),
        evidence.decide(e.vs_matched, "the overlay", matched),
        drawdown_sentence(e.dd_vs_base, "the overlay", "the base portfolio", dd[OVERLAY], dd[BASE], threshold),
        drawdown_sentence(e.dd_vs_matched, "the overlay", matched, dd[OVERLAY], dd[MATCHED], threshold),
        f"Components alone: volatility targeting Sharpe {s['vol targeting only']:.2f} (max drawdown "
        f"{dd['vol targeting only']:.1%}), drawdown brake Sharpe {s['drawdown brake only']:.2f} "
        f"({dd['drawdown brake only']:.1%}).",
        components_sentence(e, threshold),
    ]
    if e.n_trials:
        parts.append(sensitivity_sentence(e))
    parts.append(
        f"Verdict: the overlay {_verdict(e.vs_base)} the Sharpe ratio of the base portfolio and "
        f"{_verdict(e.vs_matched)} that of matched constant leverage; its max drawdown is "
        f"{_dd_verdict(e.dd_vs_base, threshold)} the base's and {_dd_verdict(e.dd_vs_matched, threshold)} "
        "matched leverage's.")
    return " ".join(parts)


def evidence_lines(e: OverlayEvidence, threshold: float = DD_THRESHOLD) -> list[str]:
    """The paired comparisons, one line each: Sharpe differences, then max-drawdown differences."""
    matched = f"constant {e.avg_leverage:.2f}x leverage"
    worse = {"vs_base": "the base portfolio", "vs_matched": matched, "vol_effect": "the brake alone",
             "brake_effect": "volatility targeting alone"}
    lines = [f"Sharpe {k:>12}: " + evidence.decide(getattr(e, k), "the overlay", w) for k, w in worse.items()]
    dd = e.max_drawdown
    for k, (a, b) in PAIRS.items():
        lines.append(f"MaxDD  {k:>12}: " + drawdown_sentence(getattr(e, f"dd_{k}"), "the overlay", worse[k],
                                                             dd[a], dd[b], threshold))
    return lines


def evaluated_frame(frame: pd.DataFrame, overlay_run: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (e.g. the loaded prices, with their provenance) on the overlay's evaluated dates only,
    so the answer's label states the evaluation period, not the covariance warm-up."""
    return frame.loc[overlay_run.index[0]:overlay_run.index[-1]]


def recorded(e: OverlayEvidence, table: pd.DataFrame) -> dict:
    """The recorded keys besides ``answer``."""
    return {"sharpe_base": e.sharpe[BASE], "sharpe_dynamic": e.sharpe[OVERLAY],
            "sharpe_matched_leverage": e.sharpe[MATCHED], "maxdd_dynamic": e.max_drawdown[OVERLAY],
            "sharpe_diff_ci": {"vs_base": e.vs_base.as_list(), "vs_matched": e.vs_matched.as_list()},
            "ablation": {k: {"sharpe": float(r["Sharpe"]), "max_drawdown": float(r["Max drawdown"]),
                             "cagr": float(r["CAGR"])} for k, r in table.iterrows()},
            "deflated_sharpe_best_cell": e.deflated_sharpe,
            "maxdd_diff_ci": {"vs_base": e.dd_vs_base.as_list(), "vs_matched": e.dd_vs_matched.as_list()},
            "cells_beating_base": e.n_beat_base,
            "sharpe_diff_ci_best_cell_vs_base": None if e.best_vs_base is None else e.best_vs_base.as_list()}


# --------------------------------------------------------------------------- outputs


def daily_series(rets: pd.DataFrame, prices: pd.DataFrame, base: BacktestResult,
                 overlay: pd.DataFrame) -> pd.DataFrame:
    """The original project's daily CSV columns: prices, per-asset returns ``ret_X``, weights ``w_X``, the base
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


def run_folder(output_dir: str | Path | None) -> Path:
    """Where this run writes its side outputs.

    ``output_dir`` given (the runner passes the run's own report folder): that folder, relative to
    the project root unless absolute. ``None`` (interactive use, nbval): a fresh temporary folder
    (``05_outputs-*`` under the system's temporary directory), never a fixed path under ``reports/``.
    """
    if output_dir not in (None, ""):
        return project_path(output_dir)
    return Path(tempfile.mkdtemp(prefix="05_outputs-"))


def write_outputs(folder: Path, daily: pd.DataFrame, summary: dict) -> list[Path]:
    """Write ``dd_leverage_series.csv`` and ``dd_leverage_summary.json`` atomically into ``folder``."""
    csv, js = folder / "dd_leverage_series.csv", folder / "dd_leverage_summary.json"
    atomic_write_text(csv, daily.to_csv(date_format="%Y-%m-%d"))
    atomic_write_text(js, json.dumps(summary, indent=2, default=str))
    return [csv, js]
