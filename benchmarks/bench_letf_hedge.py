"""Speed of the vectorized hedge against the seed's per-row pandas loop, on the same windows.

The reference is the seed's ``Summary.beta_norm_strategy`` rewritten so that it really writes
(``.iat`` instead of chained ``.iloc`` assignment, which writes nothing under copy-on-write).
Run: ``python benchmarks/bench_letf_hedge.py [--windows N]``. Last line:
``speed-up: <ratio>x, max |P/L difference|: <value>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from helpers.data import load_prices
from helpers.letf import HedgeParams, sample_windows, simulate_hedge, stack_windows

PAIRS = [("SPY", "SPXL"), ("SOXX", "SOXL"), ("IWM", "TNA"), ("QQQ", "TQQQ"), ("DIA", "UDOW"),
         ("XBI", "LABU"), ("XLF", "FAS")]


def seed_pandas_pnl(under: pd.Series, lev: pd.Series, threshold: float = 1e-4) -> float:
    """The seed's per-row loop on a DataFrame, writing with .iat (the reference)."""
    dfr = pd.DataFrame({"u": under.to_numpy(), "l": lev.to_numpy()})
    for col in ("long", "short", "total", "cash_used", "beta", "pl"):
        dfr[col] = 0.0
    c = {name: dfr.columns.get_loc(name) for name in dfr.columns}
    su = 3000.0 / dfr.iat[0, c["u"]]
    st = -1000.0 / dfr.iat[0, c["l"]]
    cash = 0.0

    def update(i):
        dfr.iat[i, c["long"]] = su * dfr.iat[i, c["u"]]
        dfr.iat[i, c["short"]] = st * dfr.iat[i, c["l"]]
        dfr.iat[i, c["total"]] = dfr.iat[i, c["long"]] + dfr.iat[i, c["short"]]
        dfr.iat[i, c["beta"]] = su * dfr.iat[i, c["u"]] + st * dfr.iat[i, c["l"]] * 3

    update(0)
    for i in range(1, len(dfr)):
        update(i)
        beta_val = dfr.iat[i, c["beta"]]
        long_val = dfr.iat[i, c["long"]]
        if beta_val > threshold * long_val or beta_val < -threshold * long_val:
            amt = beta_val / 3 / dfr.iat[i, c["l"]]
            st -= amt
            cash -= amt * dfr.iat[i, c["l"]]
            update(i)
        dfr.iat[i, c["cash_used"]] = cash
        cash_change = dfr.iat[i, c["cash_used"]] - dfr.iat[i - 1, c["cash_used"]]
        dfr.iat[i, c["pl"]] = dfr.iat[i, c["total"]] - dfr.iat[i - 1, c["total"]] - cash_change
    return float(dfr["pl"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=5, help="windows per pair")
    args = parser.parse_args()
    prices = load_prices([t for pair in PAIRS for t in pair], source="synthetic")
    rng = np.random.default_rng(0)
    cases = []
    for u, lv in PAIRS:
        pair = prices[[u, lv]].dropna()
        windows = sample_windows(pair.index, args.windows, 6, rng)
        cases.append((pair, u, lv, windows))

    t0 = time.perf_counter()
    ref = [seed_pandas_pnl(pair[u].iloc[w.first:w.last + 1], pair[lv].iloc[w.first:w.last + 1])
           for pair, u, lv, windows in cases for w in windows]
    t_ref = time.perf_counter() - t0

    t0 = time.perf_counter()
    ours = []
    for pair, u, lv, windows in cases:
        paths = simulate_hedge(stack_windows(pair[u].to_numpy(), windows),
                               stack_windows(pair[lv].to_numpy(), windows), HedgeParams())
        ours.extend(paths.total_pnl)
    t_ours = time.perf_counter() - t0

    n = len(ref)
    print(f"{n} windows: seed pandas loop {t_ref:.2f}s, vectorized {t_ours:.3f}s")
    diff = float(np.max(np.abs(np.array(ref) - np.array(ours))))
    print(f"speed-up: {t_ref / t_ours:.0f}x, max |P/L difference|: {diff:.2e}")


if __name__ == "__main__":
    main()
