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

from helpers import comparison as cmp
from helpers import evidence, metrics
from helpers.backtest import BacktestResult, CashConvention, run_backtest
from helpers.metrics import TRADING_DAYS
from helpers.portfolio import COV_LABELS, covariance, min_variance, shrinkage_intensity, trailing_windows
from helpers.signals import mean_with_ci


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


def sharpe_differences(runs: dict[str, BacktestResult], strategies: Iterable[str], benchmarks: Iterable[str],
                       seed: int = 0, reps: int = 1000) -> dict[tuple[str, str], PairedTest]:
    """Sharpe(strategy) - Sharpe(benchmark) with a paired block-bootstrap 95% interval and p-value, per pair."""
    return _family({k: r.excess_returns.iloc[1:] for k, r in runs.items()}, strategies, benchmarks, seed, reps)


def _family(excess: dict[str, pd.Series], strategies, benchmarks, seed: int, reps: int) -> dict:
    return {(s, b): paired_sharpe_test(excess[s], excess[b], reps=reps, seed=seed)
            for s in strategies for b in benchmarks}


def _holm_comparisons(tests: dict[tuple[str, str], PairedTest], alpha: float) -> list[cmp.Comparison]:
    rows = [cmp.Comparison.from_interval(t.interval, f"{s} vs {b}", "Sharpe ratio",
                                         p_value=1.0 if not np.isfinite(t.pvalue) else t.pvalue)
            for (s, b), t in tests.items()]
    return cmp.holm_adjust(rows, alpha)


def pair_comparisons(runs: dict[str, BacktestResult], strategies: Iterable[str], benchmarks: Iterable[str],
                     seed: int = 0, reps: int = 1000, alpha: float = 0.05) -> list[cmp.Comparison]:
    """Sharpe(strategy) - Sharpe(benchmark) for every pair, as comparisons decided at a Holm-adjusted
    family-wise ``alpha`` over all pairs (unadjusted 95% intervals kept), each also decided the same
    way (all pairs, Holm) on the first and the second half of the evaluated dates.

    Returns one :class:`helpers.comparison.Comparison` per pair ("strategy vs benchmark"), in order.
    """
    strategies, benchmarks = list(strategies), list(benchmarks)
    excess = {k: r.excess_returns.iloc[1:] for k, r in runs.items()}
    whole = _holm_comparisons(_family(excess, strategies, benchmarks, seed, reps), alpha)
    halves = [_holm_comparisons(_family({k: v.loc[a:b] for k, v in excess.items()}, strategies, benchmarks,
                                        seed, reps), alpha)
              for a, b in cmp.split_halves(excess[strategies[0]])]
    return [replace(c, halves=(h1.decision, h2.decision)) for c, h1, h2 in zip(whole, *halves)]


def ic_comparison(ics: pd.Series) -> cmp.Comparison:
    """The mean cross-sectional IC (one per non-overlapping rebalance date) against zero, with its
    Student-t interval (:func:`helpers.signals.mean_with_ci`) and the same on each half of the dates."""
    return cmp.Comparison.from_interval(mean_with_ci(ics), "ML forecasts", "cross-sectional IC",
                                        halves=cmp.halves_decisions(mean_with_ci, ics), better=None)


QUESTION = ("Across equities, bonds, commodities and currencies, do ML return forecasts help allocate capital "
            "compared with equal weight, minimum variance and inverse volatility, out of sample after costs?")


def _side(c: cmp.Comparison) -> tuple[str, str]:
    s, b = c.what.split(" vs ", 1)
    return s, b


def verdict(pairs: list[cmp.Comparison]) -> str:
    """A few words: does some ML strategy beat every benchmark at the Holm-adjusted level?"""
    strategies = list(dict.fromkeys(_side(c)[0] for c in pairs))
    benchmarks = list(dict.fromkeys(_side(c)[1] for c in pairs))
    beats = {s: [_side(c)[1] for c in pairs if _side(c)[0] == s and c.decision == cmp.ABOVE] for s in strategies}
    winners = [s for s in strategies if len(beats[s]) == len(benchmarks)]
    if winners:
        return f"Yes: {' and '.join(winners)} beat{'s' if len(winners) == 1 else ''} every benchmark"
    if any(beats.values()):
        return "Only in part: no ML strategy beats every benchmark"
    return "No: no ML strategy beats a benchmark"


def deciding(pairs: list[cmp.Comparison]) -> int:
    """Index of the comparison closest to a decision: the smallest Holm-adjusted p-value (ties: unadjusted)."""
    return min(range(len(pairs)), key=lambda i: (pairs[i].p_adjusted, pairs[i].p_value))


def directions(pairs: list[cmp.Comparison]) -> str:
    """The sign of the gaps by benchmark: "all 4 gaps vs equal weight and inverse volatility are negative"."""
    benchmarks = list(dict.fromkeys(_side(c)[1] for c in pairs))
    parts = []
    for word, sign in (("negative", -1), ("positive", 1)):
        names = [b for b in benchmarks if all(np.sign(c.estimate) == sign for c in pairs if _side(c)[1] == b)]
        n = sum(_side(c)[1] in names for c in pairs)
        if names:
            parts.append(f"{'both' if n == 2 else f'all {n}'} gaps vs {' and '.join(names)} are {word}")
    return "; ".join(parts)


def headline(pairs: list[cmp.Comparison], alpha: float = 0.05) -> str:
    """At most 40 words: the verdict over the Holm-adjusted tests, the direction of the gaps, and the
    comparison closest to a decision with its unadjusted 95% interval; says when the verdict is not
    the same on both halves of the period (details dropped, never the interval, to stay within 40 words)."""
    c = pairs[deciding(pairs)]
    fmt = cmp.format_interval(c.estimate, c.low, c.high, c.level, c.unit, c.digits)[:-1] + \
        f", Holm-adjusted p {c.p_adjusted:.2f})"
    head = f"{verdict(pairs)} on Sharpe ({len(pairs)} Holm-adjusted tests)"
    by_half = halves_verdicts(pairs)
    tails = [""] if by_half is None or set(by_half) == {verdict(pairs)} else [
        f" By half: {by_half[0]}; then {by_half[1]}.", " Not in both halves."]
    closest = f"closest: {c.what} {fmt}."
    signs = directions(pairs).split("; ")
    for parts, tail in [(p, t) for t in tails for p in (signs, signs[:1])] + [([], tails[-1])]:
        text = "; ".join([head, *[x for x in parts if x], closest]) + tail
        if len(text.split()) <= cmp.MAX_HEADLINE_WORDS:
            break
    return cmp.headline(text)


def halves_verdicts(pairs: list[cmp.Comparison]) -> tuple[str, str] | None:
    """:func:`verdict` from the first-half and from the second-half decisions; None when halves are unknown."""
    if any(c.halves is None for c in pairs):
        return None
    return tuple(verdict([replace(c, decision=c.halves[i]) for c in pairs]) for i in (0, 1))


def caveats(pairs: list[cmp.Comparison], perf: pd.DataFrame, convention: CashConvention, years: float,
            n_rebalances: int, ic_time_series_mean: float | None = None, skill: pd.DataFrame | None = None,
            alpha: float = 0.05, ic: cmp.Comparison | None = None) -> list[str]:
    """Caveats computed from the comparisons, the performance table, the convention and the parameters."""
    m = len(pairs)
    out = [f"The {m} ML-vs-benchmark comparisons are decided by Holm's procedure at a family-wise {alpha:.0%} "
           f"level: the smallest p-value must be below {alpha / m:.4f} (a {1 - alpha / m:.2%} interval), the next "
           f"below {alpha / max(m - 1, 1):.4f}, and so on; the intervals shown are unadjusted "
           f"{pairs[0].level:.0%} ones."]
    out.append(f"Out of sample over {years:.1f} years ({n_rebalances} rebalances); returns are net of costs and "
               f"Sharpe ratios in excess of cash: {convention.describe()}.")
    low = [k for k in ("min variance", "inverse volatility") if k in perf.index]
    if low and "equal weight" in perf.index:
        vols = ", ".join(f"{k} {perf.loc[k, 'volatility']:.1%}" for k in low)
        out.append(f"Volatility: {vols}, equal weight {perf.loc['equal weight', 'volatility']:.1%}. A Sharpe ratio "
                   "does not depend on leverage; returns and drawdowns of these portfolios are not comparable.")
    if ic is not None:
        out.append(f"Forecast skill: {cmp.sentence(ic)}")
    if ic_time_series_mean is not None:
        out.append(f"Per-asset information coefficients (rank correlation of forecast and realized return through "
                   f"time) average {ic_time_series_mean:+.3f}; signal weighting sizes positions by these forecasts.")
    if skill is not None:
        below = skill[skill["hit rate"] < skill["up share"]]
        out.append(f"{len(below)} of {len(skill)} assets have a hit rate below the always-up rate (share of positive "
                   "excess returns)" + (": " + ", ".join(f"{a} {r['hit rate']:.2f} vs {r['up share']:.2f}"
                                                        for a, r in below.iterrows()) if len(below) else "") + ".")
    return out


def conclusion(pairs: list[cmp.Comparison], ic: cmp.Comparison | None, perf: pd.DataFrame,
               convention: CashConvention, years: float, n_rebalances: int, ic_time_series_mean: float | None = None,
               skill: pd.DataFrame | None = None, alpha: float = 0.05) -> dict:
    """The keyword arguments of :func:`helpers.reporting.conclude` but the frame: question, headline,
    comparisons (the pairs, then the IC against zero), verdict, deciding, caveats."""
    return {"question": QUESTION, "headline": headline(pairs, alpha), "verdict": verdict(pairs),
            "comparisons": [*pairs, *([ic] if ic is not None else [])], "deciding": deciding(pairs),
            "caveats": caveats(pairs, perf, convention, years, n_rebalances, ic_time_series_mean, skill, alpha, ic)}


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
