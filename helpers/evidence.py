"""Uncertainty for every comparison a notebook makes.

* :func:`statistic_ci`: the one bootstrap of the project, a percentile interval of any statistic
  of the rows of a (multi-column) series over stationary block resamples
  (``arch.bootstrap.StationaryBootstrap``, block length from ``optimal_block_length``); every
  interval below, and those of ``helpers.letf`` and ``helpers.overlay_study``, is one.
* :func:`mean_ci`: a (scaled, e.g. annualized) mean of a daily series.
* :func:`sharpe_ci` and :func:`sharpe_diff_ci`: one annualized Sharpe ratio, and the *paired*
  difference of two on the same dates; :func:`sharpe_diff_test` adds the bootstrap p-value.
* :func:`jobson_korkie` : the analytic test of equal Sharpe ratios (Jobson-Korkie with Memmel's
  correction), a cross-check of the bootstrap under i.i.d. returns.
* :func:`probabilistic_sharpe_ratio`, :func:`deflated_sharpe_ratio`: Bailey and Lopez de
  Prado's probability that a Sharpe ratio beats a benchmark, and that the best of N trials
  has a true Sharpe above zero.
* :func:`score_diff_ci`: the same paired block bootstrap for a classification score (F1, ROC
  AUC) of two models scored on the same test rows.
* :func:`decide` and :func:`fmt_ci`: a plain-language verdict from an interval, for the
  computed **Answer** of each notebook.

Returns are *daily excess* returns unless stated: subtract the cash rate first (see
``helpers.backtest.CashConvention.excess``). Sharpe ratios here are annualized with 252 days;
PSR and DSR work on per-period (daily) Sharpe ratios, as their formulas do.

Checks: tests/test_evidence.py (skfolio, scikit-learn, closed forms), tests/test_inference_coverage.py
(coverage under AR(1) and GARCH dependence), tests/test_inference_callsites.py (the notebooks' calls).

References
----------
Politis, D. N. and Romano, J. P. (1994). The stationary bootstrap. JASA 89(428), 1303-1313.
Politis, D. N. and White, H. (2004). Automatic block-length selection for the dependent bootstrap.
Econometric Reviews 23(1), 53-70 (with Patton, Politis and White's 2009 correction).
Memmel, C. (2003). Performance hypothesis testing with the Sharpe ratio. Finance Letters 1, 21-23.
Bailey, D. H. and Lopez de Prado, M. (2012). The Sharpe ratio efficient frontier. Journal of Risk 15(2).
Bailey, D. H. and Lopez de Prado, M. (2014). The deflated Sharpe ratio: correcting for selection bias,
backtest overfitting and non-normality. Journal of Portfolio Management 40(5), 94-107.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from arch.bootstrap import StationaryBootstrap, optimal_block_length
from scipy import stats

from helpers.metrics import TRADING_DAYS

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate : float   the statistic on the observed data
    low, high : float  interval bounds
    level : float      confidence level (0.95)
    block : float      mean block length of the stationary bootstrap, in rows
    """

    estimate: float
    low: float
    high: float
    level: float = 0.95
    block: float = float("nan")

    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    def as_list(self) -> list[float]:
        """``[low, high]``, for ``record``."""
        return [float(self.low), float(self.high)]

    def __str__(self) -> str:
        return f"{self.estimate:+.2f} ({self.level:.0%} CI {fmt_ci(self)})"


def _clean_pair(a, b=None) -> np.ndarray:
    """Rows where every series is finite, as a (n, k) float array (aligned on the index if pandas)."""
    if b is None:
        x = np.asarray(a, dtype=float).reshape(len(a), -1)
    elif isinstance(a, pd.Series) and isinstance(b, pd.Series):
        x = pd.concat([a, b], axis=1, sort=True).to_numpy(dtype=float)
    else:
        x = np.column_stack([np.asarray(a, dtype=float), np.asarray(b, dtype=float)])
    return x[np.isfinite(x).all(axis=1)]


def block_length(x: np.ndarray) -> float:
    """Politis-White optimal mean block length for a stationary bootstrap (>= 1), largest over columns.

    ``x`` : array (n,) or (n, k). Squared returns drive the choice as well as returns, since
    a Sharpe ratio depends on both the mean and the variance (volatility clusters).
    """
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    cols = np.column_stack([x, (x - x.mean(axis=0)) ** 2])
    cols = cols[:, cols.std(axis=0) > 0]  # a constant column (0/1 labels at exactly half) has no block length
    if cols.shape[1] == 0:
        return 1.0
    opt = optimal_block_length(cols)["stationary"].to_numpy()
    return float(max(1.0, np.nanmax(opt)))


def _sharpe(x: np.ndarray, periods: int) -> np.ndarray:
    """Annualized Sharpe of each column of excess returns x (n, k)."""
    sd = x.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, x.mean(axis=0) / sd * np.sqrt(periods), np.nan)


def _draws(data: np.ndarray, stat: Callable[[np.ndarray], float], reps: int, seed: int,
           block: float | None) -> tuple[np.ndarray, float]:
    """(finite values of ``stat`` over ``reps`` stationary-bootstrap resamples of the rows of ``data``,
    the mean block length used)."""
    b = block_length(data) if block is None else float(block)
    bs = StationaryBootstrap(b, data, seed=np.random.default_rng(seed))
    draws = np.array([stat(pos[0]) for pos, _ in bs.bootstrap(reps)])
    return draws[np.isfinite(draws)], b


def _percentile(estimate: float, draws: np.ndarray, level: float, block: float) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), level, block)


def _bootstrap(data: np.ndarray, stat: Callable[[np.ndarray], float], reps: int, seed: int,
               block: float | None, level: float) -> Interval:
    """Percentile interval of ``stat`` over stationary-bootstrap resamples of the rows of ``data``."""
    if len(data) < 10:
        return Interval(float("nan"), float("nan"), float("nan"), level)
    draws, b = _draws(data, stat, reps, seed, block)
    return _percentile(stat(data), draws, level, b)


def statistic_ci(data, statistic: Callable[[np.ndarray], float], reps: int = 1000, seed: int = 0,
                 block: float | None = None, level: float = 0.95) -> Interval:
    """Any statistic of the rows of ``data`` with a stationary block-bootstrap percentile interval.

    Parameters
    ----------
    data : array-like (n,) or (n, k)  rows in time order; rows with a NaN in any column are dropped.
                     Columns are resampled *together* (the same blocks of rows), so a statistic
                     of several columns (a paired difference) keeps their dependence.
    statistic : callable((m, k) array) -> float   e.g. ``lambda d: d[:, 0].mean()``
    reps : int       bootstrap resamples
    seed : int       seed of the resampling (same seed, same interval)
    block : float    mean block length in rows; None chooses it by Politis-White (:func:`block_length`)
    level : float    confidence level of the two-sided percentile interval

    Returns
    -------
    Interval  ``statistic(data)`` with the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of
              its resampled values (non-finite draws dropped); NaN with fewer than 10 rows.
    """
    return _bootstrap(_clean_pair(data), statistic, reps, seed, block, level)


def mean_ci(x, reps: int = 1000, seed: int = 0, block: float | None = None, level: float = 0.95,
            scale: float = 1.0) -> Interval:
    """``scale`` x the mean of a series (e.g. 252 x a daily mean: an annualized mean return) with a
    stationary block-bootstrap interval (:func:`statistic_ci`; NaNs dropped)."""
    return statistic_ci(x, lambda d: float(d[:, 0].mean() * scale), reps, seed, block, level)


def sharpe_ci(excess_returns, reps: int = 1000, seed: int = 0, block: float | None = None,
              level: float = 0.95, periods: int = TRADING_DAYS) -> Interval:
    """Annualized Sharpe ratio of daily excess returns with a stationary block-bootstrap interval.

    Parameters
    ----------
    excess_returns : array-like (n_days,)  daily returns minus the cash rate; NaNs dropped
    reps : int        bootstrap resamples
    seed : int        seed of the resampling (same seed, same interval)
    block : float     mean block length in days; None chooses it by Politis-White
    """
    x = _clean_pair(excess_returns)
    return _bootstrap(x, lambda d: float(_sharpe(d, periods)[0]), reps, seed, block, level)


def sharpe_diff_ci(excess_a, excess_b, reps: int = 1000, seed: int = 0, block: float | None = None,
                   level: float = 0.95, periods: int = TRADING_DAYS) -> Interval:
    """Sharpe(a) - Sharpe(b) on the same dates, with a *paired* stationary block-bootstrap interval.

    Both series are resampled with the same blocks of dates, so their correlation is kept.
    Pandas inputs are aligned on their index; rows where either is NaN are dropped.
    """
    x = _clean_pair(excess_a, excess_b)

    def diff(d):
        s = _sharpe(d, periods)
        return float(s[0] - s[1])

    return _bootstrap(x, diff, reps, seed, block, level)


def sharpe_diff_test(excess_a, excess_b, reps: int = 1000, seed: int = 0, block: float | None = None,
                     level: float = 0.95, periods: int = TRADING_DAYS) -> tuple[Interval, float]:
    """:func:`sharpe_diff_ci` and the two-sided bootstrap p-value of "no difference", from the same draws.

    p = 2 min(share of draws <= 0, share of draws >= 0), at most 1: the smallest ``1 - level`` at
    which the percentile interval includes zero, so p < 0.05 exactly when the 95% interval
    excludes zero. Returns ``(interval, p)``; NaN with fewer than 10 common rows.
    """
    x = _clean_pair(excess_a, excess_b)
    if len(x) < 10:
        return Interval(float("nan"), float("nan"), float("nan"), level), float("nan")

    def diff(d):
        s = _sharpe(d, periods)
        return float(s[0] - s[1])

    draws, b = _draws(x, diff, reps, seed, block)
    pvalue = float(min(1.0, 2 * min((draws <= 0).mean(), (draws >= 0).mean())))
    return _percentile(diff(x), draws, level, b), pvalue


def f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 score of binary predictions (0/1), as ``sklearn.metrics.f1_score`` (0 when undefined)."""
    y, p = np.asarray(y_true) > 0.5, np.asarray(y_pred) > 0.5
    tp = np.sum(y & p)
    denom = np.sum(y) + np.sum(p)
    return float(2 * tp / denom) if denom else 0.0


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank statistic (ties count half), as ``sklearn.metrics.roc_auc_score``."""
    y = np.asarray(y_true) > 0.5
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


METRICS = {"f1": f1, "roc_auc": roc_auc}


def score_diff_ci(y_true, score_a, score_b, metric: str | Callable = "f1", reps: int = 1000, seed: int = 0,
                  block: float | None = None, level: float = 0.95) -> Interval:
    """metric(y, a) - metric(y, b) for two models on the same test rows, paired block bootstrap.

    Parameters
    ----------
    y_true : array (n,)              true labels (0/1), rows in time order
    score_a, score_b : array (n,)    predictions (for "f1") or scores (for "roc_auc") of the two models
    metric : "f1", "roc_auc", or a callable(y_true, score) such as an ``sklearn.metrics`` function
    block : float                    mean block length in rows; None chooses it from the labels
                                     (overlapping labels are autocorrelated, so blocks matter)
    """
    metric = METRICS[metric] if isinstance(metric, str) else metric
    y = np.asarray(y_true, dtype=float)
    d = np.column_stack([y, np.asarray(score_a, dtype=float), np.asarray(score_b, dtype=float)])
    if block is None:
        block = block_length(y) if np.std(y) > 0 else 1.0

    def diff(s):
        yy = s[:, 0].astype(int)
        if len(np.unique(yy)) < 2:
            return float("nan")
        return float(metric(yy, s[:, 1]) - metric(yy, s[:, 2]))

    return _bootstrap(d, diff, reps, seed, block, level)


@dataclass(frozen=True)
class SharpeTest:
    """Result of :func:`jobson_korkie` (annualized Sharpe ratios)."""

    diff: float
    se: float
    z: float
    pvalue: float

    def interval(self, level: float = 0.95) -> Interval:
        q = stats.norm.ppf(0.5 + level / 2)
        return Interval(self.diff, self.diff - q * self.se, self.diff + q * self.se, level)


def jobson_korkie(excess_a, excess_b, periods: int = TRADING_DAYS) -> SharpeTest:
    """Jobson-Korkie test of Sharpe(a) = Sharpe(b) with Memmel's (2003) correction.

    Var(SR_a - SR_b) = [2 (1 - rho) + (SR_a^2 + SR_b^2 - 2 SR_a SR_b rho^2) / 2] / T on per-period
    Sharpe ratios, for i.i.d. normal returns; reported annualized (times sqrt(periods)).
    """
    x = _clean_pair(excess_a, excess_b)
    n = len(x)
    sa, sb = x.mean(axis=0) / x.std(axis=0, ddof=1)
    rho = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    var = (2 * (1 - rho) + 0.5 * (sa**2 + sb**2 - 2 * sa * sb * rho**2)) / n
    se = float(np.sqrt(var))
    z = float((sa - sb) / se) if se > 0 else float("nan")
    return SharpeTest(float((sa - sb) * np.sqrt(periods)), se * np.sqrt(periods), z,
                      float(2 * stats.norm.sf(abs(z))))


def probabilistic_sharpe_ratio(excess_returns, benchmark_sharpe: float = 0.0) -> float:
    """P(true Sharpe > benchmark) given the sample's length, skew and kurtosis (Bailey & Lopez de Prado).

    ``benchmark_sharpe`` is per period (daily), like the formula:
    PSR = Phi[(SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2)], g4 the (non-excess) kurtosis.
    """
    x = _clean_pair(excess_returns)[:, 0]
    n = len(x)
    sd = x.std(ddof=1)
    if n < 3 or sd == 0:
        return float("nan")
    g3, g4 = stats.skew(x), stats.kurtosis(x, fisher=False)
    return psr_from_moments(x.mean() / sd, n, g3, g4, benchmark_sharpe)


def psr_from_moments(sharpe: float, n_obs: int, skew: float, kurtosis: float,
                     benchmark_sharpe: float = 0.0) -> float:
    """PSR from a per-period Sharpe ratio, the number of returns, their skew and (non-excess) kurtosis.

    ``Phi[(SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2)]`` (Bailey & Lopez de Prado
    2012, 2014); ``sharpe`` and ``benchmark_sharpe`` per period (daily), never annualized.
    """
    denom = np.sqrt(max(1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2, 1e-12))
    return float(stats.norm.cdf((sharpe - benchmark_sharpe) * np.sqrt(n_obs - 1) / denom))


def expected_max_sharpe(trial_sharpes, ddof: int = 1) -> float:
    """Expected maximum of N per-period Sharpe ratios under the null of no skill.

    SR0 = sqrt(Var[SR_n]) [(1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e))].
    """
    s = np.asarray(trial_sharpes, dtype=float)
    s = s[np.isfinite(s)]
    n = len(s)
    if n < 2:
        return 0.0
    sd = s.std(ddof=ddof)
    return float(sd * ((1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n)
                       + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * np.e))))


def deflated_sharpe_ratio(excess_returns, trial_sharpes) -> float:
    """P(true Sharpe > 0) for the best of ``len(trial_sharpes)`` trials: PSR at the expected max Sharpe.

    ``trial_sharpes`` are the per-period (daily) Sharpe ratios of *every* trial, the selected one
    included; ``excess_returns`` the selected trial's daily excess returns. A value >= 0.95 is
    evidence of skill at the 5% level after the search.
    """
    return probabilistic_sharpe_ratio(excess_returns, expected_max_sharpe(trial_sharpes))


def daily_sharpe(excess_returns) -> float:
    """Per-period Sharpe ratio (mean / std, ddof=1) of excess returns, for PSR / DSR inputs."""
    x = _clean_pair(excess_returns)[:, 0]
    sd = x.std(ddof=1)
    return float(x.mean() / sd) if len(x) > 1 and sd > 0 else float("nan")


def fmt_ci(interval: Interval, fmt: str = "+.2f") -> str:
    """``"-0.14 to +0.27"``."""
    return f"{interval.low:{fmt}} to {interval.high:{fmt}}"


def decide(interval: Interval, better: str, worse: str, quantity: str = "Sharpe ratio",
           fmt: str = "+.2f") -> str:
    """One sentence on ``better - worse`` from its interval: a difference, or no evidence of one.

    Example: ``decide(ci, "the dynamic hedge", "the static hedge")`` ->
    "No evidence that the dynamic hedge and the static hedge differ in Sharpe ratio: the
    difference is +0.06 (95% CI -0.14 to +0.27)."
    """
    est = f"{interval.estimate:{fmt}} (95% CI {fmt_ci(interval, fmt)})"
    if not np.isfinite(interval.low) or not np.isfinite(interval.high):
        return f"Too little data to compare the {quantity} of {better} and {worse}."
    if interval.low > 0:
        return f"{better[:1].upper() + better[1:]} beats {worse} on {quantity}: the difference is {est}."
    if interval.high < 0:
        return f"{better[:1].upper() + better[1:]} trails {worse} on {quantity}: the difference is {est}."
    return (f"No evidence that {better} and {worse} differ in {quantity}: the difference is {est}, "
            "an interval that includes zero.")
