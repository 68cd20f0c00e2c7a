"""Speed of notebook 04's walk forward and covariance windows: the default against the paths it replaced.

All paths run in one process on the same assets of the simulated market (21-day targets in excess
of SHV, 756-day training windows, from the first full window to the end), so the ratios are the
code's own, whatever the load on the machine (CPU seconds, not wall-clock). Compared:

* walk forward: the default ``FastEnsemble`` (ridge + ``HistGradientBoostingRegressor``) refit
  quarterly (``retrain_every=63``, notebook 04's default) against the same model refit monthly
  (``retrain_every=21``, the previous default), and, with ``--ensemble``, against the first
  ``EnsemblePredictor`` (ridge + 30-tree random forest + 30-tree gradient boosting) refit monthly.
  Each line prints the mean IC at the horizon (non-overlapping dates): the refit frequency moves
  it by a few thousandths, well inside its noise; notebook 04 shows the verdicts are the same.
* covariance windows: :func:`helpers.portfolio.trailing_windows` against the label slice
  ``returns.loc[:d].tail(lookback)`` per date it replaced (same rows, checked).

Run: ``python benchmarks/bench_walk_forward.py [--assets SPY TLT GLD ...] [--ensemble]``. Last
line: ``speed-up: <ratio>x`` of the default walk forward over the previous one.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from helpers.backtest import rebalance_dates
from helpers.data import load_prices
from helpers.portfolio import trailing_windows
from helpers.signals import EnsemblePredictor, FastEnsemble, skill, walk_forward

HORIZON = 21


def timed(model, prices, cash, retrain_every: int) -> tuple[float, float]:
    """(CPU seconds, mean IC at the horizon) of one serial walk forward over every asset."""
    t0 = time.process_time()
    out = {a: walk_forward(prices[a], None, retrain_every, train_window=756, model=model, horizon=HORIZON,
                           cash=cash) for a in prices.columns}
    seconds = time.process_time() - t0
    return seconds, float(skill(out, HORIZON)["IC"].mean())


def windows(returns: pd.DataFrame, lookback: int = 756, repeat: int = 5) -> tuple[float, float]:
    """(CPU seconds of the label-slice windows, of :func:`trailing_windows`) over every rebalance date."""
    dates = rebalance_dates(returns.index[lookback:], HORIZON)
    t0 = time.process_time()
    for _ in range(repeat):
        old = [returns.loc[:d].tail(lookback).dropna() for d in dates]
    t1 = time.process_time()
    for _ in range(repeat):
        new = [w.dropna() for _, w in trailing_windows(returns, dates, lookback)]
    t2 = time.process_time()
    assert all(a.equals(b) for a, b in zip(old, new)), "trailing_windows gave other rows than .loc[:d].tail()"
    return t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["SPY", "TLT", "GLD"], help="tickers to forecast")
    parser.add_argument("--ensemble", action="store_true", help="also time the first EnsemblePredictor (slow)")
    args = parser.parse_args()
    prices = load_prices([*args.assets, "SHV"], source="synthetic").dropna()
    cash = prices["SHV"].pct_change().fillna(0.0)
    risky = prices[args.assets]
    print(f"{len(args.assets)} assets, {prices.index[0].date()}..{prices.index[-1].date()}; CPU seconds, one process")
    if args.ensemble:
        ens, ens_ic = timed(EnsemblePredictor(), risky, cash, 21)
        print(f"EnsemblePredictor (ridge + RF + GBR), monthly refits: {ens:.1f} s, mean IC {ens_ic:+.3f}")
    old, old_ic = timed(FastEnsemble(), risky, cash, 21)
    print(f"FastEnsemble, monthly refits (previous default): {old:.1f} s, mean IC {old_ic:+.3f}")
    new, new_ic = timed(FastEnsemble(), risky, cash, 63)
    print(f"FastEnsemble, quarterly refits (default): {new:.1f} s, mean IC {new_ic:+.3f}")
    slice_s, trail_s = windows(prices.pct_change().iloc[1:])
    print(f"covariance windows: .loc[:d].tail() {slice_s:.2f} s, trailing_windows {trail_s:.2f} s "
          f"({slice_s / trail_s:.1f}x), same rows")
    if args.ensemble:
        print(f"speed-up over EnsemblePredictor monthly: {ens / new:.1f}x")
    print(f"speed-up: {old / new:.1f}x (quarterly over monthly refits), IC {new_ic:+.3f} vs {old_ic:+.3f}")


if __name__ == "__main__":
    main()
