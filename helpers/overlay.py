"""Volatility-targeting, drawdown-braking leverage overlay (notebook 05).

The overlay holds ``L_t`` times a base portfolio and ``1 - L_t`` in cash on day t. ``L_t`` is
decided at the close of t-1 from information through t-1 only: the base portfolio's realized
volatility over the ``vol_lookback`` days ending at t-1 and the overlay's own drawdown at the
close of t-1::

    L_t = clip(clip(target_vol / vol_{t-1}, lev_min, lev_max) * brake(dd_{t-1}), lev_min, lev_max)

Accounting is the one convention's daily step (:mod:`helpers.accounting`): cash (``L < 1``) earns
the daily cash rate, borrowed cash (``L > 1``) pays the cash rate plus the financing spread,
and trades cost ``cost_bps`` per side of the notional traded. Between resets the exposure
drifts with prices (``L (1 + r_t) / (1 + R_t)`` of equity after day t), so holding a target
leverage while prices move trades too, and is charged::

    R_t = L_t r_t + (1 - L_t) c_t - max(L_t - 1, 0) s - cost * |L_t - drifted exposure_{t-1}|

with ``r_t`` the base portfolio's daily simple return (net of its own costs), ``c_t`` the daily
cash return and ``s`` the daily financing spread. The base portfolio is held at 1x before the
first day, so the first day pays for moving from 1x to ``L_0``.

:func:`simulate` runs many parameter sets at once (one column each, the time loop vectorized
across them); :func:`apply_overlay` is the single-run interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from helpers import accounting
from helpers.backtest import CashConvention
from helpers.metrics import TRADING_DAYS

COLUMNS = ("leverage", "ret", "equity", "drawdown", "interest", "financing", "cost", "traded")


@dataclass(frozen=True)
class OverlayParams:
    """Overlay rules (rates annual, lookbacks in trading days).

    Attributes
    ----------
    vol_lookback : int       days of base returns in the volatility estimate (through t-1)
    target_vol : float       annual volatility target (0.12 = 12 %)
    lev_min, lev_max : float leverage bounds
    dd_threshold1, dd_threshold2 : float  drawdowns (positive) where the brake starts / bottoms out
    dd_min_scale : float     the brake's floor: leverage multiplier at drawdowns >= dd_threshold2
    rebalance_every : int    trading days between leverage resets (1 = daily); exposure drifts in between
    vol_target : bool        False: the volatility component is 1 (drawdown brake only)
    brake : bool             False: no drawdown brake (volatility targeting only)
    """

    vol_lookback: int = 60
    target_vol: float = 0.12
    lev_min: float = 0.3
    lev_max: float = 2.0
    dd_threshold1: float = 0.10
    dd_threshold2: float = 0.25
    dd_min_scale: float = 0.3
    rebalance_every: int = 1
    vol_target: bool = True
    brake: bool = True

    def __post_init__(self):
        if not 0 < self.lev_min <= self.lev_max:
            raise ValueError(f"need 0 < lev_min <= lev_max; got lev_min={self.lev_min}, lev_max={self.lev_max}")
        if not 0 <= self.dd_threshold1 < self.dd_threshold2 <= 1:
            raise ValueError("need 0 <= dd_threshold1 < dd_threshold2 <= 1; got "
                             f"{self.dd_threshold1} and {self.dd_threshold2}")
        if not 0 <= self.dd_min_scale <= 1:
            raise ValueError(f"dd_min_scale must be in [0, 1]; got {self.dd_min_scale}")
        if self.vol_lookback < 2 or self.target_vol <= 0:
            raise ValueError("vol_lookback must be >= 2 and target_vol > 0")
        if self.rebalance_every < 1:
            raise ValueError(f"rebalance_every must be >= 1 trading day; got {self.rebalance_every}")


def constant_leverage(level: float, rebalance_every: int = 1) -> OverlayParams:
    """Parameters that hold ``level`` times the base portfolio (no vol targeting, no brake)."""
    return OverlayParams(lev_min=level, lev_max=level, vol_target=False, brake=False,
                         rebalance_every=rebalance_every)


def ablation_params(p: OverlayParams) -> dict[str, OverlayParams]:
    """The overlay's components switched on one at a time: base (1x), vol only, brake only, both."""
    return {"base (1x)": constant_leverage(1.0),
            "vol targeting only": replace(p, brake=False),
            "drawdown brake only": replace(p, vol_target=False),
            "vol targeting + brake": p}


def dd_scale_factor(dd, dd1, dd2, min_scale):
    """1 up to drawdown ``dd1``, ``min_scale`` from ``dd2``, linear in between (dd positive).

    Works elementwise on arrays (all arguments broadcast).
    """
    dd, dd1, dd2, min_scale = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (dd, dd1, dd2, min_scale)))
    frac = np.clip((dd2 - dd) / (dd2 - dd1), 0.0, 1.0)
    out = min_scale + (1.0 - min_scale) * frac
    return float(out) if out.ndim == 0 else out


def trailing_vol(returns: pd.Series, lookback: int, same_day: bool = False) -> np.ndarray:
    """Annualized rolling volatility (ddof=0) known when day t's leverage is set: through t-1.

    ``same_day=True`` includes day t's own return (the original project's look-ahead), for comparison only.
    Returns an array (n_days,), NaN until ``lookback`` returns are available.
    """
    vol = returns.rolling(lookback).std(ddof=0).to_numpy() * np.sqrt(TRADING_DAYS)
    if not same_day:
        vol = np.concatenate([[np.nan], vol[:-1]])  # through t-1
    return vol


def simulate(base: pd.Series | pd.DataFrame, params: Sequence[OverlayParams], convention: CashConvention,
             same_day_vol: bool = False) -> dict[str, pd.DataFrame]:
    """Run the overlay for each parameter set at once.

    Parameters
    ----------
    base : Series (n_days,) or DataFrame (n_days, n_params)
        Daily simple returns of the base portfolio (net of its own costs); a frame gives each
        parameter set its own base (e.g. different rebalance frequencies), NaN-free.
    params : list of OverlayParams (n_params)
    convention : CashConvention  cash rate, financing spread and trading cost
    same_day_vol : bool  the original project's look-ahead volatility, for comparison only

    Returns
    -------
    dict of DataFrames (n_days, n_params), keys as :data:`COLUMNS`: ``leverage`` held on day t,
    ``ret`` net daily return, ``equity`` (starts at 1), ``drawdown`` (<= 0), ``interest`` earned
    (+) or paid (-) on cash incl. spread, ``financing`` paid on borrowed cash (>= 0), ``cost``
    of the overlay's trades and ``traded`` notional (fractions of equity).
    """
    params = list(params)
    k = len(params)
    if not isinstance(convention, CashConvention):
        raise TypeError(f"convention must be a CashConvention; got {type(convention).__name__}")
    frame = base.to_frame() if isinstance(base, pd.Series) else base
    if frame.shape[1] == 1 and k > 1:
        frame = pd.concat([frame.iloc[:, 0]] * k, axis=1)
    if frame.shape[1] != k:
        raise ValueError(f"{frame.shape[1]} base series for {k} parameter sets")
    if frame.isna().any().any():
        raise ValueError("base returns contain NaN")
    n = len(frame)
    longest = max([p.vol_lookback for p in params if p.vol_target], default=0)
    if longest >= n:
        raise ValueError(f"vol_lookback={longest} is longer than the {n} days of returns")
    r = frame.to_numpy(dtype=float)
    vol = np.column_stack([trailing_vol(frame.iloc[:, j], p.vol_lookback, same_day_vol)
                           for j, p in enumerate(params)])
    arr = lambda name: np.array([float(getattr(p, name)) for p in params])  # noqa: E731
    target, lo, hi = arr("target_vol"), arr("lev_min"), arr("lev_max")
    dd1, dd2, floor = arr("dd_threshold1"), arr("dd_threshold2"), arr("dd_min_scale")
    every = arr("rebalance_every")
    use_vol, use_brake = arr("vol_target") > 0, arr("brake") > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(np.isfinite(vol) & (vol > 0), target / vol, 1.0)
    lev_vol = np.where(use_vol, np.clip(raw, lo, hi), np.clip(1.0, lo, hi))
    cash = convention.daily_cash(frame.index).to_numpy(dtype=float)
    rates = convention.daily_rates()
    spread = rates.spread
    out = {c: np.empty((n, k)) for c in COLUMNS if c != "drawdown"}
    eq, peak, exposure = np.ones(k), np.ones(k), np.ones(k)
    for t in range(n):
        scale = np.where(use_brake, dd_scale_factor((peak - eq) / peak, dd1, dd2, floor), 1.0)
        wanted = np.clip(lev_vol[t] * scale, lo, hi)
        lev = np.where(t % every == 0, wanted, exposure)
        traded = np.abs(lev - exposure)
        carry = accounting.interest(1.0 - lev, cash[t], rates)  # cash is 1 - L per unit of equity
        cost = accounting.trading_cost(traded, rates)
        ret = lev * r[t] + carry - cost
        eq = eq * (1.0 + ret)
        peak = np.maximum(peak, eq)
        exposure = lev * (1.0 + r[t]) / (1.0 + ret)
        out["leverage"][t], out["ret"][t], out["equity"][t] = lev, ret, eq
        out["interest"][t], out["financing"][t] = carry, np.maximum(lev - 1.0, 0.0) * (cash[t] + spread)
        out["cost"][t], out["traded"][t] = cost, traded
    frames = {c: pd.DataFrame(v, index=frame.index) for c, v in out.items()}
    frames["drawdown"] = frames["equity"] / np.maximum(frames["equity"].cummax(), 1.0) - 1.0
    return {c: frames[c] for c in COLUMNS}


def column(runs: dict[str, pd.DataFrame], j: int) -> pd.DataFrame:
    """Parameter set ``j`` of :func:`simulate`'s output as one frame with :data:`COLUMNS`."""
    return pd.DataFrame({c: runs[c].iloc[:, j] for c in COLUMNS})


def apply_overlay(base: pd.Series, p: OverlayParams, convention: CashConvention,
                  same_day_vol: bool = False) -> pd.DataFrame:
    """The overlay's daily path for one parameter set: a frame with :data:`COLUMNS` (see :func:`simulate`)."""
    return column(simulate(base, [p], convention, same_day_vol), 0)
