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
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import comparison as cmp
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
DD_MARGIN = 2.0  # points: max drawdowns are "about the same" when the whole interval of their gap lies within +-2


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
    against zero, the same test), ``n_beat_base`` cells with a higher Sharpe than the base,
    ``best_vs_base`` = Sharpe(best cell) - Sharpe(base) and ``psr_vs_base``, the best cell's probabilistic
    Sharpe ratio against the base's Sharpe. ``halves``: decisions on the first and second half of the
    dates, keyed like the intervals ("vs_base", "dd_vs_base", ..., "best_vs_base"). ``at_cap`` /
    ``at_floor``: share of the overlay's days with leverage at ``lev_max`` / ``lev_min``.
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
    psr_vs_base: float = float("nan")
    halves: dict = field(default_factory=dict)
    at_cap: float = float("nan")
    at_floor: float = float("nan")
    lev_max: float = float("nan")
    lev_min: float = float("nan")


PAIRS = {"vs_base": (OVERLAY, BASE), "vs_matched": (OVERLAY, MATCHED),
         "vol_effect": (OVERLAY, "drawdown brake only"), "brake_effect": (OVERLAY, "vol targeting only")}


def paired_evidence(runs: dict[str, pd.DataFrame], table: pd.DataFrame, convention: CashConvention,
                    reps: int = 1000, params: OverlayParams | None = None) -> OverlayEvidence:
    """Paired block-bootstrap intervals of the Sharpe and max-drawdown differences the answer reports,
    the same decided on each half of the dates, and (with ``params``) how often leverage sits at its bounds."""
    ex = {k: convention.excess(v["ret"]) for k, v in runs.items()}
    sharpe_ci = lambda a, b: evidence.sharpe_diff_ci(a, b, reps=reps)  # noqa: E731
    dd_ci = lambda a, b: maxdd_diff_ci(a, b, reps=reps)  # noqa: E731
    sharpe = {k: sharpe_ci(ex[a], ex[b]) for k, (a, b) in PAIRS.items()}
    dd = {f"dd_{k}": dd_ci(runs[a]["ret"], runs[b]["ret"]) for k, (a, b) in PAIRS.items()}
    halves = {k: cmp.halves_decisions(sharpe_ci, ex[a], ex[b]) for k, (a, b) in PAIRS.items()}
    halves |= {f"dd_{k}": cmp.halves_decisions(dd_ci, runs[a]["ret"], runs[b]["ret"], margin=DD_MARGIN / 100)
               for k, (a, b) in PAIRS.items()}
    use = {} if params is None else leverage_use(runs[OVERLAY]["leverage"], params)
    return OverlayEvidence(sharpe=table["Sharpe"].to_dict(), max_drawdown=table["Max drawdown"].to_dict(),
                           avg_leverage=float(table.loc[OVERLAY, "Avg leverage"]), **sharpe, **dd,
                           halves=halves, **use)


def leverage_use(leverage: pd.Series, p: OverlayParams) -> dict[str, float]:
    """Share of days the leverage sits at ``p.lev_max`` (``at_cap``) and at ``p.lev_min`` (``at_floor``)."""
    lev = leverage.to_numpy(dtype=float)
    return {"at_cap": float(np.isclose(lev, p.lev_max, rtol=0, atol=1e-9).mean()),
            "at_floor": float(np.isclose(lev, p.lev_min, rtol=0, atol=1e-9).mean()),
            "lev_max": float(p.lev_max), "lev_min": float(p.lev_min)}


def with_sensitivity(e: OverlayEvidence, table: pd.DataFrame, excess: pd.DataFrame, base_excess: pd.Series,
                     reps: int = 1000) -> OverlayEvidence:
    """``e`` with the sensitivity grid's evidence: best cell, its deflated Sharpe ratio (against zero),
    the base's PSR against zero, how many cells beat the base's Sharpe, the paired interval of
    Sharpe(best cell) - Sharpe(base) (optimistic: the best cell is chosen on the same data) with its
    halves, and the best cell's probabilistic Sharpe ratio against the base's Sharpe (daily, unpaired).

    ``table``/``excess`` as returned by :func:`sensitivity`; ``base_excess`` the base's daily excess returns.
    """
    best, best_sharpe, dsr, n = deflated_best(table, excess)
    diff_ci = lambda a, b: evidence.sharpe_diff_ci(a, b, reps=reps)  # noqa: E731
    return replace(e, best_cell=best, best_sharpe=best_sharpe, deflated_sharpe=dsr, n_trials=n,
                   base_psr=evidence.probabilistic_sharpe_ratio(base_excess, 0.0),
                   n_beat_base=int((table["Sharpe"] > e.sharpe[BASE]).sum()),
                   best_vs_base=diff_ci(excess[best], base_excess),
                   psr_vs_base=psr_best_cell_vs_base(excess[best], base_excess),
                   halves={**e.halves, "best_vs_base": cmp.halves_decisions(diff_ci, excess[best].dropna(),
                                                                            base_excess)})


def psr_best_cell_vs_base(best_excess: pd.Series, base_excess: pd.Series) -> float:
    """Probabilistic Sharpe ratio of the best cell against the base's (daily) Sharpe ratio: P(true Sharpe of
    the cell > the base's observed Sharpe), Bailey & Lopez de Prado; the deflated Sharpe ratio tests
    against zero only."""
    return evidence.probabilistic_sharpe_ratio(best_excess.dropna(), evidence.daily_sharpe(base_excess.dropna()))


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

QUESTION = ("Does a volatility-targeting, drawdown-braking leverage overlay improve the Sharpe ratio and cut "
            "drawdowns, against the unlevered portfolio and against holding its average leverage constantly?")
DD_MEASURE = "max drawdown (+ = shallower)"
_HALF_WORDS = {cmp.ABOVE: "overlay ahead", cmp.BELOW: "overlay behind"}
_DD_WORDS = {cmp.ABOVE: "shallower", cmp.BELOW: "deeper", cmp.NONE: "not distinguishable",
             cmp.SAME: "about the same", cmp.NO_DATA: "too little data"}


def _sharpe(ci: evidence.Interval, what: str, halves=None) -> cmp.Comparison:
    return cmp.Comparison.from_interval(ci, what, "Sharpe ratio", halves=halves)


def _drawdown(ci: evidence.Interval, what: str, halves=None) -> cmp.Comparison:
    """MaxDD(a) - MaxDD(b) in points of equity (positive: a's is shallower); "about the same" only when
    the whole interval lies within +-DD_MARGIN points."""
    return cmp.Comparison(what, DD_MEASURE, ci.estimate * 100, ci.low * 100, ci.high * 100, ci.level,
                          unit="points", halves=halves, margin=DD_MARGIN, digits=1)


def comparisons(e: OverlayEvidence) -> list[cmp.Comparison]:
    """The study's comparisons as data: Sharpe then max drawdown of the overlay against the base and
    matched leverage, the two components' parts, and the sensitivity grid's best cell against the base.

    The first is the deciding one (overlay vs base on Sharpe).
    """
    lev = f"matched {e.avg_leverage:.2f}x leverage"
    names = {"vs_base": "overlay vs base", "vs_matched": f"overlay vs {lev}",
             "vol_effect": "overlay vs brake only", "brake_effect": "overlay vs vol targeting only"}
    h = e.halves
    rows = [_sharpe(getattr(e, k), names[k], h.get(k)) for k in ("vs_base", "vs_matched")]
    rows += [_drawdown(getattr(e, f"dd_{k}"), names[k], h.get(f"dd_{k}")) for k in ("vs_base", "vs_matched")]
    rows += [_sharpe(getattr(e, k), names[k], h.get(k)) for k in ("vol_effect", "brake_effect")]
    rows += [_drawdown(getattr(e, f"dd_{k}"), names[k], h.get(f"dd_{k}")) for k in ("vol_effect", "brake_effect")]
    if e.best_vs_base is not None:
        rows.append(_sharpe(e.best_vs_base, f"best cell ({e.best_cell}) vs base", h.get("best_vs_base")))
    return rows


def verdict(c: cmp.Comparison) -> str:
    """A few words on the deciding comparison (overlay vs base, Sharpe) for the summary table."""
    if c.decision == cmp.ABOVE:
        return "The overlay improves Sharpe"
    if c.decision == cmp.BELOW:
        return "The overlay lowers Sharpe"
    if c.decision == cmp.NO_DATA:
        return "Too little data"
    return "No evidence the overlay improves Sharpe"


def headline(rows: list[cmp.Comparison]) -> str:
    """At most 40 words: the verdict on Sharpe vs the base with its interval, the matched-leverage gap,
    the drawdown decision, and whether the verdict holds in both halves."""
    base, matched, dd = rows[0], rows[1], rows[2]
    fmt = lambda c: cmp.format_interval(c.estimate, c.low, c.high, c.level, c.unit, c.digits)  # noqa: E731
    sharpe = f"{verdict(base)} over the unlevered base: {fmt(base)}; vs {matched.what.split(' vs ')[1]}: {fmt(matched)}."
    drawdown = f" Max drawdown vs base: {_DD_WORDS[dd.decision]}."
    split = [f"Sharpe by half: {_HALF_WORDS.get(base.halves[0], base.halves[0])}, then "
             f"{_HALF_WORDS.get(base.halves[1], base.halves[1])}." if base.holds_in_halves is False else "",
             f"Drawdown by half: {_DD_WORDS[dd.halves[0]]}, then {_DD_WORDS[dd.halves[1]]}."
             if dd.holds_in_halves is False else ""]
    short = " Not in both halves." if any(split) else ""
    full = "".join(f" {t}" for t in split if t)
    for text in (sharpe + drawdown + full, sharpe.replace(" unlevered", "") + drawdown + full,
                 sharpe + drawdown + short, sharpe + short):
        if len(text.split()) <= cmp.MAX_HEADLINE_WORDS:
            break
    return cmp.headline(text)


def caveats(e: OverlayEvidence, convention: CashConvention, spreads: pd.DataFrame | None = None) -> list[str]:
    """Caveats computed from the results, the convention and the parameters."""
    out = [f"Matched leverage holds the overlay's full-period average leverage, {e.avg_leverage:.2f}x, known only "
           "in hindsight: a yardstick for how the leverage is varied, not a strategy one could have run."]
    if np.isfinite(e.at_cap):
        out.append(f"The overlay's leverage sits at its cap of {e.lev_max:g}x on {e.at_cap:.0%} of days and at "
                   f"its floor of {e.lev_min:g}x on {e.at_floor:.0%}.")
    block = e.dd_vs_base.block
    out.append(f"Max drawdowns are called about the same only when the whole {e.dd_vs_base.level:.0%} interval of "
               f"their difference lies within ±{DD_MARGIN:g} points. Each is one path; the block bootstrap "
               + (f"(mean block {block:.0f} days) " if np.isfinite(block) else "")
               + "breaks up longer losing streaks, so read those intervals as a rough gauge.")
    if e.n_trials:
        out.append(f"Sensitivity: {e.n_beat_base} of {e.n_trials} cells have a higher Sharpe ratio than the base's "
                   f"{e.sharpe[BASE]:.2f}. The best cell ({e.best_cell}, {e.best_sharpe:.2f}) has a probabilistic "
                   f"Sharpe ratio of {e.psr_vs_base:.2f} against the base's Sharpe; its deflated Sharpe ratio "
                   f"{e.deflated_sharpe:.3f} after {e.n_trials} trials tests against zero only. Both are in-sample.")
    if spreads is not None and len(spreads):
        lo, hi = spreads.index.min(), spreads.index.max()
        out.append(f"Financing: {convention.describe()}. From a {lo:.0%} to a {hi:.0%} spread the overlay's Sharpe "
                   f"goes from {spreads['Sharpe overlay'].iloc[0]:.2f} to {spreads['Sharpe overlay'].iloc[-1]:.2f} "
                   f"(base {spreads['Sharpe base'].iloc[0]:.2f}).")
    else:
        out.append(f"Financing: {convention.describe()}.")
    return out


def conclusion(e: OverlayEvidence, convention: CashConvention, spreads: pd.DataFrame | None = None) -> dict:
    """The keyword arguments of :func:`helpers.reporting.conclude` but the frame: question, headline,
    comparisons, verdict, deciding, caveats."""
    rows = comparisons(e)
    return {"question": QUESTION, "headline": headline(rows), "comparisons": rows, "verdict": verdict(rows[0]),
            "deciding": 0, "caveats": caveats(e, convention, spreads)}


def evidence_lines(e: OverlayEvidence) -> list[str]:
    """The paired comparisons, one sentence each (helpers.comparison's wording)."""
    return [cmp.sentence(c) for c in comparisons(e)]


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
            "sharpe_diff_ci_best_cell_vs_base": None if e.best_vs_base is None else e.best_vs_base.as_list(),
            "psr_best_cell_vs_base": None if not np.isfinite(e.psr_vs_base) else e.psr_vs_base,
            "leverage_at_cap_share": None if not np.isfinite(e.at_cap) else e.at_cap}


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
