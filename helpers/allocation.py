"""Notebook 04's evaluation: covariance estimators compared, strategies backtested and judged.

Inputs are daily simple returns (rows: dates, columns: assets) and target-weight frames from
:func:`helpers.signals.allocation_targets`; every backtest goes through
:func:`helpers.backtest.run_backtest` with one :class:`~helpers.backtest.CashConvention`, so
returns and Sharpe ratios are net of costs and in excess of the same cash rate. Intervals are
the stationary block bootstraps of :mod:`helpers.evidence`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from helpers import evidence, metrics
from helpers.backtest import BacktestResult, CashConvention, run_backtest
from helpers.metrics import TRADING_DAYS
from helpers.portfolio import COV_LABELS, covariance, min_variance, shrinkage_intensity, trailing_windows


def _windows(returns: pd.DataFrame, dates: pd.DatetimeIndex, cov_lookback: int):
    """(d, the ``cov_lookback`` returns through d) for each date d."""
    for d, hist in trailing_windows(returns, dates, cov_lookback):
        yield d, hist.dropna()


def min_variance_path(returns: pd.DataFrame, dates: pd.DatetimeIndex, cov_lookback: int = 252,
                      method: str = "lw_correlation", details: bool = False):
    """Long-only minimum-variance weights at each date from the ``cov_lookback`` returns through it.

    Returns (weights (n_dates, n_assets), ex-ante annualized volatility sqrt(252 w'Sw) per date);
    with ``details`` also a frame per date of each asset's estimated annualized volatility
    (columns: assets) plus the estimator's ``shrinkage`` intensity.
    """
    rows, ex_ante, info = {}, {}, {}
    for d, hist in _windows(returns, dates, cov_lookback):
        cov = covariance(hist, method)
        w = min_variance(cov)
        rows[d] = w
        ex_ante[d] = float(np.sqrt(w.to_numpy() @ cov.to_numpy() @ w.to_numpy() * TRADING_DAYS))
        if details:
            info[d] = pd.Series(np.sqrt(np.diag(cov.to_numpy()) * TRADING_DAYS), index=cov.index)
            info[d]["shrinkage"] = shrinkage_intensity(hist, method)
    out = pd.DataFrame(rows).T, pd.Series(ex_ante, name="ex-ante volatility")
    return (*out, pd.DataFrame(info).T) if details else out


def estimator_table(returns: pd.DataFrame, dates: pd.DatetimeIndex, convention: CashConvention,
                    methods: Iterable[str], cov_lookback: int = 252, low_vol_asset: str | None = None) -> pd.DataFrame:
    """Minimum-variance portfolio under each covariance estimator, one row per estimator.

    Columns: mean ex-ante volatility, realized volatility of the backtest (net, annualized),
    and, for ``low_vol_asset`` (default: the least volatile asset over the evaluation period),
    its mean weight and its mean *estimated* volatility (its realized volatility is in the
    caption row ``"<asset> realized"``); then what separates estimators that agree on those:
    the mean ``shrinkage`` intensity (0 = the sample covariance) and the mean one-way
    ``turnover`` of the weights per rebalance. An estimator that fits the assets has ex-ante
    close to realized volatility and estimates the low-volatility asset's volatility near its own.
    """
    live = returns.loc[dates[0]:].iloc[1:]  # the days the portfolios earn returns
    vols = live.std(ddof=1) * np.sqrt(TRADING_DAYS)
    low = low_vol_asset or str(vols.idxmin())
    out = {}
    for m in methods:
        w, ex, info = min_variance_path(returns, dates, cov_lookback, m, details=True)
        res = run_backtest(returns, w, convention)
        out[COV_LABELS.get(m, m)] = {"ex-ante vol": float(ex.mean()),
                                     "realized vol": metrics.annualized_volatility(evaluated(res)[0]),
                                     f"{low} weight": float(w[low].mean()),
                                     f"{low} vol, estimated": float(info[low].mean()),
                                     "shrinkage": float(info["shrinkage"].mean()),
                                     "turnover": float(w.diff().abs().sum(axis=1).iloc[1:].mean() / 2)}
    table = pd.DataFrame(out).T
    table.loc[f"{low} realized"] = [np.nan, float(vols[low]), 1.0, float(vols[low]), np.nan, np.nan]
    return table


def estimator_sentence(table: pd.DataFrame, default: str, reference: str = "sample") -> str:
    """One computed sentence on what separates the default estimator from the ``reference`` row.

    ``table`` : :func:`estimator_table` output; ``default``, ``reference`` : its row labels.
    """
    d, r = table.loc[default], table.loc[reference]
    low = table.index[-1].removesuffix(" realized")
    far = table.drop(index=[table.index[-1]])[f"{low} vol, estimated"].idxmax()
    close = abs(d["realized vol"] / r["realized vol"] - 1) < 0.1
    return (f"{default} shrinks the correlations by {d['shrinkage']:.1%} on average "
            f"(weight on the identity), and its minimum-variance portfolio is "
            f"{'close to' if close else 'not close to'} the {reference} one: "
            f"realized volatility {d['realized vol']:.2%} vs {r['realized vol']:.2%}, turnover "
            f"{d['turnover']:.2%} vs {r['turnover']:.2%} per rebalance; unlike shrinkage towards a scaled "
            f"identity ({far}: {low}'s volatility seen as {table.loc[far, f'{low} vol, estimated']:.2%} "
            f"against {table.iloc[-1]['realized vol']:.2%} realized), it keeps each asset's own variance.")


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


@dataclass(frozen=True)
class PairedTest:
    """A paired Sharpe-ratio difference: its 95% interval and a two-sided bootstrap p-value."""

    interval: evidence.Interval
    pvalue: float


def paired_sharpe_test(excess_a: pd.Series, excess_b: pd.Series, reps: int = 1000, seed: int = 0) -> PairedTest:
    """Sharpe(a) - Sharpe(b) (annualized) with :func:`helpers.evidence.sharpe_diff_ci`'s paired
    stationary block bootstrap, and the p-value of "no difference" from the same draws.

    The p-value is the smallest level at which the percentile interval includes zero,
    2 min(share of draws <= 0, share >= 0) (at most 1), so p < 0.05 exactly when the 95%
    interval excludes zero. Inputs: daily excess returns on the same dates (NaN rows dropped).
    """
    from arch.bootstrap import StationaryBootstrap

    x = pd.concat([excess_a, excess_b], axis=1, sort=True).dropna().to_numpy(dtype=float)
    interval = evidence.sharpe_diff_ci(excess_a, excess_b, reps=reps, seed=seed)
    if len(x) < 10:
        return PairedTest(interval, float("nan"))
    bs = StationaryBootstrap(evidence.block_length(x), x, seed=np.random.default_rng(seed))

    def diff(d):
        sd = d.std(axis=0, ddof=1)
        return float((d[:, 0].mean() / sd[0] - d[:, 1].mean() / sd[1]) * np.sqrt(TRADING_DAYS))

    draws = np.array([diff(pos[0]) for pos, _ in bs.bootstrap(reps)])
    draws = draws[np.isfinite(draws)]
    return PairedTest(interval, float(min(1.0, 2 * min((draws <= 0).mean(), (draws >= 0).mean()))))


def holm(pvalues: dict, alpha: float = 0.05) -> dict:
    """Holm's step-down adjusted p-values, {key: adjusted p}; reject where adjusted p <= ``alpha``.

    Sorted ascending, p_(k) is adjusted to max over j <= k of min(1, (m - j + 1) p_(j)) (m tests);
    the family-wise error rate is at most ``alpha`` whatever the dependence between the tests.
    """
    keys = sorted(pvalues, key=lambda k: pvalues[k])
    m, running, out = len(keys), 0.0, {}
    for j, k in enumerate(keys):
        running = max(running, min(1.0, (m - j) * pvalues[k]))
        out[k] = running
    return {k: out[k] for k in pvalues}


def sharpe_differences(runs: dict[str, BacktestResult], strategies: Iterable[str], benchmarks: Iterable[str],
                       seed: int = 0) -> dict[tuple[str, str], PairedTest]:
    """Sharpe(strategy) - Sharpe(benchmark) with a paired block-bootstrap 95% interval and p-value, per pair."""
    out = {}
    for s in strategies:
        for b in benchmarks:
            a, c = runs[s].excess_returns.iloc[1:], runs[b].excess_returns.iloc[1:]
            out[(s, b)] = paired_sharpe_test(a, c, seed=seed)
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pair_sentence(s: str, b: str, t: PairedTest, adjusted: float, alpha: float, m: int) -> str:
    est = f"{t.interval.estimate:+.2f} (95% CI {evidence.fmt_ci(t.interval)}, unadjusted; Holm-adjusted p = {adjusted:.3f})"
    if adjusted <= alpha:
        return f"{_cap(s)} {'beats' if t.interval.estimate > 0 else 'trails'} {b} on Sharpe ratio: the difference is {est}."
    note = (f"; the unadjusted interval excludes zero, but not at the level adjusted for {m} comparisons"
            if t.interval.excludes_zero() else "")
    return f"No evidence that {s} and {b} differ in Sharpe ratio: the difference is {est}{note}."


def skill_sentences(ranking: evidence.Interval | None = None, skill: pd.DataFrame | None = None,
                    horizon: int | None = None, any_winner: bool = False) -> list[str]:
    """Sentences on forecast skill for the answer: ranking skill across assets and hit rates below "always up".

    ``ranking`` : mean cross-sectional IC with its interval; ``skill`` : :func:`helpers.signals.skill`
    (columns "hit rate", "up share"); ``any_winner`` : whether some ML portfolio beat a benchmark.
    """
    out = []
    days = f"{horizon}-day " if horizon else ""
    if ranking is not None:
        head = (f"Ranking skill: the mean cross-sectional IC (forecast against realized {days}excess return "
                f"across assets, non-overlapping dates) is {ranking}")
        if ranking.low > 0:
            tail = ("; it shows in the portfolios above." if any_winner else
                    ", above zero, but this ranking skill does not reach the long-only portfolios, "
                    "which beat no benchmark.")
        elif ranking.high < 0:
            tail = ", below zero: the forecasts rank the assets the wrong way round."
        else:
            tail = ": no evidence of ranking skill."
        out.append(head + tail)
    if skill is not None:
        below = skill[skill["hit rate"] < skill["up share"]]
        if len(below):
            out.append(f"{len(below)} of {len(skill)} assets have a hit rate below the always-up rate (share of "
                       "positive excess returns): " + ", ".join(f"{a} {r['hit rate']:.2f} vs {r['up share']:.2f}"
                                                                for a, r in below.iterrows()) + ".")
    return out


def answer_text(tests: dict[tuple[str, str], PairedTest], years: float, cost_bps: float, alpha: float = 0.05,
                ranking: evidence.Interval | None = None, skill: pd.DataFrame | None = None,
                horizon: int | None = None) -> str:
    """The notebook's answer from the Sharpe differences of ML strategies against benchmarks.

    Every pair is decided at a Holm-adjusted ``alpha`` over all pairs (the family of
    comparisons), with the unadjusted 95% interval shown beside it; then a verdict: the ML
    signals beat the benchmarks only if some ML strategy beats every benchmark at that level.
    ``ranking``, ``skill``, ``horizon``: see :func:`skill_sentences` (added when given).
    """
    m = len(tests)
    adjusted = holm({k: t.pvalue for k, t in tests.items()}, alpha)
    lines = [f"Out of sample over {years:.1f} years, net of {cost_bps:g} bp trading costs, Sharpe ratios in "
             f"excess of cash. {m} comparisons (each ML strategy against each benchmark), each decided at a "
             f"Holm-adjusted {alpha:.0%} level; 95% block-bootstrap intervals shown unadjusted:"]
    lines += [_pair_sentence(s, b, t, adjusted[(s, b)], alpha, m) for (s, b), t in tests.items()]
    strategies = list(dict.fromkeys(s for s, _ in tests))
    benchmarks = list(dict.fromkeys(b for _, b in tests))
    sig = {k: adjusted[k] <= alpha for k in tests}
    beats = {s: [b for b in benchmarks if sig[(s, b)] and tests[(s, b)].interval.estimate > 0] for s in strategies}
    trails = {s: [b for b in benchmarks if sig[(s, b)] and tests[(s, b)].interval.estimate < 0] for s in strategies}
    winners = [s for s in strategies if len(beats[s]) == len(benchmarks)]
    if winners:
        verdict = f"Yes: {' and '.join(winners)} beat{'s' if len(winners) == 1 else ''} every benchmark."
    elif any(beats.values()):
        some = "; ".join(f"{s} beats {', '.join(b)}" for s, b in beats.items() if b)
        verdict = f"Only in part: {some}; no ML strategy beats every benchmark."
    else:
        verdict = "No: no ML strategy beats any of the benchmarks at the adjusted level."
    if any(trails.values()):
        verdict += " " + _cap("; ".join(f"{s} trails {', '.join(b)}" for s, b in trails.items() if b)) + "."
    extra = skill_sentences(ranking, skill, horizon, any_winner=any(beats.values()))
    return "\n".join(lines + [verdict] + extra)


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
