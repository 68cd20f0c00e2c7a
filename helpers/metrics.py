"""Performance metrics on daily returns (252 trading days a year).

Conventions follow empyrical: returns are *simple* per-period returns (0.01 = +1 %), NaNs are
dropped, the risk-free rate is an **annual** rate converted to a per-period rate by
compounding, and standard deviations use ``ddof=1``. Where a function takes ``risk_free_rate``
it may instead be a Series of per-period (daily) cash returns on the same dates, the cash rate
of ``helpers.backtest.CashConvention``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADING_DAYS = 252


def simple_returns(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Period-over-period simple returns ``p_t / p_{t-1} - 1``; the first row is dropped."""
    return prices.pct_change(fill_method=None).iloc[1:]


def log_returns(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Period-over-period log returns ``log(p_t / p_{t-1})``; the first row is dropped."""
    return np.log(prices / prices.shift(1)).iloc[1:]


def _clean(returns) -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    return r[~np.isnan(r)]


def per_period_rate(annual_rate: float, periods: int = TRADING_DAYS) -> float:
    """Per-period rate equivalent to an annual rate by compounding."""
    return (1.0 + annual_rate) ** (1.0 / periods) - 1.0


def excess_over(returns, risk_free_rate: float | pd.Series, periods: int = TRADING_DAYS) -> np.ndarray:
    """Per-period returns minus the risk-free rate (annual float, or per-period Series aligned by date)."""
    if isinstance(risk_free_rate, pd.Series):
        r = pd.Series(returns)
        rf = risk_free_rate.reindex(r.index)
        if rf[r.notna()].isna().any():
            raise ValueError("the cash-rate series does not cover every date of the returns")
        return _clean(r - rf)
    return _clean(returns) - per_period_rate(risk_free_rate, periods)


def total_return(returns) -> float:
    """Compounded return over the whole series."""
    return float(np.prod(1.0 + _clean(returns)) - 1.0)


def cagr(returns, periods: int = TRADING_DAYS) -> float:
    """Compound annual growth rate, with ``len(returns) / periods`` years."""
    r = _clean(returns)
    if len(r) == 0:
        return float("nan")
    growth = np.prod(1.0 + r)
    return float(growth ** (periods / len(r)) - 1.0)


annualized_return = cagr


def annualized_volatility(returns, periods: int = TRADING_DAYS) -> float:
    """Standard deviation of returns times sqrt(periods)."""
    r = _clean(returns)
    return float(np.std(r, ddof=1) * np.sqrt(periods)) if len(r) > 1 else float("nan")


def sharpe_ratio(returns, risk_free_rate: float | pd.Series = 0.0, periods: int = TRADING_DAYS) -> float:
    """Annualized Sharpe ratio: mean excess return over its std, times sqrt(periods)."""
    excess = excess_over(returns, risk_free_rate, periods)
    if len(excess) < 2:
        return float("nan")
    sd = np.std(excess, ddof=1)
    return float(np.mean(excess) / sd * np.sqrt(periods)) if sd > 0 else float("nan")


def downside_risk(returns, required_return: float = 0.0, periods: int = TRADING_DAYS) -> float:
    """Annualized root-mean-square of returns below ``required_return`` (per period)."""
    r = _clean(returns)
    below = np.minimum(r - required_return, 0.0)
    return float(np.sqrt(np.mean(below**2)) * np.sqrt(periods)) if len(r) else float("nan")


def sortino_ratio(returns, risk_free_rate: float | pd.Series = 0.0, periods: int = TRADING_DAYS) -> float:
    """Annualized Sortino ratio: mean excess return (annualized) over downside risk of excess returns."""
    x = excess_over(returns, risk_free_rate, periods)
    dr = downside_risk(x, 0.0, periods)
    if not len(x) or dr == 0:
        return float("nan")
    return float(np.mean(x) * periods / dr)


def beta(returns, benchmark) -> float:
    """OLS slope of ``returns`` on ``benchmark``: cov / var (rows with a NaN dropped)."""
    j = pd.concat([pd.Series(np.asarray(returns, dtype=float)), pd.Series(np.asarray(benchmark, dtype=float))],
                  axis=1).dropna()
    y, x = j.iloc[:, 0].to_numpy(), j.iloc[:, 1].to_numpy()
    return float(np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1))


def drawdown_series(returns: pd.Series) -> pd.Series:
    """Drawdown from the running peak of the compounded equity curve (<= 0), same index.

    The starting equity of 1 counts as a peak, so a first-day loss is a drawdown.
    """
    r = pd.Series(returns).fillna(0.0)
    equity = (1.0 + r).cumprod()
    peak = np.maximum(equity.cummax(), 1.0)
    return equity / peak - 1.0


def max_drawdown(returns) -> float:
    """Largest peak-to-trough loss of the compounded equity curve, as a negative number."""
    r = pd.Series(_clean(returns))
    return float(drawdown_series(r).min()) if len(r) else float("nan")


def calmar_ratio(returns, periods: int = TRADING_DAYS) -> float:
    """CAGR over the absolute max drawdown (NaN without a drawdown)."""
    mdd = max_drawdown(returns)
    return float(cagr(returns, periods) / abs(mdd)) if mdd < 0 else float("nan")


def turnover(weights: pd.DataFrame, periods: int = TRADING_DAYS) -> float:
    """Average annual one-way turnover of a weight path (dates x assets).

    Half the sum of absolute weight changes per row, averaged and scaled to a year. A path that
    starts from cash counts its first allocation.
    """
    w = weights.fillna(0.0).to_numpy()
    if len(w) == 0:
        return float("nan")
    changes = np.abs(np.diff(w, axis=0, prepend=np.zeros((1, w.shape[1])))).sum(axis=1) / 2.0
    return float(changes.mean() * periods)


def performance_summary(returns, risk_free_rate: float | pd.Series = 0.0, periods: int = TRADING_DAYS) -> dict:
    """The standard metrics of one return series as a dict (fractions, not percent)."""
    return {
        "CAGR": cagr(returns, periods),
        "Volatility": annualized_volatility(returns, periods),
        "Sharpe": sharpe_ratio(returns, risk_free_rate, periods),
        "Sortino": sortino_ratio(returns, risk_free_rate, periods),
        "Max drawdown": max_drawdown(returns),
        "Calmar": calmar_ratio(returns, periods),
    }


def performance_table(series: dict[str, pd.Series], risk_free_rate: float | pd.Series = 0.0) -> pd.DataFrame:
    """One row of :func:`performance_summary` per named return series."""
    return pd.DataFrame({k: performance_summary(v, risk_free_rate) for k, v in series.items()}).T
