"""Leveraged-ETF decay and the beta-neutral hedge (notebook 01).

The hedge keeps the seed's economics: buy ``long_notional`` of the underlying and short
``short_notional`` of the leveraged fund on day 0; every day, after marking to market, if the
book's beta exposure ``shares_u * U + shares_l * L * leverage`` exceeds ``exposure_threshold``
times the long leg (in absolute value), re-hedge the short leg back to zero beta. Long shares
never change. P/L is the change in book value minus the change in cash used (that is, the
mark-to-market gain), less an optional borrow fee on the short notional and a cost per
traded notional.

All windows of a pair are simulated together: arrays of shape (n_windows, n_days), one Python
step per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from scipy import stats

from helpers.metrics import beta

TRADING_DAYS = 252


class InsufficientHistory(ValueError):
    """A pair's common history is shorter than the shortest window asked for."""


@dataclass(frozen=True)
class HedgeParams:
    """Book size and trading rules of the hedge (notionals in dollars, rates per year)."""

    leverage: float = 3.0
    long_notional: float = 3000.0
    short_notional: float = 1000.0
    exposure_threshold: float = 1e-4
    borrow_fee: float = 0.0
    transaction_cost: float = 0.0

    def __post_init__(self):
        if not np.isfinite(self.leverage) or self.leverage == 0:
            raise ValueError(f"leverage must be a non-zero number (e.g. 3 or 2); got {self.leverage!r}")
        if self.long_notional <= 0 or self.short_notional <= 0:
            raise ValueError("long_notional and short_notional must be positive dollar amounts; got "
                             f"{self.long_notional!r} and {self.short_notional!r}")
        if self.exposure_threshold < 0 or self.borrow_fee < 0 or self.transaction_cost < 0:
            raise ValueError("exposure_threshold, borrow_fee and transaction_cost must be >= 0")


@dataclass
class HedgePaths:
    """Daily paths of the hedge, each of shape (n_windows, n_days); NaN after a window ends."""

    pnl: np.ndarray
    cum_pnl: np.ndarray
    book_value: np.ndarray
    cash_used: np.ndarray
    short_shares: np.ndarray
    beta_exposure: np.ndarray
    rehedges: np.ndarray  # (n_windows,) number of re-hedges

    @property
    def total_pnl(self) -> np.ndarray:
        """Final cumulative P/L per window, dollars."""
        return np.nansum(self.pnl, axis=1)


def simulate_hedge(under: np.ndarray, lev: np.ndarray, params: HedgeParams) -> HedgePaths:
    """Run the beta-neutral hedge on price paths of shape (n_windows, n_days) or (n_days,).

    Windows may be NaN-padded at the end (shorter windows); every window starts at column 0.
    """
    U = np.atleast_2d(np.asarray(under, dtype=float))
    L = np.atleast_2d(np.asarray(lev, dtype=float))
    if U.shape != L.shape:
        raise ValueError(f"price paths differ in shape: {U.shape} vs {L.shape}")
    if np.isnan(U[:, 0]).any() or np.isnan(L[:, 0]).any():
        raise ValueError("every window needs prices on its first day")
    n, T = U.shape
    k = params.leverage
    su = params.long_notional / U[:, 0]
    sl = -params.short_notional / L[:, 0]
    cash = np.zeros(n)
    fee_rate = params.borrow_fee / TRADING_DAYS
    out = {name: np.full((n, T), np.nan) for name in
           ("pnl", "book_value", "cash_used", "short_shares", "beta_exposure")}
    out["pnl"][:, 0] = 0.0
    out["book_value"][:, 0] = su * U[:, 0] + sl * L[:, 0]
    out["cash_used"][:, 0] = 0.0
    out["short_shares"][:, 0] = sl
    out["beta_exposure"][:, 0] = su * U[:, 0] + sl * L[:, 0] * k
    rehedges = np.zeros(n, dtype=int)
    for t in range(1, T):
        u, lv = U[:, t], L[:, t]
        alive = ~(np.isnan(u) | np.isnan(lv))
        fee = fee_rate * np.abs(sl * L[:, t - 1])
        pnl = su * (u - U[:, t - 1]) + sl * (lv - L[:, t - 1]) - fee
        long_value = su * u
        beta = long_value + sl * lv * k
        trade = alive & (np.abs(beta) > params.exposure_threshold * long_value)
        delta = np.where(trade, -beta / (k * lv), 0.0)  # shares of the leveraged fund bought
        cost = params.transaction_cost * np.abs(delta * lv)
        pnl -= cost
        sl = np.where(trade, sl + delta, sl)
        cash = np.where(alive, cash + delta * lv + cost + fee, cash)
        rehedges += trade
        out["pnl"][:, t] = np.where(alive, pnl, np.nan)
        out["book_value"][:, t] = np.where(alive, su * u + sl * lv, np.nan)
        out["cash_used"][:, t] = np.where(alive, cash, np.nan)
        out["short_shares"][:, t] = np.where(alive, sl, np.nan)
        out["beta_exposure"][:, t] = np.where(alive, su * u + sl * lv * k, np.nan)
    cum_pnl = np.nancumsum(out["pnl"], axis=1)
    cum_pnl[np.isnan(out["pnl"])] = np.nan
    return HedgePaths(cum_pnl=cum_pnl, rehedges=rehedges, **out)


def ideal_path(under_returns: np.ndarray, leverage: float) -> np.ndarray:
    """Growth of 1 in the daily-reset ``leverage`` x underlying: cumprod(1 + leverage * r)."""
    return np.cumprod(1.0 + leverage * np.asarray(under_returns, dtype=float), axis=-1)


def variance_drag(under_returns: np.ndarray, leverage: float) -> np.ndarray:
    """Small-variance approximation of the log gap: -(b^2 - b)/2 * sum(r^2) (last axis)."""
    r = np.asarray(under_returns, dtype=float)
    return -(leverage**2 - leverage) / 2.0 * np.nansum(r**2, axis=-1)


@dataclass(frozen=True)
class Window:
    """One Monte Carlo window: whole years from a start date (positions in the pair's index)."""

    years: int
    start: pd.Timestamp
    end: pd.Timestamp
    first: int
    last: int


def sample_windows(dates: pd.DatetimeIndex, n: int, min_years: int, rng: np.random.Generator) -> list[Window]:
    """Draw ``n`` windows of whole years (>= min_years) at random calendar offsets, as the seed.

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


def run_pair(prices: pd.DataFrame, underlying: str, leveraged: str, n: int, min_years: int,
             params: HedgeParams, rng: np.random.Generator) -> pd.DataFrame:
    """Monte Carlo of one pair: one row per window (years, dates, gap, P/L, theory check).

    ``gap`` = ideal minus actual growth of 1 at the window's end (0.25 = 25 points of the start);
    ``log_gap`` = log(L_T/L_0) - b log(S_T/S_0); ``theory`` = -(b^2-b)/2 sum r^2.
    """
    pair = prices[[underlying, leveraged]].dropna()
    if len(pair) < 2:
        raise InsufficientHistory(f"{underlying}/{leveraged} have no common history")
    windows = sample_windows(pair.index, n, min_years, rng)
    U = stack_windows(pair[underlying].to_numpy(), windows)
    L = stack_windows(pair[leveraged].to_numpy(), windows)
    paths = simulate_hedge(U, L, params)
    ru = U[:, 1:] / U[:, :-1] - 1.0
    ideal_end = np.nanprod(1.0 + params.leverage * ru, axis=1)
    last = np.array([w.last - w.first for w in windows])
    rows = np.arange(len(windows))
    lev_growth = L[rows, last] / L[:, 0]
    under_growth = U[rows, last] / U[:, 0]
    return pd.DataFrame({
        "underlying": underlying, "leveraged": leveraged,
        "years": [w.years for w in windows],
        "start": [w.start for w in windows], "end": [w.end for w in windows],
        "days": last + 1,
        "gap": ideal_end - lev_growth,
        "pnl": paths.total_pnl,
        "rehedges": paths.rehedges,
        "log_gap": np.log(lev_growth) - params.leverage * np.log(under_growth),
        "theory": variance_drag(ru, params.leverage),
        "realized_var": np.nansum(ru**2, axis=1),
    })


def monte_carlo(prices: pd.DataFrame, pairs: list[list[str]], n: int, min_years: int,
                leverage: float | dict, seed: int, **hedge_kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All pairs: (results, one row per window) and (skipped, one row per pair with its reason).

    ``leverage`` is one multiple for every fund or a mapping leveraged ticker -> multiple.
    Windows are drawn from ``numpy.random.default_rng(seed)``, pair after pair.
    """
    rng = np.random.default_rng(seed)
    frames, skipped = [], []
    for underlying, leveraged in pairs:
        mult = leverage.get(leveraged, 3.0) if isinstance(leverage, dict) else leverage
        params = HedgeParams(leverage=float(mult), **hedge_kwargs)
        try:
            frames.append(run_pair(prices, underlying, leveraged, n, min_years, params, rng))
        except InsufficientHistory as exc:
            skipped.append({"underlying": underlying, "leveraged": leveraged, "reason": str(exc)})
    if not frames:
        raise InsufficientHistory("no pair has enough history: " + "; ".join(s["reason"] for s in skipped))
    return pd.concat(frames, ignore_index=True), pd.DataFrame(skipped, columns=["underlying", "leveraged", "reason"])


def pair_summary(results: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Per pair: windows, mean/median gap, mean P/L, share of positive P/L, fitted daily beta."""
    rows = []
    for (u, lv), g in results.groupby(["underlying", "leveraged"], sort=False):
        r = prices[[u, lv]].pct_change(fill_method=None)
        rows.append({"pair": f"{u}/{lv}", "windows": len(g), "mean gap": g["gap"].mean(),
                     "median gap": g["gap"].median(), "mean P/L ($)": g["pnl"].mean(),
                     "P/L > 0": (g["pnl"] > 0).mean(), "fitted beta": beta(r[lv], r[u])})
    return pd.DataFrame(rows).set_index("pair")


def correlation(x, y) -> dict:
    """Pearson r with its p-value and 95% confidence interval."""
    res = stats.pearsonr(x, y)
    ci = res.confidence_interval(0.95)
    return {"r": float(res.statistic), "p_value": float(res.pvalue), "ci_low": float(ci.low),
            "ci_high": float(ci.high), "n": int(len(x))}


def theory_residual(results: pd.DataFrame) -> pd.DataFrame:
    """Per pair: how well -(b^2-b)/2 sum r^2 explains the log gap, and the residual's yearly drift.

    The residual (realized - theory) divided by the window's years estimates the fund's annual
    drag beyond variance decay: fees, financing and tracking.
    """
    rows = []
    for (u, lv), g in results.groupby(["underlying", "leveraged"], sort=False):
        resid = g["log_gap"] - g["theory"]
        years = g["days"] / TRADING_DAYS
        rows.append({"pair": f"{u}/{lv}", "corr(realized, theory)": np.corrcoef(g["log_gap"], g["theory"])[0, 1]
                     if g["theory"].std() > 0 else np.nan,
                     "mean residual / year": float((resid / years).mean()),
                     "sd residual / year": float((resid / years).std())})
    return pd.DataFrame(rows).set_index("pair")


def example_window(prices: pd.DataFrame, row: pd.Series, params: HedgeParams) -> pd.DataFrame:
    """Daily paths of one Monte Carlo window: growth of 1 in the underlying, the fund, the ideal
    multiple, and the hedge book's cumulative P/L in dollars."""
    pair = prices[[row["underlying"], row["leveraged"]]].loc[row["start"]:row["end"]].dropna()
    u, lv = pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy()
    paths = simulate_hedge(u, lv, params)
    ideal = np.concatenate([[1.0], ideal_path(u[1:] / u[:-1] - 1.0, params.leverage)])
    return pd.DataFrame({row["underlying"]: u / u[0], row["leveraged"]: lv / lv[0],
                         f"ideal {params.leverage:g}x": ideal, "hedge P/L ($)": paths.cum_pnl[0]},
                        index=pair.index)
