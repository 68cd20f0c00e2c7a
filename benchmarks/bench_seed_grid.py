"""Successive halving against the full grid, on a scaled-down seed grid of notebook 02.

The workload: notebook 02's five default pairs on the simulated market (its default splits and
labels), a grid shaped like the seed's (``helpers.grid.GRIDS["seed"]``) but smaller: 2 hidden
sizes x 3 learning rates x 2 windows x 2 batch sizes x 2 layer counts = 48 configurations per
pair, ``--epochs`` each. Both ways run in this one process, one after the other, on one thread
and one training process (``n_jobs=1``), so the ratio of their CPU times measures the
arithmetic saved and is little moved by other jobs on the machine (wall times are printed too).
Halving keeps the best third of each pair's configurations per rung (``helpers.grid.halving_rungs``).

Prints, per pair, the configuration each way chooses and its validation F1; then how often the
two choose the same configuration; last line: ``speed-up <N> x (halving vs full, CPU time), same
configuration chosen for <k> of <n> pairs``.
Run: ``python benchmarks/bench_seed_grid.py [--epochs 18] [--min-epochs 2]`` (about a minute of CPU time).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from helpers import grid as G
from helpers import pairs as P
from helpers.data import load_prices

PAIRS = [["IEMG", "EEM"], ["ARKK", "ARKW"], ["TLT", "SPTL"], ["SHY", "VGSH"], ["SOXX", "ITA"]]
SMALL = {"hidden_size": [30, 50], "learning_rate": [0.001, 0.0005, 0.0001], "window_size": [3, 5],
         "batch_size": [64, 128], "num_layers": [1, 2]}
CONFIG = ["hidden_size", "learning_rate", "window_size", "batch_size", "num_layers"]


def pairs_data() -> dict[str, P.PairData]:
    """Notebook 02's default pairs, splits and labels on the simulated market."""
    tickers = list(dict.fromkeys(t for pair in PAIRS for t in pair))
    prices = load_prices(tickers, start=pd.Timestamp("2015-01-01") - pd.Timedelta(days=250), end="2024-12-31",
                         source="synthetic")
    out = {}
    for a, b in PAIRS:
        pair = P.prepare_pair(prices, a, b, "2015-01-01", "2019-12-31", "2020-01-02", "2024-12-31", 0.2, 5, 0.5)
        out[pair.name] = pair
    return out


def timed(fn):
    """(result, CPU seconds, wall seconds) of fn()."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--min-epochs", type=int, default=2)
    args = parser.parse_args()
    data = pairs_data()
    configs = G.expand({**SMALL, "epochs": [args.epochs]})
    rungs = G.halving_rungs(len(configs), args.epochs, args.eta, args.min_epochs)
    print(f"{len(configs)} configurations x {len(data)} pairs, {args.epochs} epochs; halving rungs (epochs, "
          f"configurations per pair): {[(r.epochs(configs[0]), k) for r, k in zip(rungs, [len(configs)] + [r.keep for r in rungs[:-1]])]}")
    (full, _), cpu_full, wall_full = timed(lambda: G.search(data, configs, 0, n_jobs=1, strategy="full"))
    (half, _), cpu_half, wall_half = timed(lambda: G.search(data, configs, 0, n_jobs=1, strategy="halving",
                                                            eta=args.eta, min_epochs=args.min_epochs))
    a, b = G.choose(full), G.choose(half)
    scores = full.set_index(["pair", "config"])["val F1"]
    table = pd.DataFrame({"full: config": a["config"], "full: val F1": a["val F1"], "halving: config": b["config"],
                          "halving: val F1": b["val F1"],
                          "halving's choice, rank in the full grid": [
                              int((scores.loc[p] > scores.loc[(p, c)]).sum() + 1) for p, c in b["config"].items()]})
    print(table.round(3).to_string())
    same = int((a["config"] == b["config"]).sum())
    gap = (a["val F1"] - b["val F1"]).mean()
    print(f"full grid: CPU {cpu_full:.1f} s (wall {wall_full:.1f} s); halving: CPU {cpu_half:.1f} s "
          f"(wall {wall_half:.1f} s); halving's choice is on average {gap:.3f} below the full grid's best "
          f"validation F1 (median rank {table.iloc[:, -1].median():g} of {len(configs)})")
    print(f"speed-up {cpu_full / cpu_half:.1f} x (halving vs full, CPU time), same configuration chosen for "
          f"{same} of {len(a)} pairs")


if __name__ == "__main__":
    main()
