"""A small, honest backtest engine shared by notebooks 03-05.

Target weights decided at the close of a rebalance date (using data through that date) are
traded at that close and earn returns from the next day on. Between rebalances positions drift
with prices. Costs are ``transaction_cost`` times the notional actually traded (the change
from drifted to target positions), paid from cash. Weights may be negative (shorts) and need
not sum to one: the remainder is cash, which earns ``cash_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import metrics

TRADING_DAYS = 252


@dataclass
class BacktestResult:
    """Daily outcome of a backtest.

    Attributes
    ----------
    returns : Series (n_days,)  daily simple returns of the portfolio, net of costs
    equity : Series (n_days,)   portfolio value
    weights : DataFrame (n_days, n_assets)  end-of-day weights after trading
    traded : Series (n_days,)   notional traded that day, as a fraction of portfolio value
    costs : Series (n_days,)    costs paid that day, in currency
    """

    returns: pd.Series
    equity: pd.Series
    weights: pd.DataFrame
    traded: pd.Series
    costs: pd.Series

    def summary(self, risk_free_rate: float = 0.0) -> dict:
        """Performance metrics plus total costs and annual one-way turnover."""
        out = metrics.performance_summary(self.returns, risk_free_rate)
        out["Total costs"] = float(self.costs.sum())
        out["Turnover / yr"] = float(self.traded.sum() / 2 / (len(self.returns) / TRADING_DAYS))
        return out


def rebalance_dates(index: pd.DatetimeIndex, every: int, start: int = 0) -> pd.DatetimeIndex:
    """Every ``every``-th trading day of ``index`` from position ``start``."""
    if every < 1:
        raise ValueError(f"rebalance interval must be at least 1 trading day; got {every}")
    if start >= len(index):
        raise ValueError(f"the first rebalance (day {start}) is beyond the data ({len(index)} days)")
    return index[start::every]


def run_backtest(returns: pd.DataFrame, targets: pd.DataFrame, transaction_cost: float = 0.0,
                 initial_capital: float = 1.0, cash_rate: float = 0.0) -> BacktestResult:
    """Simulate a portfolio that trades to ``targets`` on their dates and drifts in between.

    Parameters
    ----------
    returns : DataFrame (n_days, n_assets)
        Daily simple returns; row t is the return from close t-1 to close t.
    targets : DataFrame (n_rebalances, n_assets)
        Target weights indexed by rebalance date (a subset of ``returns.index``); a row's
        weights are traded at that date's close. The backtest starts at the first target date.
    transaction_cost : float
        Cost per unit of notional traded (0.001 = 10 bp).
    cash_rate : float
        Annual rate earned (or paid, when negative cash) on the cash balance.
    """
    if transaction_cost < 0:
        raise ValueError(f"transaction_cost must be >= 0; got {transaction_cost}")
    missing = targets.index.difference(returns.index)
    if len(missing):
        raise ValueError(f"target dates not in the return index, e.g. {missing[0]}")
    cols = list(targets.columns)
    unknown = [c for c in cols if c not in returns.columns]
    if unknown:
        raise ValueError(f"targets name assets without returns: {unknown}")
    r = returns.loc[targets.index[0]:, cols]
    if r.iloc[1:].isna().any().any():
        bad = r.columns[r.iloc[1:].isna().any()].tolist()
        raise ValueError(f"returns have NaN after the first rebalance for {bad}")
    R = r.fillna(0.0).to_numpy()
    W = targets.reindex(r.index).to_numpy()
    is_rebal = ~np.isnan(W).all(axis=1)
    n, k = R.shape
    cash_daily = (1 + cash_rate) ** (1 / TRADING_DAYS) - 1
    holdings = np.zeros(k)
    cash = float(initial_capital)
    equity = np.empty(n)
    weights = np.empty((n, k))
    traded = np.zeros(n)
    costs = np.zeros(n)
    for t in range(n):
        if t > 0:
            holdings = holdings * (1.0 + R[t])
            cash *= 1.0 + cash_daily
        value = cash + holdings.sum()
        if is_rebal[t]:
            target = np.nan_to_num(W[t]) * value
            trade = np.abs(target - holdings).sum()
            cost = transaction_cost * trade
            cash -= (target - holdings).sum() + cost
            holdings = target
            traded[t] = trade / value if value else 0.0
            costs[t] = cost
            value -= cost
        equity[t] = value
        weights[t] = holdings / value if value else 0.0
    idx = r.index
    eq = pd.Series(equity, index=idx, name="equity")
    prev = np.concatenate([[initial_capital], equity[:-1]])
    rets = pd.Series(equity / prev - 1.0, index=idx, name="returns")
    return BacktestResult(returns=rets, equity=eq, weights=pd.DataFrame(weights, index=idx, columns=cols),
                          traded=pd.Series(traded, index=idx), costs=pd.Series(costs, index=idx))
