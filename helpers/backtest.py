"""The backtest engine and the one accounting convention every notebook uses.

Target weights decided at the close of a rebalance date (using data through that date) are
traded at that close and earn returns from the next day on. Between rebalances positions drift
with prices. Costs are ``cost_bps`` basis points of the notional actually traded (the change
from drifted to target positions), paid from cash. Weights may be negative (shorts) and need
not sum to one: the remainder is cash.

:class:`CashConvention` is the single definition of carry: positive cash earns the cash rate;
negative cash (leverage above 1) pays the cash rate plus ``financing_spread``; short positions
pay ``borrow_fee`` a year on their notional; Sharpe and Sortino are computed on returns in
excess of the same cash rate. The cash rate is an annual constant or a daily series (for
example a T-bill ETF's daily returns). The day's arithmetic itself (carry, financing, borrow,
costs, capital) is :mod:`helpers.accounting`, which every engine calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import accounting, metrics
from helpers.accounting import DailyRates
from helpers.data import load_prices
from helpers.metrics import TRADING_DAYS


@dataclass(frozen=True)
class CashConvention:
    """Cash, financing, borrow and trading-cost assumptions (annual rates as fractions).

    Parameters
    ----------
    cash_rate : float or Series
        Annual rate earned on cash (0.02 = 2 %), or a daily Series of per-day cash returns
        (e.g. ``prices["SHV"].pct_change()``), reindexed to the backtest's dates; days it does not
        cover earn ``fallback_rate``. :meth:`from_parameters` builds it from a ticker.
    financing_spread : float
        Annual spread over ``cash_rate`` paid on borrowed cash (negative cash balance).
    borrow_fee : float
        Annual fee on the notional of short positions.
    cost_bps : float
        Trading cost per side in basis points of the notional traded (5 = 0.05 %).
    fallback_rate : float
        Annual rate for days a cash-rate Series does not cover (before a fund's first price).
    short_margin : float
        Own capital posted per dollar of short notional (Reg T initial margin: 0.5). The capital
        a book ties up is ``long + short_margin x short`` (:meth:`capital`); 0 (the default)
        counts the long leg alone, as a book holding its longs at 100% of equity does.
    """

    cash_rate: float | pd.Series = 0.02
    financing_spread: float = 0.01
    borrow_fee: float = 0.005
    cost_bps: float = 5.0
    fallback_rate: float = 0.02
    short_margin: float = 0.0

    @classmethod
    def from_parameters(cls, cash_rate: float | str, financing_spread: float, borrow_fee: float,
                        cost_bps: float, source=None, short_margin: float = 0.0) -> CashConvention:
        """The convention from a notebook's parameters; ``cash_rate`` may name a T-bill fund.

        With a ticker (e.g. ``"SHV"``) the cash rate is that fund's daily return from the same
        data source as the notebook's prices (the simulated market, a CSV folder or Yahoo), so
        cash earns what T-bills paid; days outside its history earn ``fallback_rate`` (2 %).
        """
        if isinstance(cash_rate, str):
            fund = load_prices([cash_rate], source=source)[cash_rate].dropna()
            rate = fund.pct_change(fill_method=None).iloc[1:].rename(cash_rate)
            rate.attrs["ticker"] = cash_rate
            return cls(rate, financing_spread, borrow_fee, cost_bps, short_margin=short_margin)
        return cls(float(cash_rate), financing_spread, borrow_fee, cost_bps, short_margin=short_margin)

    def __post_init__(self):
        for name in ("financing_spread", "borrow_fee", "cost_bps", "fallback_rate", "short_margin"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0; got {value}")
        if not isinstance(self.cash_rate, pd.Series) and not np.isfinite(self.cash_rate):
            raise ValueError(f"cash_rate must be a finite annual rate or a daily Series; got {self.cash_rate}")

    @property
    def cost(self) -> float:
        """Trading cost per unit of notional traded (``cost_bps / 1e4``)."""
        return self.cost_bps / 1e4

    def daily_cash(self, index: pd.DatetimeIndex) -> pd.Series:
        """Per-day cash return on ``index`` (n_days,): compounded from the annual rate, or the series."""
        if isinstance(self.cash_rate, pd.Series):
            s = self.cash_rate.reindex(index).fillna(metrics.per_period_rate(self.fallback_rate))
        else:
            s = pd.Series(metrics.per_period_rate(float(self.cash_rate)), index=index)
        return s.rename("cash")

    def daily_spread(self) -> float:
        """Per-day financing spread over the cash rate."""
        return metrics.per_period_rate(self.financing_spread)

    def daily_borrow(self) -> float:
        """Per-day borrow fee per unit of short notional."""
        return metrics.per_period_rate(self.borrow_fee)

    def capital(self, long, short):
        """Capital a book ties up: long notional plus ``short_margin`` x short notional
        (:func:`helpers.accounting.capital`; numbers or arrays, in currency)."""
        return accounting.capital(long, short, self.short_margin)

    def daily_rates(self) -> DailyRates:
        """The per-day spread, borrow fee and cost rate that :mod:`helpers.accounting` applies."""
        return DailyRates(self.daily_spread(), self.daily_borrow(), self.cost)

    def excess(self, returns: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
        """Daily returns minus the daily cash return on the same dates."""
        cash = self.daily_cash(returns.index)
        return returns.sub(cash, axis=0) if isinstance(returns, pd.DataFrame) else returns - cash

    def describe(self) -> str:
        """One line stating the convention, for a notebook's Method section."""
        if isinstance(self.cash_rate, pd.Series):
            name = self.cash_rate.attrs.get("ticker", "a T-bill fund")
            s = self.cash_rate.dropna()
            years = len(s) / TRADING_DAYS
            mean = (1 + s).prod() ** (1 / years) - 1 if years else float("nan")
            rate = (f"{name}'s daily return (a T-bill fund, same data source; {mean:.2%} a year on average "
                    f"from {s.index[0].date()} to {s.index[-1].date()}, {self.fallback_rate:.2%} outside that)")
        else:
            rate = f"{float(self.cash_rate):.2%} a year"
        return (f"cash earns {rate}; borrowed cash pays that plus {self.financing_spread:.2%}; "
                f"shorts pay a {self.borrow_fee:.2%} borrow fee; trades cost {self.cost_bps:g} bp per side "
                "of the notional traded; Sharpe is in excess of the same cash rate")


@dataclass
class BacktestResult:
    """Daily outcome of a backtest.

    Attributes
    ----------
    returns : Series (n_days,)  daily simple returns of the portfolio, net of costs and carry
    equity : Series (n_days,)   portfolio value
    weights : DataFrame (n_days, n_assets)  end-of-day weights after trading
    traded : Series (n_days,)   notional traded that day, as a fraction of portfolio value
    costs : Series (n_days,)    trading costs paid that day, in currency
    cash : Series (n_days,)     the daily cash return used for carry and for excess returns
    interest : Series (n_days,) interest earned (+) or paid (-) on the cash balance, in currency
    borrow : Series (n_days,)   borrow fees paid on short positions, in currency (>= 0)
    """

    returns: pd.Series
    equity: pd.Series
    weights: pd.DataFrame
    traded: pd.Series
    costs: pd.Series
    cash: pd.Series
    interest: pd.Series
    borrow: pd.Series

    @property
    def excess_returns(self) -> pd.Series:
        """Daily returns in excess of the cash rate the backtest paid and earned."""
        return self.returns - self.cash

    def summary(self) -> dict:
        """Performance metrics (Sharpe, Sortino in excess of the backtest's own cash rate), costs, turnover."""
        out = metrics.performance_summary(self.returns, self.cash)
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


def run_backtest(returns: pd.DataFrame, targets: pd.DataFrame, convention: CashConvention | None = None,
                 initial_capital: float = 1.0) -> BacktestResult:
    """Simulate a portfolio that trades to ``targets`` on their dates and drifts in between.

    Parameters
    ----------
    returns : DataFrame (n_days, n_assets)
        Daily simple returns; row t is the return from close t-1 to close t.
    targets : DataFrame (n_rebalances, n_assets)
        Target weights indexed by rebalance date (a subset of ``returns.index``); a row's
        weights are traded at that date's close. The backtest starts at the first target date.
    convention : CashConvention
        Cash rate, financing spread, borrow fee and trading cost (default: ``CashConvention()``,
        realistic non-zero values).
    initial_capital : float
        Starting value, in currency.
    """
    if convention is None:
        convention = CashConvention()
    if not isinstance(convention, CashConvention):
        raise TypeError(f"convention must be a CashConvention; got {type(convention).__name__}")
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
    cash_ret = convention.daily_cash(r.index)
    C = cash_ret.to_numpy()
    rates = convention.daily_rates()
    holdings = np.zeros(k)
    cash = float(initial_capital)
    equity = np.empty(n)
    weights = np.empty((n, k))
    traded, costs, interest, borrow = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for t in range(n):
        if t > 0:
            # carry on yesterday's balances, then today's price moves
            interest[t], borrow[t] = accounting.carry(cash, -holdings[holdings < 0].sum(), C[t], rates)
            cash += interest[t] - borrow[t]
            holdings = holdings * (1.0 + R[t])
        value = cash + holdings.sum()
        if is_rebal[t]:
            target = np.nan_to_num(W[t]) * value
            trade = np.abs(target - holdings).sum()
            cost = accounting.trading_cost(trade, rates)
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
    series = lambda a, name: pd.Series(a, index=idx, name=name)  # noqa: E731
    return BacktestResult(returns=rets, equity=eq, weights=pd.DataFrame(weights, index=idx, columns=cols),
                          traded=series(traded, "traded"), costs=series(costs, "costs"), cash=cash_ret,
                          interest=series(interest, "interest"), borrow=series(borrow, "borrow"))
