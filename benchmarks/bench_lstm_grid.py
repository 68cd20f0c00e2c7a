"""Batched LSTM grid training against one-by-one training with torch.nn.LSTM.

Trains the same configurations for a few epochs both ways on the same data, in the same dtype,
on one thread: the seed grid's hidden sizes x learning rates x window sizes (one batch size and
layer count) for each of five pairs' data sets, as notebook 02 trains them (135 by default). Last line: ``speed-up: <ratio>x, max |validation loss difference|: <v>``.
Run: ``python benchmarks/bench_lstm_grid.py [--epochs 3] [--dtype float32]``.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from helpers.lstm import Config, Task, single_thread, train_many, train_one


def tasks_for(epochs: int, pairs: int = 5, n: int = 1000, features: int = 7) -> list[Task]:
    rng = np.random.default_rng(0)
    tasks = []
    for _pair in range(pairs):
        series = rng.normal(size=(n + 10, features))
        y_all = (rng.random(n + 10) < 0.35).astype(float)
        for h, lr, w in itertools.product([30, 50, 70], [1e-3, 5e-4, 1e-4], [3, 5, 7]):
            X = np.stack([series[j:j + w] for j in range(n)])
            y = y_all[w - 1:w - 1 + n]
            tasks.append(Task(Config(h, lr, w, epochs, 64, 1), X[:800], y[:800], seed=len(tasks),
                              X_val=X[800:], y_val=y[800:]))
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the batched trainer")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    tasks = tasks_for(args.epochs, args.pairs)

    with single_thread():
        t0 = time.perf_counter()
        ref = [train_one(t, dtype=dtype) for t in tasks]
        t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    one_process = train_many(tasks, dtype=dtype, n_jobs=1)
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = train_many(tasks, dtype=dtype, n_jobs=args.jobs)
    t_ours = time.perf_counter() - t0

    diff = max(abs(a.val_loss - b.val_loss) for a, b in zip(ours, ref))
    same = max(abs(a.val_loss - b.val_loss) for a, b in zip(ours, one_process))
    print(f"{len(tasks)} configurations x {args.epochs} epochs ({args.dtype}): one-by-one nn.LSTM "
          f"(1 thread) {t_ref:.1f}s; batched, 1 process {t_one:.1f}s ({t_ref / t_one:.1f}x); "
          f"batched, {args.jobs} processes {t_ours:.1f}s")
    print(f"batched results identical across process counts: {same == 0.0}")
    print(f"speed-up: {t_ref / t_ours:.1f}x, max |validation loss difference|: {diff:.2e}")


if __name__ == "__main__":
    main()
