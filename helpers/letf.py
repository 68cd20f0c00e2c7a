"""The long-underlying / short-leveraged hedge and the decay identities (notebook 01's method).

The book (the original project's economics, with its costs counted): on day 0 buy ``long_notional`` of the
underlying and sell short ``short_notional`` of the leveraged fund (3000 / 1000 for a 3x fund:
zero beta). Each day, after marking to market at the close, if the beta exposure
``shares_u * U + shares_l * L * leverage`` exceeds ``exposure_threshold`` times the long leg in
absolute value, trade the short leg back to zero beta at that close. Long shares never change.

Money, per day t (from close t-1 to close t), with one :class:`~helpers.backtest.CashConvention`
applied by the shared daily step :mod:`helpers.accounting` (the short's proceeds are the book's
cash; capital is :func:`helpers.accounting.capital`):

* ``mtm``   = shares_u (U_t - U_t-1) + shares_l (L_t - L_t-1), the original project's P/L;
* the short's proceeds are held as cash and earn the cash rate, and the short pays the borrow
  fee, both on yesterday's short notional ``S = -shares_l * L_t-1``: ``+ (c_t - b) S``, where
  ``c_t`` is the day's cash return (a T-bill fund's daily return, e.g. SHV's, or a constant);
* trades cost ``cost_bps`` per side of the notional traded: opening both legs on day 0, each
  re-hedge, and closing both legs on the window's last day.

``pnl`` (dollars) = mtm + c S - b S - cost. The **capital** the book ties up is the long leg
(paid in full, never on margin) plus the convention's ``short_margin`` m times the short
notional (Reg T: 150% of a short's value held, the proceeds plus 50% of own money, so m = 0.5),
all marked daily; the margin is
posted in cash and earns the cash rate too. The daily **return on capital** is
``(pnl + c m S) / (long + m S)`` with both at t-1, so that the excess over cash is
``(pnl - c long) / capital``. The book never borrows cash, so the financing spread never applies.

Positions never depend on fees, costs or the cash rate, so a window's P/L and its mean return
on capital are *linear* in the daily borrow rate and the cost rate: one simulation per re-hedge
band gives the whole borrow x cost grid (:meth:`HedgeTotals.pnl_at`).

Windows are simulated together: one Python step per day across every window (of every pair and
band), reading prices from 1-D histories by index, so 10,000 windows need no (windows x days)
array. The log gap over calendar years and horizons (:func:`annual_gaps`, :func:`horizon_table`,
:func:`gap_by_horizon`) is here too; the Monte Carlo study, the whole-history evidence and the
answer are :mod:`helpers.letf_study`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from scipy import stats

from helpers import accounting
from helpers.accounting import DailyRates
from helpers.backtest import CashConvention
from helpers.metrics import TRADING_DAYS, per_period_rate


class InsufficientHistory(ValueError):
    """A pair's common history is shorter than the shortest window asked for."""


@dataclass(frozen=True)
class HedgeParams:
    """Book size and re-hedge rule (notionals in dollars; threshold as a fraction).

    ``exposure_threshold``: re-hedge when |beta exposure| > threshold x long leg (0.05 = a 5% band).
    The margin on the short, which sets the capital, is the convention's ``short_margin``.
    """

    leverage: float = 3.0
    long_notional: float = 3000.0
    short_notional: float = 1000.0
    exposure_threshold: float = 0.05

    def __post_init__(self):
        if not np.isfinite(self.leverage) or self.leverage == 0:
            raise ValueError(f"leverage must be a non-zero number (e.g. 3 or 2); got {self.leverage!r}")
        if self.long_notional <= 0 or self.short_notional <= 0:
            raise ValueError("long_notional and short_notional must be positive dollar amounts; got "
                             f"{self.long_notional!r} and {self.short_notional!r}")
        if self.exposure_threshold < 0:
            raise ValueError(f"exposure_threshold must be >= 0; got {self.exposure_threshold!r}")


@dataclass
class HedgeTotals:
    """Per-window totals of the hedge, arrays of shape (n_windows,).

    Convention-free sums (dollars unless stated), from which any borrow fee / cost follows:
    ``mtm`` mark-to-market P/L; ``carry`` sum of c_t S_t-1 (interest on the short proceeds);
    ``short_sum`` sum of S_t-1 (dollar-days of short notional); ``traded`` notional traded,
    opening and closing included; ``ret_base``, ``ret_short``, ``ret_traded`` the same sums
    divided day by day by the capital (for returns on capital); ``cash_sum`` sum of c_t.
    At the convention the run used: ``pnl`` ($), ``ann_return`` and ``ann_excess`` (mean daily
    return on capital x 252, and over cash), ``sharpe`` (excess of cash, annualized),
    ``max_drawdown`` (of capital compounded daily, <= 0). ``paths`` holds (n, T) daily arrays
    when asked for (NaN after a window ends): ``pnl``, ``returns`` (on capital), ``short_shares``,
    ``beta_exposure`` and ``short_weight`` (yesterday's short notional / capital: the daily return
    on capital falls by the daily borrow rate times it, so the return is linear in the fee).
    """

    steps: np.ndarray
    rehedges: np.ndarray
    mtm: np.ndarray
    carry: np.ndarray
    short_sum: np.ndarray
    traded: np.ndarray
    ret_base: np.ndarray
    ret_short: np.ndarray
    ret_traded: np.ndarray
    cash_sum: np.ndarray
    pnl: np.ndarray
    ann_return: np.ndarray
    ann_excess: np.ndarray
    sharpe: np.ndarray
    max_drawdown: np.ndarray
    paths: dict = field(default_factory=dict)

    @property
    def years(self) -> np.ndarray:
        return self.steps / TRADING_DAYS

    def pnl_at(self, borrow_fee, cost_bps) -> np.ndarray:
        """P/L ($) at annual borrow fees (B,) and costs in bp (K,): shape (n_windows, B, K)."""
        rates, col = _grid_rates(borrow_fee, cost_bps), lambda a: a[:, None, None]  # noqa: E731
        return col(self.mtm + self.carry) - accounting.borrow_fee(col(self.short_sum), rates) \
            - accounting.trading_cost(col(self.traded), rates)

    def excess_at(self, borrow_fee, cost_bps) -> np.ndarray:
        """Annualized mean excess return on capital (over cash) at fees (B,) and costs (K,): (n, B, K)."""
        rates, col = _grid_rates(borrow_fee, cost_bps), lambda a: a[:, None, None]  # noqa: E731
        total = col(self.ret_base - self.cash_sum) - accounting.borrow_fee(col(self.ret_short), rates) \
            - accounting.trading_cost(col(self.ret_traded), rates)
        return total / col(self.steps) * TRADING_DAYS


def _grid_rates(borrow_fee, cost_bps) -> DailyRates:
    """Daily rates of a borrow-fee x cost grid: fees (B,) along axis 1, costs (K,) along axis 2."""
    db = np.array([per_period_rate(b) for b in np.atleast_1d(borrow_fee)])[None, :, None]
    k = np.atleast_1d(np.asarray(cost_bps, dtype=float))[None, None, :] / 1e4
    return DailyRates(0.0, db, k)


def simulate_windows(under: np.ndarray, lev: np.ndarray, cash: np.ndarray, first: np.ndarray,
                     n_days: np.ndarray, leverage, threshold, params: HedgeParams,
                     convention: CashConvention, keep_paths: bool = False) -> HedgeTotals:
    """Run the hedge on windows of 1-D price histories.

    Parameters
    ----------
    under, lev : array (H,)   prices of the underlying and the leveraged fund (no NaN inside windows)
    cash : array (H,)         per-day cash return on the same days (e.g. ``convention.daily_cash``)
    first, n_days : int arrays (n,)   each window's first position in the histories and its length (>= 2)
    leverage, threshold : float or array (n,)   the fund's multiple and the re-hedge band, per window
    params : notionals (its leverage and threshold are overridden by the arrays)
    convention : borrow fee, cost, cash rule and short margin (capital) for ``pnl``, returns,
                 Sharpe and drawdown
    """
    u_h, l_h, c_h = (np.asarray(a, dtype=float) for a in (under, lev, cash))
    first = np.asarray(first, dtype=int)
    n_days = np.asarray(n_days, dtype=int)
    n = len(first)
    if (n_days < 2).any():
        raise ValueError("every window needs at least two days")
    if (first + n_days > len(u_h)).any() or (first < 0).any():
        raise ValueError("a window runs outside the price history")
    k = np.broadcast_to(np.asarray(leverage, dtype=float), (n,))
    thr = np.broadcast_to(np.asarray(threshold, dtype=float), (n,))
    m = convention.short_margin
    rates = convention.daily_rates()
    last_pos = first + n_days - 1
    u_prev, l_prev = u_h[first], l_h[first]
    if not (np.isfinite(u_prev).all() and np.isfinite(l_prev).all()):
        raise ValueError("every window needs prices on its first day")
    su = params.long_notional / u_prev
    sl = -params.short_notional / l_prev
    z = lambda: np.zeros(n)  # noqa: E731
    mtm, carry, short_sum, ret_base, ret_short, ret_traded, cash_sum = z(), z(), z(), z(), z(), z(), z()
    pnl, r_sum, e_sum, e_sq = z(), z(), z(), z()
    traded = np.full(n, params.long_notional + params.short_notional)  # opening both legs
    pending = traded.copy()  # opening cost, charged with day 1
    rehedges = np.zeros(n, dtype=int)
    equity, peak, mdd = np.ones(n), np.ones(n), z()
    T = int(n_days.max())
    paths = {}
    if keep_paths:
        paths = {name: np.full((n, T), np.nan)
                 for name in ("pnl", "returns", "short_shares", "beta_exposure", "short_weight")}
        paths["pnl"][:, 0] = 0.0
        paths["short_shares"][:, 0] = sl
        paths["beta_exposure"][:, 0] = su * u_prev + sl * l_prev * k
    for t in range(1, T):
        alive = t < n_days
        pos = np.minimum(first + t, last_pos)
        u, lv, c = u_h[pos], l_h[pos], c_h[pos]
        short_prev = -sl * l_prev
        long_prev = su * u_prev
        capital = accounting.capital(long_prev, short_prev, m)
        day_mtm = su * (u - u_prev) + sl * (lv - l_prev)
        # the short's proceeds are the book's cash (never negative: no financing spread)
        day_carry, day_borrow = accounting.carry(short_prev, short_prev, c, rates)
        beta_exp = su * u + sl * lv * k
        ends = alive & (t == n_days - 1)
        trade = alive & ~ends & (np.abs(beta_exp) > thr * su * u)
        delta = np.where(trade, -beta_exp / (k * lv), 0.0)  # fund shares bought back (+) or sold (-)
        sl = sl + delta
        day_trades = np.abs(delta) * lv + np.where(ends, su * u - sl * lv, 0.0)  # re-hedge or closing
        day_traded = day_trades + pending
        pending = z()
        day_pnl = day_mtm + day_carry - day_borrow - accounting.trading_cost(day_traded, rates)
        r = (day_pnl + c * m * short_prev) / capital
        e = r - c
        a = alive.astype(float)
        mtm += a * day_mtm
        carry += a * day_carry
        short_sum += a * short_prev
        traded += a * day_trades
        ret_base += a * (day_mtm + day_carry + c * m * short_prev) / capital
        ret_short += a * short_prev / capital
        ret_traded += a * day_traded / capital
        cash_sum += a * c
        pnl += a * day_pnl
        r_sum += a * r
        e_sum += a * e
        e_sq += a * e * e
        rehedges += trade
        equity = np.where(alive, equity * (1.0 + r), equity)
        peak = np.maximum(peak, equity)
        mdd = np.minimum(mdd, equity / peak - 1.0)
        if keep_paths:
            paths["pnl"][:, t] = np.where(alive, day_pnl, np.nan)
            paths["returns"][:, t] = np.where(alive, r, np.nan)
            paths["short_weight"][:, t] = np.where(alive, short_prev / capital, np.nan)
            paths["short_shares"][:, t] = np.where(alive, sl, np.nan)
            paths["beta_exposure"][:, t] = np.where(alive, su * u + sl * lv * k, np.nan)
        u_prev, l_prev = np.where(alive, u, u_prev), np.where(alive, lv, l_prev)
    steps = (n_days - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        e_mean = e_sum / steps
        e_sd = np.sqrt(np.maximum(e_sq - steps * e_mean**2, 0.0) / (steps - 1))
        sharpe = np.where(e_sd > 0, e_mean / e_sd * np.sqrt(TRADING_DAYS), np.nan)
    return HedgeTotals(steps=steps, rehedges=rehedges, mtm=mtm, carry=carry, short_sum=short_sum, traded=traded,
                       ret_base=ret_base, ret_short=ret_short, ret_traded=ret_traded, cash_sum=cash_sum, pnl=pnl,
                       ann_return=r_sum / steps * TRADING_DAYS, ann_excess=e_mean * TRADING_DAYS, sharpe=sharpe,
                       max_drawdown=mdd, paths=paths)


def simulate_hedge(under: np.ndarray, lev: np.ndarray, params: HedgeParams, convention: CashConvention,
                   cash: np.ndarray | None = None) -> HedgeTotals:
    """The hedge on stacked price paths (n_windows, n_days) or (n_days,), with daily paths kept.

    Windows may be NaN-padded at the end; every window starts at column 0. ``cash`` is the
    per-day cash return, same shape (default: the convention's constant annual rate).
    """
    U = np.atleast_2d(np.asarray(under, dtype=float))
    L = np.atleast_2d(np.asarray(lev, dtype=float))
    if U.shape != L.shape:
        raise ValueError(f"price paths differ in shape: {U.shape} vs {L.shape}")
    n, T = U.shape
    if cash is None:
        if isinstance(convention.cash_rate, pd.Series):
            raise ValueError("pass the per-day cash returns when the cash rate is a series")
        cash = np.full((n, T), per_period_rate(float(convention.cash_rate)))
    C = np.broadcast_to(np.atleast_2d(np.asarray(cash, dtype=float)), (n, T))
    valid = ~(np.isnan(U) | np.isnan(L))
    n_days = np.where(valid.all(axis=1), T, valid.argmin(axis=1))
    return simulate_windows(U.ravel(), L.ravel(), C.ravel(), np.arange(n) * T, n_days, params.leverage,
                            params.exposure_threshold, params, convention, keep_paths=True)


def hedge_positions(prices: pd.DataFrame, params: HedgeParams) -> pd.DataFrame:
    """Short shares held and beta exposure after each day's re-hedge, for one window starting at
    the frame's first row (columns: underlying, fund). For the look-ahead guard and plots."""
    res = simulate_hedge(prices.iloc[:, 0].to_numpy(), prices.iloc[:, 1].to_numpy(), params,
                         CashConvention(0.0, 0.0, 0.0, 0.0))
    return pd.DataFrame({"short_shares": res.paths["short_shares"][0],
                         "beta_exposure": res.paths["beta_exposure"][0]}, index=prices.index)


def ideal_path(under_returns: np.ndarray, leverage: float) -> np.ndarray:
    """Growth of 1 in the daily-reset ``leverage`` x underlying: cumprod(1 + leverage * r)."""
    return np.cumprod(1.0 + leverage * np.asarray(under_returns, dtype=float), axis=-1)


def variance_drag(under_returns: np.ndarray, leverage: float) -> np.ndarray:
    """Small-variance approximation of the log gap: -(b^2 - b)/2 * sum(r^2) (last axis)."""
    r = np.asarray(under_returns, dtype=float)
    return -(leverage**2 - leverage) / 2.0 * np.nansum(r**2, axis=-1)


def annual_gaps(prices: pd.DataFrame, pairs: list[list[str]], leverage) -> pd.DataFrame:
    """Non-overlapping calendar years of each pair: log gap, variance drag and realized variance.

    The log gap log(L_T/L_0) - b log(S_T/S_0) is additive over consecutive periods, so a
    window's log gap is the sum of its years' and its expectation grows linearly with the horizon.
    Only complete years with at least 200 common days are kept.
    """
    recs = []
    for underlying, fund in pairs:
        pair = prices[[underlying, fund]].dropna()
        b = fund_multiple(leverage, fund)
        r = pair.pct_change(fill_method=None).iloc[1:]
        for year, g in r.groupby(r.index.year):
            if len(g) < 200:
                continue
            ru, rl = g[underlying].to_numpy(), g[fund].to_numpy()
            recs.append({"pair": f"{underlying}/{fund}", "year": int(year),
                         "log_gap": float(np.log1p(rl).sum() - b * np.log1p(ru).sum()),
                         "theory": float(variance_drag(ru, b)), "realized_var": float(np.sum(ru**2)),
                         "ideal_growth": float(np.prod(1.0 + b * ru)), "fund_growth": float(np.prod(1.0 + rl)),
                         "multiple": b})
    return pd.DataFrame(recs)


def horizon_table(annual: pd.DataFrame) -> pd.DataFrame:
    """Per pair, on non-overlapping years: mean annual log gap with a t-interval, share of years
    with a negative log gap, and the slope of the annual log gap on realized variance (OLS, 95%
    interval) beside the theory's -(b^2-b)/2, with the correlation of realized and theory."""
    rows = []
    for pair, g in annual.groupby("pair", sort=False):
        x = g["log_gap"].to_numpy()
        n = len(x)
        se = x.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        q = stats.t.ppf(0.975, n - 1) if n > 1 else np.nan
        fit = stats.linregress(g["realized_var"], g["log_gap"]) if n > 2 else None
        qs = stats.t.ppf(0.975, n - 2) if n > 2 else np.nan
        b = g["multiple"].iloc[0]
        rows.append({"pair": pair, "years": n, "mean log gap / yr": x.mean(), "low": x.mean() - q * se,
                     "high": x.mean() + q * se, "years with gap < 0": (x < 0).mean(),
                     "slope on var": fit.slope if fit else np.nan,
                     "slope low": fit.slope - qs * fit.stderr if fit else np.nan,
                     "slope high": fit.slope + qs * fit.stderr if fit else np.nan,
                     "theory slope": -(b**2 - b) / 2,
                     "corr(realized, theory)": np.corrcoef(g["log_gap"], g["theory"])[0, 1] if n > 2 else np.nan,
                     "drag beyond theory / yr": float((g["log_gap"] - g["theory"]).mean())})
    return pd.DataFrame(rows).set_index("pair")


def gap_by_horizon(annual: pd.DataFrame, horizons=(1, 2, 3, 4, 5)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean level gap and mean log gap over non-overlapping blocks of ``h`` consecutive years
    (pair x h). The log gap of a block is the sum of its years'; the level gap is the ideal
    growth minus the fund's growth over the block (products of the years' growth factors)."""
    level, log = {}, {}
    for pair, g in annual.groupby("pair", sort=False):
        g = g.sort_values("year")
        for h in horizons:
            blocks = np.arange(len(g)) // h
            full = pd.Series(blocks).value_counts()
            keep = np.isin(blocks, full[full == h].index)
            if not keep.any():
                continue
            b = g[keep].groupby(blocks[keep])
            log[(pair, h)] = b["log_gap"].sum().mean()
            level[(pair, h)] = (b["ideal_growth"].prod() - b["fund_growth"].prod()).mean()
    order = list(dict.fromkeys(annual["pair"]))
    as_table = lambda d: pd.Series(d).unstack().reindex(order).rename_axis(index="pair", columns="years")  # noqa: E731
    return as_table(level), as_table(log)


def monotone_pairs(table: pd.DataFrame, increasing: bool = True) -> tuple[list[str], list[str]]:
    """Rows of a pair x horizon table that are monotone along the horizon (NaN cells skipped), and the rest."""
    yes, no = [], []
    for pair, row in table.iterrows():
        v = row.dropna().to_numpy()
        ok = bool(np.all(np.diff(v) >= 0)) if increasing else bool(np.all(np.diff(v) <= 0))
        (yes if ok else no).append(pair)
    return yes, no


@dataclass(frozen=True)
class Window:
    """One Monte Carlo window: whole years from a start date (positions in the pair's index)."""

    years: int
    start: pd.Timestamp
    end: pd.Timestamp
    first: int
    last: int


def sample_windows(dates: pd.DatetimeIndex, n: int, min_years: int, rng: np.random.Generator) -> list[Window]:
    """Draw ``n`` windows of whole years (>= min_years) at random calendar offsets, as the original project.

    ``dates`` are the pair's common trading days. Raises InsufficientHistory when the history is
    shorter than ``min_years``.
    """
    if min_years < 1:
        raise ValueError(f"min_years must be at least 1; got {min_years}")
    if n < 1:
        raise ValueError(f"n_simulations must be at least 1; got {n}")
    first, last = dates[0], dates[-1]
    span_days = (last - first).days
    max_years = 0
    while first + relativedelta(years=max_years + 1) <= last:
        max_years += 1
    if max_years < min_years:
        raise InsufficientHistory(f"{first.date()}..{last.date()} holds {max_years} whole years; "
                                  f"min_years is {min_years}")
    out = []
    for _ in range(n):
        years = int(rng.integers(min_years, max_years + 1))
        max_offset = span_days - (first + relativedelta(years=years) - first).days
        offset = int(rng.integers(0, max(max_offset, 0) + 1))
        start = first + pd.Timedelta(days=offset)
        end = min(start + relativedelta(years=years), last)
        i0 = int(dates.searchsorted(start, side="left"))
        i1 = int(dates.searchsorted(end, side="right")) - 1
        out.append(Window(years, dates[i0], dates[i1], i0, i1))
    return out


def stack_windows(values: np.ndarray, windows: list[Window]) -> np.ndarray:
    """Slices of a 1-D array, one row per window, NaN-padded to the longest window."""
    width = max(w.last - w.first + 1 for w in windows)
    out = np.full((len(windows), width), np.nan)
    for i, w in enumerate(windows):
        out[i, : w.last - w.first + 1] = values[w.first : w.last + 1]
    return out


def fund_multiple(leverage, fund: str) -> float:
    """The daily multiple of ``fund``: ``leverage[fund]`` (default 3) when a dict, else ``leverage``."""
    return float(leverage.get(fund, 3.0) if isinstance(leverage, dict) else leverage)


def breakeven_fee(mean_base: float, mean_per_daily_fee: float) -> float:
    """Annual borrow fee b at which ``mean_base - per_period_rate(b) * mean_per_daily_fee`` is zero.

    Negative when the book loses money even at a zero fee; NaN without short exposure.
    """
    if mean_per_daily_fee <= 0:
        return float("nan")
    return float((1.0 + mean_base / mean_per_daily_fee) ** TRADING_DAYS - 1.0)


def book_params(leverage, pairs: list[list[str]], long_notional: float, short_notional: float,
                exposure_threshold: float) -> HedgeParams:
    """The notebook's :class:`HedgeParams`, with the fund multiple taken from ``leverage``.

    The book opens at zero beta only if ``short_notional * multiple == long_notional``; raises
    ValueError naming the funds for which that fails (e.g. a 2x fund with the 3x notionals, or
    funds of different multiples in one run).
    """
    implied = long_notional / short_notional
    bad = {fund: fund_multiple(leverage, fund) for _, fund in pairs
           if not np.isclose(fund_multiple(leverage, fund), implied)}
    if bad:
        raise ValueError(f"the book opens at zero beta only if short_notional = long_notional / multiple; "
                         f"{long_notional:g} / {short_notional:g} = {implied:g}x, but the multiples are {bad}: "
                         "set short_notional to long_notional / leverage and run funds of different multiples "
                         "separately")
    return HedgeParams(implied, long_notional, short_notional, exposure_threshold)

