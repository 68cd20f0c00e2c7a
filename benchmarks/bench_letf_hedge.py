"""Speed of the vectorized hedge against the seed's per-row pandas loop, on the same windows.

The reference is the seed's ``Summary.beta_norm_strategy`` with its chained ``.iloc`` writes
replaced by ``.loc[row, col]`` so that they write (chained assignment writes nothing under
copy-on-write). Both run the seed's book (3000 long / 1000 short, re-hedge band 0.01%) without
borrow, cash or costs, so their P/L must agree to rounding.

1. every pair of notebook 01, ``--windows`` windows each, both implementations in full;
2. ``--many`` (10,000) windows of one pair: the vectorized run in full, the reference timed on
   ``--ref-windows`` of them and scaled to all (it would take hours), P/L compared on those.

Run: ``python benchmarks/bench_letf_hedge.py``. Last line:
``speed-up on <N> windows of <pair>: <ratio>x, max |P/L difference|: <value>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from helpers.backtest import CashConvention
from helpers.data import load_prices
from helpers.letf import HedgeParams, sample_windows, simulate_windows

PAIRS = [("SPY", "SPXL"), ("SOXX", "SOXL"), ("IWM", "TNA"), ("QQQ", "TQQQ"), ("DIA", "UDOW"),
         ("XBI", "LABU"), ("XLF", "FAS")]
FREE = CashConvention(0.0, 0.0, 0.0, 0.0)
SEED_BOOK = HedgeParams(exposure_threshold=1e-4)


def seed_pandas_pnl(under: pd.Series, lev: pd.Series, threshold: float = 1e-4) -> float:
    """The seed's per-row loop on a DataFrame, writing with ``.loc[row, col]`` (the reference)."""
    dfr = pd.DataFrame({"u": under.to_numpy(), "l": lev.to_numpy()})
    for col in ("long", "short", "total", "cash_used", "beta", "pl"):
        dfr[col] = 0.0
    su = 3000.0 / dfr.loc[0, "u"]
    st = -1000.0 / dfr.loc[0, "l"]
    cash = 0.0

    def update(i):
        dfr.loc[i, "long"] = su * dfr.loc[i, "u"]
        dfr.loc[i, "short"] = st * dfr.loc[i, "l"]
        dfr.loc[i, "total"] = dfr.loc[i, "long"] + dfr.loc[i, "short"]
        dfr.loc[i, "beta"] = su * dfr.loc[i, "u"] + st * dfr.loc[i, "l"] * 3

    update(0)
    for i in range(1, len(dfr)):
        update(i)
        beta_val = dfr.loc[i, "beta"]
        long_val = dfr.loc[i, "long"]
        if beta_val > threshold * long_val or beta_val < -threshold * long_val:
            amt = beta_val / 3 / dfr.loc[i, "l"]
            st -= amt
            cash -= amt * dfr.loc[i, "l"]
            update(i)
        dfr.loc[i, "cash_used"] = cash
        cash_change = dfr.loc[i, "cash_used"] - dfr.loc[i - 1, "cash_used"]
        dfr.loc[i, "pl"] = dfr.loc[i, "total"] - dfr.loc[i - 1, "total"] - cash_change
    return float(dfr["pl"].sum())


def vectorized_pnl(pair: pd.DataFrame, u: str, lv: str, windows) -> np.ndarray:
    """Total P/L of every window in one pass (no borrow, cash or costs: the seed's book)."""
    first = np.array([w.first for w in windows])
    n_days = np.array([w.last - w.first + 1 for w in windows])
    res = simulate_windows(pair[u].to_numpy(), pair[lv].to_numpy(), np.zeros(len(pair)), first, n_days, 3.0,
                           SEED_BOOK.exposure_threshold, SEED_BOOK, FREE)
    return res.pnl


def reference_pnl(pair: pd.DataFrame, u: str, lv: str, windows) -> np.ndarray:
    return np.array([seed_pandas_pnl(pair[u].iloc[w.first:w.last + 1], pair[lv].iloc[w.first:w.last + 1])
                     for w in windows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1, help="windows per pair in part 1")
    parser.add_argument("--many", type=int, default=10_000, help="windows of one pair in part 2")
    parser.add_argument("--ref-windows", type=int, default=10, help="of those, run through the reference")
    parser.add_argument("--pair", default="SPY/SPXL")
    args = parser.parse_args()
    prices = load_prices([t for pair in PAIRS for t in pair], source="synthetic")
    rng = np.random.default_rng(0)

    ref_t, ours_t, diffs, n = 0.0, 0.0, [], 0
    for u, lv in PAIRS:
        pair = prices[[u, lv]].dropna()
        windows = sample_windows(pair.index, args.windows, 6, rng)
        t0 = time.perf_counter()
        ref = reference_pnl(pair, u, lv, windows)
        ref_t += time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = vectorized_pnl(pair, u, lv, windows)
        ours_t += time.perf_counter() - t0
        diffs.append(np.max(np.abs(ref - ours)))
        n += len(windows)
    print(f"{n} windows over {len(PAIRS)} pairs: seed pandas loop {ref_t:.1f}s, vectorized {ours_t:.3f}s, "
          f"speed-up {ref_t / ours_t:.0f}x, max |P/L difference| {max(diffs):.2e}")

    u, lv = args.pair.split("/")
    pair = prices[[u, lv]].dropna()
    windows = sample_windows(pair.index, args.many, 6, rng)
    t0 = time.perf_counter()
    ours = vectorized_pnl(pair, u, lv, windows)
    t_ours = time.perf_counter() - t0
    k = min(args.ref_windows, len(windows))
    t0 = time.perf_counter()
    ref = reference_pnl(pair, u, lv, windows[:k])
    t_ref = (time.perf_counter() - t0) / k * len(windows)
    diff = float(np.max(np.abs(ref - ours[:k])))
    days = np.mean([w.last - w.first + 1 for w in windows])
    print(f"{len(windows):,} windows of {args.pair} (mean {days:.0f} days): vectorized {t_ours:.2f}s; "
          f"seed pandas loop {t_ref:,.0f}s estimated from {k} windows")
    print(f"speed-up on {len(windows):,} windows of {args.pair}: {t_ref / t_ours:,.0f}x, "
          f"max |P/L difference|: {diff:.2e}")


if __name__ == "__main__":
    main()
