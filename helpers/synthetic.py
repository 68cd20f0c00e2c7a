"""A seeded, deterministic simulated market for every ticker in the catalogue.

The model, in one paragraph: fifteen factors (US market, size, tech, semiconductors, financials,
biotech, developed and emerging international, innovation, rates, credit, gold, commodities,
dollar, yen) follow GARCH(1,1) processes with Student-t shocks (volatility clustering, fat tails).
Scripted stress episodes at the dates of real ones (2008, 2011, 2020, the 2022 rates shock, ...)
add a drift and raise volatility, so drawdowns look like history. Each plain ticker is
``drift + loadings . factors + idiosyncratic noise`` with figures fitted on real prices
(``data/calibrate.py``). Close substitutes (IEMG/EEM, SPTL/TLT, VGSH/SHY, ARKW/ARKK) are their
leader plus a mean-reverting (Ornstein-Uhlenbeck) log spread. Leveraged ETFs are daily-reset
multiples of their underlying minus a fitted drag plus tracking noise, from their real inception.
Volumes are AR(1) in logs around a fitted level and rise on volatile days.

Every ticker draws from its own random stream (``seed`` and the ticker's name), so adding a
ticker to the catalogue changes no other ticker's prices.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.catalogue import load_factors, load_universe

FIRST_DAY = "2005-01-03"
LAST_DAY = "2025-12-31"
GARCH_ALPHA, GARCH_BETA, T_DOF = 0.08, 0.90, 5.0
IDIO_DOF = 4.0


@dataclass(frozen=True)
class Episode:
    """A scripted stress episode: total factor log-drift over the episode and a vol multiplier."""

    start: str
    end: str
    market_move: float  # total simple return added to MKT over the episode
    rates_move: float  # total simple return added to RATES (a bond rally is positive)
    vol_multiplier: float


EPISODES = (
    Episode("2008-09-15", "2009-03-09", -0.42, 0.06, 2.4),
    Episode("2010-04-26", "2010-07-02", -0.12, 0.03, 1.6),
    Episode("2011-07-22", "2011-10-03", -0.17, 0.05, 2.0),
    Episode("2015-08-17", "2016-02-11", -0.10, 0.02, 1.4),
    Episode("2018-10-01", "2018-12-24", -0.17, 0.02, 1.6),
    Episode("2020-02-20", "2020-03-23", -0.30, 0.04, 3.2),
    Episode("2022-01-03", "2022-10-12", -0.20, -0.14, 1.4),
)


def trading_days(start: str = FIRST_DAY, end: str = LAST_DAY) -> pd.DatetimeIndex:
    """NYSE trading sessions between two dates (inclusive), as naive dates."""
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():  # a pandas deprecation inside exchange_calendars
        warnings.simplefilter("ignore")
        sessions = xcals.get_calendar("XNYS", start="2004-01-01", end="2026-12-31").sessions
    sessions = pd.DatetimeIndex(sessions.tz_localize(None) if sessions.tz else sessions)
    return sessions[(sessions >= start) & (sessions <= end)].rename("Date")


def ticker_rng(seed: int, name: str) -> np.random.Generator:
    """Independent random stream for one ticker (or factor) under a market seed."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def standard_t(rng: np.random.Generator, dof: float, size) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(dof, size=size) / np.sqrt(dof / (dof - 2.0))


def episode_paths(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-day vol multiplier and extra MKT / RATES log drift from the scripted episodes."""
    mult = np.ones(len(dates))
    mkt = np.zeros(len(dates))
    rates = np.zeros(len(dates))
    for ep in EPISODES:
        inside = (dates >= ep.start) & (dates <= ep.end)
        n = int(inside.sum())
        if n == 0:
            continue
        mult[inside] = ep.vol_multiplier
        mkt[inside] = np.log1p(ep.market_move) / n
        rates[inside] = np.log1p(ep.rates_move) / n
    return mult, mkt, rates


def garch_paths(shocks: np.ndarray, annual_vol: np.ndarray, mult: np.ndarray) -> np.ndarray:
    """GARCH(1,1) returns from unit shocks (T, K) with unconditional annual vols (K,).

    ``mult`` (T,) scales each day's volatility (stress episodes); the long-run variance is
    lowered so that the average variance including episodes matches ``annual_vol``.
    """
    n_days, _ = shocks.shape
    mean_sq = float(np.mean(mult**2))
    target_var = (annual_vol**2 / 252.0) / mean_sq
    omega = target_var * (1.0 - GARCH_ALPHA - GARCH_BETA)
    var = target_var.copy()
    out = np.empty_like(shocks)
    for t in range(n_days):
        eps = np.sqrt(var) * shocks[t]
        out[t] = eps * mult[t]
        var = omega + GARCH_ALPHA * eps**2 + GARCH_BETA * var
    return out


def simulate_factors(seed: int, dates: pd.DatetimeIndex) -> tuple[pd.DataFrame, np.ndarray]:
    """Daily factor returns (dates x factors) and the relative volatility path of the market."""
    factors = load_factors()
    names = list(factors["factor"])
    shocks = np.column_stack([standard_t(ticker_rng(seed, f"factor:{n}"), T_DOF, len(dates))
                              for n in names])
    mult, mkt_drift, rates_drift = episode_paths(dates)
    # Non-market factors are less affected by equity stress.
    mults = np.column_stack([mult if n == "MKT" else np.sqrt(mult) for n in names])
    vols = factors["annual_vol"].to_numpy(float)
    rets = np.column_stack([garch_paths(shocks[:, [k]], vols[[k]], mults[:, k])[:, 0]
                            for k in range(len(names))])
    out = pd.DataFrame(rets, index=dates, columns=names)
    out["MKT"] += mkt_drift
    out["RATES"] += rates_drift
    rel_vol = np.abs(out["MKT"].to_numpy()) / (vols[names.index("MKT")] / np.sqrt(252))
    return out, rel_vol


def ou_path(rng: np.random.Generator, n: int, halflife: float, stationary_sd: float) -> np.ndarray:
    """Ornstein-Uhlenbeck path (discrete AR(1)) started from its stationary law."""
    phi = 0.5 ** (1.0 / halflife)
    innov = rng.standard_normal(n) * stationary_sd * np.sqrt(1 - phi**2)
    s = np.empty(n)
    s[0] = rng.standard_normal() * stationary_sd
    for t in range(1, n):
        s[t] = phi * s[t - 1] + innov[t]
    return s


def _plain_returns(row, factor_rets: pd.DataFrame, seed: int, mult: np.ndarray) -> np.ndarray:
    loads = np.array([getattr(row, f"b_{f}") for f in factor_rets.columns])
    rng = ticker_rng(seed, row.ticker)
    idio = standard_t(rng, IDIO_DOF, len(factor_rets)) * row.idio_vol / np.sqrt(252) * np.sqrt(mult)
    mkt_mean = factor_rets["MKT"].mean()
    drift = row.drift / 252 - row.b_MKT * mkt_mean  # MKT's own (episode) mean is in the factor
    # an elementwise sum, not a BLAS product: identical bits whatever the thread count
    return drift + (factor_rets.to_numpy() * loads).sum(axis=1) + idio


def _volumes(row, seed: int, rel_vol: np.ndarray) -> np.ndarray:
    rng = ticker_rng(seed, f"volume:{row.ticker}")
    n = len(rel_vol)
    phi, shock = row.volume_ar, row.volume_vol
    x = np.empty(n)
    e = rng.standard_normal(n) * shock
    x[0] = e[0] / np.sqrt(max(1 - phi**2, 1e-6))
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    surge = 0.25 * (np.minimum(rel_vol, 6.0) - 0.8)  # volatile days trade more
    return np.round(row.volume_level * np.exp(x + surge))


def _ohlc(close: np.ndarray, rets: np.ndarray, daily_vol: float, rng) -> tuple[np.ndarray, ...]:
    prev = np.concatenate([[close[0] / (1 + rets[0])], close[:-1]])
    gap = 0.3 * np.log1p(rets) + rng.standard_normal(len(close)) * 0.2 * daily_vol
    open_ = prev * np.exp(gap)
    spread = np.abs(rng.standard_normal((2, len(close)))) * 0.5 * daily_vol
    high = np.maximum(open_, close) * np.exp(spread[0])
    low = np.minimum(open_, close) * np.exp(-spread[1])
    return open_, high, low


@functools.lru_cache(maxsize=4)
def simulate_market(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Simulate every catalogue ticker: a dict field -> DataFrame (dates x tickers).

    Fields are Open, High, Low, Close (adjusted, as yfinance's ``auto_adjust=True``) and
    Volume. Prices are NaN before each ticker's inception date. Cached per seed; treat the
    frames as read-only (copy before editing).
    """
    uni = load_universe()
    dates = trading_days()
    factor_rets, rel_vol = simulate_factors(seed, dates)
    mult, _, _ = episode_paths(dates)
    returns: dict[str, np.ndarray] = {}
    plain = uni[(uni["underlying"] == "") & (uni["pair_leader"] == "")]
    for row in plain.itertuples():
        returns[row.ticker] = _plain_returns(row, factor_rets, seed, mult)
    for row in uni[uni["pair_leader"] != ""].itertuples():
        rng = ticker_rng(seed, row.ticker)
        spread = ou_path(rng, len(dates), row.spread_halflife, row.idio_vol)
        lead = returns[row.pair_leader]
        # no drift term: a drift would make the log spread trend instead of revert
        returns[row.ticker] = (1 + lead) * np.exp(np.diff(spread, prepend=spread[0])) - 1
    for row in uni[uni["underlying"] != ""].itertuples():
        rng = ticker_rng(seed, row.ticker)
        noise = rng.standard_normal(len(dates)) * row.idio_vol / np.sqrt(252)
        lev = row.leverage * returns[row.underlying] + row.drift / 252 + noise
        returns[row.ticker] = np.maximum(lev, -0.95)

    fields = {k: {} for k in ("Open", "High", "Low", "Close", "Volume")}
    for row in uni.itertuples():
        r = returns[row.ticker].copy()
        alive = dates >= max(pd.Timestamp(row.inception), dates[0])
        first = int(np.argmax(alive))
        r[first] = 0.0
        close = np.full(len(dates), np.nan)
        close[first:] = row.start_price * np.cumprod(1 + r[first:])
        rng = ticker_rng(seed, f"ohlc:{row.ticker}")
        daily_vol = float(np.std(r[first:]))
        o, h, lo = _ohlc(close[first:], r[first:], daily_vol, rng)
        vol = np.full(len(dates), np.nan)
        vol[first:] = _volumes(row, seed, rel_vol)[first:]
        for field, values in (("Close", close[first:]), ("Open", o), ("High", h), ("Low", lo)):
            col = np.full(len(dates), np.nan)
            col[first:] = values
            fields[field][row.ticker] = col
        fields["Volume"][row.ticker] = vol
    return {f: pd.DataFrame(cols, index=dates) for f, cols in fields.items()}


def clear_cache() -> None:
    """Forget simulated markets (after the catalogue changed)."""
    simulate_market.cache_clear()
    load_universe.cache_clear()
    load_factors.cache_clear()
