"""Volume-weighted stock basket against a benchmark ETF: weights, betas, hedged books, the original
project's book (notebook 03's method; its study, evidence and answer are :mod:`helpers.hedge_study`).

Conventions
-----------
* Returns are daily simple returns; row t is close t-1 to close t.
* Basket weights traded at the close of day t use volume through day t-1 (the day's own volume
  is final only after the close): :func:`volume_weights` returns them indexed by the trade date.
  They earn from day t+1 on, as every target in :func:`helpers.backtest.run_backtest` does, so
  the basket's return on day t is ``sum_i w[t-1, i] r[t, i]`` (:func:`basket_returns`).
* Hedged books hold the basket (each stock as its own asset in the engine, traded back to its
  weight every day) and short ``h`` times the basket of the benchmark, with ``h`` the hedge ratio
  decided at the last re-estimation date; the short's proceeds sit in cash. The capital is the
  one definition every notebook uses (:meth:`helpers.backtest.CashConvention.capital`): the long
  notional plus ``short_margin`` times the short notional, the margin posted in cash earning the
  cash rate. So the basket is ``1 / (1 + m h)`` of capital and the short ``h / (1 + m h)``
  (:func:`capital_fractions`), and returns, alphas and Sharpe ratios are per unit of that capital.
* Betas are OLS slopes of the basket's daily returns on the benchmark's (statsmodels).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.rolling import RollingOLS

from helpers import metrics
from helpers.backtest import BacktestResult, CashConvention, run_backtest
from helpers.data import load_ohlcv
from helpers.metrics import TRADING_DAYS
from helpers.testing import assert_no_lookahead

WEIGHTINGS = ("dollar", "shares")


# --------------------------------------------------------------------------- the basket


def history_start(start, volume_window: int, beta_window: int, static_window: int) -> pd.Timestamp:
    """First date to load so that the test period starting at ``start`` has every estimate it needs.

    Before the first test day the data must hold ``volume_window`` days of volume (the first
    weights), one day of lag and one of return, then ``max(static_window, beta_window)`` days of
    basket returns for the out-of-sample static beta and the first dynamic beta. Counted in
    weekdays with a margin of 20 days plus 5 % for exchange holidays (about 9 a year).
    """
    days = volume_window + 2 + max(static_window, beta_window)
    return pd.Timestamp(start) - pd.offsets.BDay(days + 20 + int(np.ceil(0.05 * days)))


def check_window(name: str, value: int, minimum: int) -> int:
    """``value`` if it is an integer of at least ``minimum``; else a ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum} trading days; got {value!r}")
    return int(value)


def load_common(tickers: list[str], start=None, end=None, source=None, lookback=None) -> pd.DataFrame:
    """:func:`helpers.data.load_ohlcv` cut to the dates on which every ticker has a close.

    When series end (or start) on different dates, the frame is loaded again on the common
    range, so its banner and the answer's label name the dates actually used (the first
    load's warning stays in the provenance notes).
    """
    ohlcv = load_ohlcv(tickers, start=start, end=end, source=source, lookback=lookback)  # (see its lookback)
    close = ohlcv["Close"].dropna()
    if close.empty:
        raise ValueError(f"no date on which all of {', '.join(tickers)} have a close")
    if close.index[0] > ohlcv.index[0] or close.index[-1] < ohlcv.index[-1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ohlcv = load_ohlcv(tickers, start=close.index[0], end=close.index[-1], source=source)
    return ohlcv


def liquidity(prices: pd.DataFrame, volume: pd.DataFrame, weighting: str = "dollar") -> pd.DataFrame:
    """Daily traded amount per ticker (dates x tickers): dollar volume ``price x volume`` or share volume.

    ``weighting="shares"`` is the original project's choice: it favours low-priced stocks (a split multiplies
    a stock's share volume, not its dollar volume).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}; got {weighting!r}")
    volume = volume[list(prices.columns)]
    return volume * prices if weighting == "dollar" else volume


def volume_weights(volume: pd.DataFrame, window: int = 30) -> pd.DataFrame:
    """Weights proportional to each ticker's trailing ``window``-day mean volume, lagged a day.

    ``volume`` : dates x tickers, shares or dollars (see :func:`liquidity`). Row t uses volume
    through t-1 only; it is the target traded at the close of t. Rows sum to 1 once every
    ticker has a full window (NaN before).
    """
    if window < 1:
        raise ValueError(f"volume_window must be at least 1; got {window}")
    dead = [c for c in volume.columns if not (volume[c].fillna(0) > 0).any()]
    if dead:
        raise ValueError(f"no volume data for {', '.join(dead)}: volume weights need it "
                         "(close-only sources have none)")
    avg = volume.rolling(window, min_periods=window).mean()
    avg = avg.where(avg.notna().all(axis=1))
    return avg.div(avg.sum(axis=1), axis=0).shift(1)


def basket_weights(prices: pd.DataFrame, volume: pd.DataFrame, window: int = 30,
                   weighting: str = "dollar") -> pd.DataFrame:
    """:func:`volume_weights` of :func:`liquidity`: the basket's target weights by trade date."""
    return volume_weights(liquidity(prices, volume, weighting), window)


def basket_returns(stock_returns: pd.DataFrame, weights: pd.DataFrame, lag: int = 1) -> pd.Series:
    """Daily return of a basket rebalanced every day to ``weights`` (before costs).

    ``lag=1`` (default): weights traded at t's close earn t+1's return, as in the engine.
    ``lag=0``: row t's weights earn row t's return (the original project's ``returns * weights.shift(1)``,
    where its weights were already shifted). Days without a full weight row are dropped.
    """
    w = weights.reindex(stock_returns.index).shift(lag)
    out = (stock_returns * w).sum(axis=1, min_count=1)
    return out[w.notna().all(axis=1) & stock_returns.notna().all(axis=1)].rename("basket")


# --------------------------------------------------------------------------- regressions


def ols(y: pd.Series, x: pd.Series, hac_lags: int | None = None):
    """statsmodels OLS of y on a constant and x, aligned on dates (Newey-West HAC errors if ``hac_lags``)."""
    j = pd.concat([y.rename("y"), x.rename("x")], axis=1, sort=True).dropna()
    model = sm.OLS(j["y"], sm.add_constant(j["x"]))
    return model.fit(cov_type="HAC", cov_kwds={"maxlags": hac_lags}) if hac_lags else model.fit()


def regression_row(fit, level: float = 0.95) -> dict:
    """Alpha (annualized, 252 days) with its interval, beta with its interval, R^2, n of one OLS fit."""
    (a_lo, b_lo), (a_hi, b_hi) = fit.conf_int(1 - level).T.to_numpy()[:, [0, 1]]
    return {"alpha (ann.)": fit.params["const"] * TRADING_DAYS, "alpha lo": a_lo * TRADING_DAYS,
            "alpha hi": a_hi * TRADING_DAYS, "t(alpha)": fit.tvalues["const"], "beta": fit.params["x"],
            "beta lo": b_lo, "beta hi": b_hi, "R^2": fit.rsquared, "n": int(fit.nobs)}


def rolling_beta(y: pd.Series, x: pd.Series, window: int) -> pd.Series:
    """Rolling OLS beta over ``window`` days (statsmodels RollingOLS); value at t uses t-window+1..t."""
    j = pd.concat([y.rename("y"), x.rename("x")], axis=1, sort=True).dropna()
    res = RollingOLS(j["y"], sm.add_constant(j["x"]), window=window).fit()
    return res.params["x"].rename("beta")


def dynamic_beta(basket: pd.Series, bench: pd.Series, dates: pd.DatetimeIndex, window: int) -> pd.Series:
    """Hedge ratio decided at each of ``dates``: OLS beta on the trailing ``window`` days through the date."""
    return rolling_beta(basket, bench, window).reindex(dates).rename("beta")


def static_beta_before(basket: pd.Series, bench: pd.Series, start, window: int) -> float:
    """Out-of-sample static beta: OLS on the last ``window`` days strictly before ``start``."""
    j = pd.concat([basket, bench], axis=1, sort=True).dropna()
    j = j.loc[j.index < pd.Timestamp(start)].iloc[-window:]
    if len(j) < window:
        raise ValueError(f"static_window={window} needs {window} days of returns before {start}; "
                         f"only {len(j)} are loaded")
    return metrics.beta(j.iloc[:, 0].to_numpy(), j.iloc[:, 1].to_numpy())


# --------------------------------------------------------------------------- books through the engine


def book_inputs(stock_returns: pd.DataFrame, bench: pd.Series, weights: pd.DataFrame, dates: pd.DatetimeIndex,
                long: float | pd.Series, short: float | pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Engine inputs for a book long ``long x weights`` in the stocks and short ``short`` in the benchmark.

    Each stock is its own asset, so the basket's daily rebalancing to its weights is traded and
    pays costs. ``long`` and ``short`` are fractions of equity: numbers, or Series decided at
    some dates and held (forward-filled) until the next. Returns ``(returns, targets)``: returns
    (n_days, n_stocks + 1) and daily targets on ``dates``.
    """
    name = bench.name or "bench"
    rets = pd.concat([stock_returns, bench.rename(name)], axis=1, sort=True)
    as_daily = lambda v: (v.reindex(dates.union(v.index)).ffill().reindex(dates)  # noqa: E731
                          if isinstance(v, pd.Series) else pd.Series(float(v), index=dates))
    targets = weights.reindex(dates).mul(as_daily(long), axis=0)
    targets[name] = -as_daily(short)
    if targets.isna().any().any():
        raise ValueError(f"no basket weight or hedge ratio on {targets.index[targets.isna().any(axis=1)][0].date()}")
    return rets, targets


def capital_fractions(long: float | pd.Series, short: float | pd.Series, convention: CashConvention):
    """A book long ``long`` of the basket and short ``short`` of the benchmark (per unit of basket;
    ``short < 0`` is a long benchmark position) as fractions of the capital it ties up.

    Capital is :meth:`CashConvention.capital`: long notional (basket plus any long benchmark) plus
    ``short_margin`` times the short notional. Returns ``(long / capital, short / capital)``,
    numbers or Series like the inputs.
    """
    capital = convention.capital(long + np.maximum(-short, 0.0), np.maximum(short, 0.0))
    return long / capital, short / capital


def run_book(stock_returns: pd.DataFrame, bench: pd.Series, weights: pd.DataFrame, dates: pd.DatetimeIndex,
             long: float | pd.Series, short: float | pd.Series, convention: CashConvention,
             initial_capital: float = 1.0) -> BacktestResult:
    """:func:`book_inputs` through :func:`helpers.backtest.run_backtest`, traded every day of ``dates``.

    ``long`` and ``short`` are per unit of basket; the engine trades their :func:`capital_fractions`,
    so the book's equity is its capital (the margin on the short included) and its returns are
    returns on that capital.
    """
    long, short = capital_fractions(long, short, convention)
    rets, targets = book_inputs(stock_returns, bench, weights, dates, long, short)
    return run_backtest(rets, targets, convention, initial_capital)


# --------------------------------------------------------------------------- the original project's book, as it was built


@dataclass
class OriginalBook:
    """The original project's rebalanced long-basket / short-benchmark book, day by day.

    returns : Series (n_days,)  daily returns of the book's value
    values : Series             book value at the end of each rebalancing period (the original project's list, after
                                its initial value)
    betas : Series              the beta the original project estimated at each period end (the first: its initial beta)
    short_ratio : Series        fraction of the book put in the short leg for the period starting that day
    """

    returns: pd.Series
    values: pd.Series
    betas: pd.Series
    short_ratio: pd.Series


def original_book(basket: pd.Series, bench: pd.Series, rebalance_days: int = 30, transaction_cost: float = 0.001,
              beta_rule: str = "original", initial_capital: float = 1.0) -> OriginalBook:
    """The original project's ``hedged_portfolio_performance_dynamic_beta`` on date-aligned returns, day by day.

    Periods of ``rebalance_days`` days. The first allocation uses the OLS beta of the basket on
    the benchmark over the first period (the original project's in-sample start); at the end of each period
    the original project regresses the *average of its two legs*, ``(r_basket - r_bench) / 2``, on the
    benchmark, a slope of ``(beta - 1) / 2`` rather than beta, and holds ``1 / (1 + b)`` of the
    book long the basket and ``b / (1 + b)`` in a short leg that earns ``-r_bench`` each day.
    Both legs drift within a period; at its end each loses ``transaction_cost`` of its whole
    value, whatever is traded. ``beta_rule="basket"`` regresses the basket itself instead (the
    repair: then ``b`` is the basket's beta and the book is beta-neutral). ``rebalance_days`` (the
    notebook's ``original_rebalance_days``) is at least 3: each period's OLS needs three points.
    """
    check_window("original_rebalance_days", rebalance_days, 3)
    if beta_rule not in ("original", "basket"):
        raise ValueError(f"beta_rule must be 'original' or 'basket'; got {beta_rule!r}")
    j = pd.concat([basket, bench], axis=1, sort=True).dropna()
    r_long, r_bench = j.iloc[:, 0].to_numpy(), j.iloc[:, 1].to_numpy()
    r_short = -r_bench
    n = len(j)
    slope = lambda y, x: float(sm.OLS(y, sm.add_constant(x)).fit().params[1])  # noqa: E731
    b = slope(r_long[:rebalance_days], r_bench[:rebalance_days])
    value = float(initial_capital)
    long_alloc, short_alloc = value / (1 + b), value * b / (1 + b)
    daily = np.empty(n)
    ends, values, betas, ratios = [], [], [j.index[0]], [b]
    ratio_days, ratio_vals = [j.index[0]], [b / (1 + b)]
    for i in range(0, n, rebalance_days):
        sl = slice(i, min(i + rebalance_days, n))
        if sl.stop - sl.start == rebalance_days:
            y = (r_long[sl] + r_short[sl]) / 2 if beta_rule == "original" else r_long[sl]
            b = slope(y, r_bench[sl])
            betas.append(j.index[sl.stop - 1])
            ratios.append(b)
            long_ratio, short_ratio = 1 / (1 + b), b / (1 + b)
        else:
            long_ratio, short_ratio = long_alloc / value, short_alloc / value
        path = long_alloc * np.cumprod(1 + r_long[sl]) + short_alloc * np.cumprod(1 + r_short[sl])
        long_alloc *= np.prod(1 + r_long[sl]) * (1 - transaction_cost)
        short_alloc *= np.prod(1 + r_short[sl]) * (1 - transaction_cost)
        value = long_alloc + short_alloc
        path[-1] = value
        daily[sl] = path
        ends.append(j.index[sl.stop - 1])
        values.append(value)
        long_alloc, short_alloc = value * long_ratio, value * short_ratio
        if sl.stop < n:
            ratio_days.append(j.index[sl.stop])
            ratio_vals.append(short_ratio)
    equity = pd.Series(daily, index=j.index)
    rets = equity / equity.shift(1, fill_value=float(initial_capital)) - 1
    return OriginalBook(rets.rename("original book"), pd.Series(values, index=ends, name="value"),
                        pd.Series(ratios, index=betas, name="beta"),
                        pd.Series(ratio_vals, index=ratio_days, name="short ratio"))


# --------------------------------------------------------------------------- look-ahead checks


def lookahead_cutoffs(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Up to three of ``dates`` to cut at: the third, the middle and the third from last (those that exist)."""
    n = len(dates)
    return dates[sorted({min(2, n - 1), n // 2, max(n - 3, 0)})] if n else dates


def check_no_lookahead(prices: pd.DataFrame, volume: pd.DataFrame, tickers: list[str], benchmark: str,
                       volume_window: int, weighting: str, beta_dates: pd.DatetimeIndex, beta_window: int) -> str:
    """:func:`helpers.testing.assert_no_lookahead` on the basket weights and the dynamic hedge ratios.

    Prices and volumes are perturbed after each cut-off; weights must not move on days decided
    by then (a weight row is decided the trading day before it is traded), nor hedge ratios
    dated at or before the cut-off (up to three re-estimation dates: :func:`lookahead_cutoffs`).
    Returns a one-line report.
    """
    def weights_of(d):
        return basket_weights(d["prices"][tickers], d["volume"], volume_window, weighting)

    def betas_of(d):
        rets = d["prices"].pct_change(fill_method=None)
        return dynamic_beta(basket_returns(rets[tickers], weights_of(d)), rets[benchmark], beta_dates, beta_window)

    def day_before(index):
        return pd.DatetimeIndex([index[0] - pd.Timedelta(days=1)]).append(index[:-1])

    data = {"prices": prices, "volume": volume}
    assert_no_lookahead(weights_of, data, decided_at=day_before)
    if len(beta_dates):
        assert_no_lookahead(betas_of, data, cutoffs=lookahead_cutoffs(beta_dates))
    return "look-ahead checks passed: basket weights and dynamic hedge ratios"

