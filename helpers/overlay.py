"""Volatility-targeting, drawdown-braking leverage overlay (notebook 05).

Leverage on day t uses only information through t-1: the base portfolio's realized volatility
over the ``vol_lookback`` days ending at t-1 and the overlay's own drawdown at the close of t-1.
Financing is charged on leverage above 1 and trading costs on each change of leverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TRADING_DAYS = 252


@dataclass(frozen=True)
class OverlayParams:
    """Vol target (annual), leverage bounds, drawdown thresholds and costs."""

    vol_lookback: int = 60
    target_vol: float = 0.12
    lev_min: float = 0.3
    lev_max: float = 2.0
    dd_threshold1: float = 0.10
    dd_threshold2: float = 0.25
    dd_min_scale: float = 0.3
    financing_rate: float = 0.0
    transaction_cost: float = 0.0

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


def dd_scale_factor(dd: float, dd1: float, dd2: float, min_scale: float) -> float:
    """1 up to drawdown ``dd1``, ``min_scale`` from ``dd2``, linear in between (dd positive)."""
    if dd <= dd1:
        return 1.0
    if dd >= dd2:
        return min_scale
    return min_scale + (1.0 - min_scale) * (dd2 - dd) / (dd2 - dd1)


def apply_overlay(base: pd.Series, p: OverlayParams, same_day_vol: bool = False) -> pd.DataFrame:
    """Leveraged returns of ``base`` (daily simple returns) under the overlay.

    Returns a frame with ``leverage``, ``ret`` (net of financing and costs), ``equity``,
    ``drawdown``, ``financing`` and ``cost`` per day. ``same_day_vol=True`` reproduces the
    seed's look-ahead (volatility including day t's own return), for comparison only.
    """
    if p.vol_lookback >= len(base):
        raise ValueError(f"vol_lookback={p.vol_lookback} is longer than the {len(base)} days of returns")
    r = base.to_numpy(dtype=float)
    vol = base.rolling(p.vol_lookback).std(ddof=0).to_numpy() * np.sqrt(TRADING_DAYS)
    if not same_day_vol:
        vol = np.concatenate([[np.nan], vol[:-1]])  # through t-1
    fin_daily = p.financing_rate / TRADING_DAYS
    n = len(r)
    lev, ret, eq_path = np.empty(n), np.empty(n), np.empty(n)
    fin, cost = np.zeros(n), np.zeros(n)
    eq, peak, prev_lev = 1.0, 1.0, 1.0
    for t in range(n):
        lv = p.target_vol / vol[t] if np.isfinite(vol[t]) and vol[t] > 0 else 1.0
        lv = min(max(lv, p.lev_min), p.lev_max)
        lv *= dd_scale_factor((peak - eq) / peak, p.dd_threshold1, p.dd_threshold2, p.dd_min_scale)
        lv = min(max(lv, p.lev_min), p.lev_max)
        fin[t] = max(lv - 1.0, 0.0) * fin_daily
        cost[t] = p.transaction_cost * abs(lv - prev_lev)
        ret[t] = lv * r[t] - fin[t] - cost[t]
        eq *= 1.0 + ret[t]
        peak = max(peak, eq)
        lev[t], eq_path[t], prev_lev = lv, eq, lv
    out = pd.DataFrame({"leverage": lev, "ret": ret, "equity": eq_path, "financing": fin, "cost": cost},
                       index=base.index)
    out["drawdown"] = out["equity"] / np.maximum(out["equity"].cummax(), 1.0) - 1.0
    return out


def overlay_summary(base: pd.Series, runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Metrics of the base portfolio and each overlay run (plus average leverage and costs)."""
    from helpers.metrics import performance_summary

    rows = {"base (unlevered)": {**performance_summary(base), "Avg leverage": 1.0, "Financing + costs": 0.0}}
    for name, out in runs.items():
        rows[name] = {**performance_summary(out["ret"]), "Avg leverage": float(out["leverage"].mean()),
                      "Financing + costs": float((out["financing"] + out["cost"]).sum())}
    return pd.DataFrame(rows).T


def sensitivity(base: pd.Series, params: OverlayParams, target_vols, dd_thresholds1) -> dict[str, pd.DataFrame]:
    """Sharpe and max drawdown of the overlay over a grid of target_vol x dd_threshold1."""
    from dataclasses import replace

    from helpers.metrics import max_drawdown, sharpe_ratio

    sharpe = pd.DataFrame(index=pd.Index(target_vols, name="target_vol"),
                          columns=pd.Index(dd_thresholds1, name="dd_threshold1"), dtype=float)
    mdd = sharpe.copy()
    for tv in target_vols:
        for d1 in dd_thresholds1:
            out = apply_overlay(base, replace(params, target_vol=tv, dd_threshold1=d1))
            sharpe.loc[tv, d1] = sharpe_ratio(out["ret"])
            mdd.loc[tv, d1] = max_drawdown(out["ret"])
    return {"Sharpe": sharpe, "Max drawdown": mdd}
