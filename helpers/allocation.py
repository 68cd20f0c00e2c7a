"""Notebook 04's evaluation: covariance estimators compared, strategies backtested and judged.

Inputs are daily simple returns (rows: dates, columns: assets) and target-weight frames from
:func:`helpers.signals.allocation_targets`; every backtest goes through
:func:`helpers.backtest.run_backtest` with one :class:`~helpers.backtest.CashConvention`, so
returns and Sharpe ratios are net of costs and in excess of the same cash rate. Intervals are
the stationary block bootstraps of :mod:`helpers.evidence`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from helpers import evidence, metrics
from helpers.backtest import TRADING_DAYS, BacktestResult, CashConvention, run_backtest
from helpers.portfolio import COV_LABELS, covariance, min_variance


def min_variance_path(returns: pd.DataFrame, dates: pd.DatetimeIndex, cov_lookback: int = 252,
                      method: str = "lw_correlation") -> tuple[pd.DataFrame, pd.Series]:
    """Long-only minimum-variance weights at each date from the ``cov_lookback`` returns through it.

    Returns (weights (n_dates, n_assets), ex-ante annualized volatility sqrt(252 w'Sw) per date).
    """
    rows, ex_ante = {}, {}
    for d in dates:
        hist = returns.loc[:d].tail(cov_lookback).dropna()
        cov = covariance(hist, method)
        w = min_variance(cov)
        rows[d] = w
        ex_ante[d] = float(np.sqrt(w.to_numpy() @ cov.to_numpy() @ w.to_numpy() * TRADING_DAYS))
    return pd.DataFrame(rows).T, pd.Series(ex_ante, name="ex-ante volatility")


def estimator_table(returns: pd.DataFrame, dates: pd.DatetimeIndex, convention: CashConvention,
                    methods: Iterable[str], cov_lookback: int = 252, low_vol_asset: str | None = None) -> pd.DataFrame:
    """Minimum-variance portfolio under each covariance estimator, one row per estimator.

    Columns: mean ex-ante volatility, realized volatility of the backtest (net, annualized),
    and, for ``low_vol_asset`` (default: the least volatile asset over the evaluation period),
    its mean weight and its mean *estimated* volatility (its realized volatility is in the
    caption row ``"<asset> realized"``). An estimator that fits the assets has ex-ante close to
    realized volatility and estimates the low-volatility asset's volatility near its own.
    """
    live = returns.loc[dates[0]:].iloc[1:]  # the days the portfolios earn returns
    vols = live.std(ddof=1) * np.sqrt(TRADING_DAYS)
    low = low_vol_asset or str(vols.idxmin())
    out = {}
    for m in methods:
        w, ex = min_variance_path(returns, dates, cov_lookback, m)
        res = run_backtest(returns, w, convention)
        est = [np.sqrt(covariance(returns.loc[:d].tail(cov_lookback).dropna(), m).loc[low, low] * TRADING_DAYS)
               for d in dates]
        out[COV_LABELS.get(m, m)] = {"ex-ante vol": float(ex.mean()),
                                     "realized vol": metrics.annualized_volatility(evaluated(res)[0]),
                                     f"{low} weight": float(w[low].mean()),
                                     f"{low} vol, estimated": float(np.mean(est))}
    table = pd.DataFrame(out).T
    table.loc[f"{low} realized"] = [np.nan, float(vols[low]), 1.0, float(vols[low])]
    return table


def evaluated(result: BacktestResult) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(returns, cash returns, traded) from the first day a return is earned: the backtest minus its first row.

    The first row is the first rebalance day itself: no market return yet, only the one-off
    cost of the initial purchase. Leaving it out puts strategies and assets on the same days
    (an asset's statistics start on the same day) and keeps a one-off cost out of the
    turnover and volatility of near-cash portfolios, where one 5 bp day would dominate.
    """
    return result.returns.iloc[1:], result.cash.iloc[1:], result.traded.iloc[1:]


def run_all(returns: pd.DataFrame, targets: dict[str, pd.DataFrame],
            convention: CashConvention) -> dict[str, BacktestResult]:
    """One backtest per strategy, same returns and convention."""
    return {name: run_backtest(returns, t, convention) for name, t in targets.items()}


def performance(runs: dict[str, BacktestResult]) -> pd.DataFrame:
    """Per strategy: sharpe (in excess of the cash rate), volatility, cagr, max_drawdown, turnover.

    Over the days returns are earned (see :func:`evaluated`); turnover is one-way, per year,
    of the rebalances after the initial purchase.
    """
    rows = {}
    for name, r in runs.items():
        ret, cash, traded = evaluated(r)
        s = metrics.performance_summary(ret, cash)
        rows[name] = {"sharpe": s["Sharpe"], "volatility": s["Volatility"], "cagr": s["CAGR"],
                      "max_drawdown": s["Max drawdown"], "turnover": float(traded.sum() / 2 / (len(ret) / TRADING_DAYS))}
    return pd.DataFrame(rows).T


def cost_sweep(returns: pd.DataFrame, targets: dict[str, pd.DataFrame], convention: CashConvention,
               costs_bps: Iterable[float] = (0, 5, 10, 20)) -> pd.DataFrame:
    """Sharpe ratio of every strategy (rows) at each trading cost in bp per side (columns)."""
    out = {}
    for c in costs_bps:
        runs = run_all(returns, targets, replace(convention, cost_bps=float(c)))
        out[f"{c:g} bp"] = performance(runs)["sharpe"]
    return pd.DataFrame(out)


def sharpe_intervals(runs: dict[str, BacktestResult], seed: int = 0) -> pd.DataFrame:
    """Each strategy's annualized Sharpe ratio with its 95% block-bootstrap interval.

    Over the days returns are earned, like :func:`performance`.
    """
    rows = {}
    for name, r in runs.items():
        ret, cash, _ = evaluated(r)
        ci = evidence.sharpe_ci(ret - cash, seed=seed)
        rows[name] = {"Sharpe": ci.estimate, "low": ci.low, "high": ci.high}
    return pd.DataFrame(rows).T


def sharpe_differences(runs: dict[str, BacktestResult], strategies: Iterable[str], benchmarks: Iterable[str],
                       seed: int = 0) -> dict[tuple[str, str], evidence.Interval]:
    """Sharpe(strategy) - Sharpe(benchmark) with a paired block-bootstrap 95% interval, per pair."""
    out = {}
    for s in strategies:
        for b in benchmarks:
            a, c = runs[s].excess_returns.iloc[1:], runs[b].excess_returns.iloc[1:]
            out[(s, b)] = evidence.sharpe_diff_ci(a, c, seed=seed)
    return out


def answer_text(diffs: dict[tuple[str, str], evidence.Interval], years: float, cost_bps: float,
                period: str = "") -> str:
    """The notebook's answer from the Sharpe differences of ML strategies against benchmarks.

    One :func:`helpers.evidence.decide` sentence per pair, then a verdict: the ML signals beat
    the benchmarks only if some ML strategy's interval lies above zero against every benchmark.
    ``period`` (e.g. "2010-06-28 to 2025-12-31") is named when given.
    """
    span = f" ({period})" if period else ""
    lines = [f"Out of sample over {years:.1f} years{span}, net of {cost_bps:g} bp trading costs, Sharpe ratios in "
             "excess of cash (95% block-bootstrap intervals):"]
    lines += [evidence.decide(ci, s, b) for (s, b), ci in diffs.items()]
    strategies = list(dict.fromkeys(s for s, _ in diffs))
    benchmarks = list(dict.fromkeys(b for _, b in diffs))
    beats = {s: [b for b in benchmarks if diffs[(s, b)].low > 0] for s in strategies}
    trails = {s: [b for b in benchmarks if diffs[(s, b)].high < 0] for s in strategies}
    winners = [s for s in strategies if len(beats[s]) == len(benchmarks)]
    if winners:
        verdict = f"Yes: {' and '.join(winners)} beat{'s' if len(winners) == 1 else ''} every benchmark."
    elif any(beats.values()):
        some = "; ".join(f"{s} beats {', '.join(b)}" for s, b in beats.items() if b)
        verdict = f"Only in part: {some}; no ML strategy beats every benchmark."
    else:
        verdict = "No: no ML strategy beats any of the benchmarks with an interval above zero."
    if any(trails.values()):
        verdict += " " + "; ".join(f"{s} trails {', '.join(b)}" for s, b in trails.items() if b) + "."
    return "\n".join(lines + [verdict])


def weights_at(targets: dict[str, pd.DataFrame], n_dates: int = 4, threshold: float = 0.005) -> pd.DataFrame:
    """Target weights of every strategy at ``n_dates`` evenly spaced rebalance dates (rows: strategy, date).

    Weights below ``threshold`` are shown as 0; the ``cash`` column is 1 minus the sum of weights.
    """
    frames = []
    for name, t in targets.items():
        pick = t.iloc[np.linspace(0, len(t) - 1, n_dates).round().astype(int)]
        pick = pick.where(pick.abs() >= threshold, 0.0)
        cash = 1.0 - t.loc[pick.index].sum(axis=1)
        pick = pick.assign(cash=cash.where(cash.abs() >= 1e-9, 0.0))
        pick.index = pd.MultiIndex.from_product([[name], [d.date() for d in pick.index]], names=["strategy", "date"])
        frames.append(pick)
    return pd.concat(frames)
