"""Speed of notebook 04's walk forward: the default FastEnsemble against the first EnsemblePredictor.

Both run the notebook's default walk forward (21-day targets in excess of SHV, refit every 21
days on 756 days, from the first full training window to the end of the simulated market) on
the same assets, one process, so the ratio is the models' own. The reference is
``EnsemblePredictor`` (ridge + 30-tree random forest + 30-tree gradient boosting), the
ensemble notebook 04 used before; the default is ridge + ``HistGradientBoostingRegressor``.
Run: ``python benchmarks/bench_walk_forward.py [--assets SPY TLT GLD ...]``. Last line:
``speed-up: <ratio>x`` with the IC of each.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from helpers.data import load_prices
from helpers.signals import EnsemblePredictor, FastEnsemble, skill, walk_forward

HORIZON = 21


def timed(model, prices, cash) -> tuple[float, float]:
    """(CPU seconds, mean IC at the horizon) of one serial walk forward over every asset."""
    t0 = time.process_time()
    out = {a: walk_forward(prices[a], None, HORIZON, train_window=756, model=model, horizon=HORIZON, cash=cash)
           for a in prices.columns}
    seconds = time.process_time() - t0
    return seconds, float(skill(out, HORIZON)["IC"].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["SPY", "TLT", "GLD"], help="tickers to forecast")
    args = parser.parse_args()
    prices = load_prices([*args.assets, "SHV"], source="synthetic").dropna()
    cash = prices["SHV"].pct_change().fillna(0.0)
    risky = prices[args.assets]
    fits = len(range(756 + HORIZON, len(risky) - 60, HORIZON)) * len(args.assets)
    print(f"{len(args.assets)} assets, {prices.index[0].date()}..{prices.index[-1].date()}, about {fits} fits each")
    old, old_ic = timed(EnsemblePredictor(), risky, cash)
    print(f"EnsemblePredictor (ridge + RF + GBR): {old:.1f} s CPU, mean IC {old_ic:+.3f}")
    new, new_ic = timed(FastEnsemble(), risky, cash)
    print(f"FastEnsemble (ridge + HistGradientBoosting): {new:.1f} s CPU, mean IC {new_ic:+.3f}")
    print(f"speed-up: {old / new:.1f}x, IC {new_ic:+.3f} vs {old_ic:+.3f} (|difference| {np.abs(new_ic - old_ic):.3f})")


if __name__ == "__main__":
    main()
