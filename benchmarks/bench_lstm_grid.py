"""Batched LSTM grid training against one-by-one training with torch.nn.LSTM.

The workload is the seed's full grid (``helpers.grid.GRIDS["seed"]``: 3 hidden sizes x 3 learning
rates x 3 windows x 3 batch sizes x 2 layer counts) on five pairs' data sets of notebook 02's size,
810 configurations, for a few epochs instead of 50 (time grows linearly with epochs). Both ways
train the same configurations on the same data in the same dtype; the reference is a lean loop
of ``nn.LSTM`` + ``torch.optim.Adam`` per configuration with torch's default threads (all cores),
the batched trainer runs ``--jobs`` worker processes (started before timing, as a notebook keeps
them: their start-up is printed separately). Last line:
``speed-up: <ratio>x, max |validation loss difference|: <v>``.
Run: ``python benchmarks/bench_lstm_grid.py [--epochs 2] [--pairs 5] [--jobs 2]`` (about 2 minutes).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from helpers.grid import GRIDS, expand
from helpers.lstm import Task, train_many, train_one


def tasks_for(epochs: int, pairs: int = 5, n: int = 1000, features: int = 7) -> list[Task]:
    """Seed-grid tasks on random features: 80% training, 20% validation, as notebook 02 splits."""
    rng = np.random.default_rng(0)
    configs = [dataclasses.replace(c, epochs=epochs) for c in expand(GRIDS["seed"])]
    tasks = []
    for p in range(pairs):
        series = rng.normal(size=(n + 10, features))
        y_all = (rng.random(n + 10) < 0.35).astype(float)
        for i, c in enumerate(configs):
            w = c.window_size
            X = np.stack([series[j:j + w] for j in range(n)])
            y = y_all[w - 1:w - 1 + n]
            tasks.append(Task(c, X[:800], y[:800], seed=p * 1000 + i, X_val=X[800:], y_val=y[800:]))
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

    t0 = time.perf_counter()
    train_many(tasks[:1], dtype=dtype, n_jobs=args.jobs)  # builds the kernels, starts the workers
    t_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = train_many(tasks, dtype=dtype, n_jobs=args.jobs)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    one_process = train_many(tasks, dtype=dtype, n_jobs=1)
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = [train_one(t, dtype=dtype) for t in tasks]
    t_ref = time.perf_counter() - t0

    diff = max(abs(a.val_loss - b.val_loss) for a, b in zip(ours, ref))
    same = max(abs(a.val_loss - b.val_loss) for a, b in zip(ours, one_process))
    print(f"{len(tasks)} configurations x {args.epochs} epoch(s), {args.dtype}, "
          f"{torch.get_num_threads()} cores: one-by-one nn.LSTM {t_ref:.1f}s; batched, 1 process "
          f"{t_one:.1f}s ({t_ref / t_one:.1f}x); batched, {args.jobs} processes {t_ours:.1f}s "
          f"(+{t_start:.1f}s once to start them)")
    print(f"batched results identical across process counts: {same == 0.0}")
    print(f"speed-up: {t_ref / t_ours:.1f}x, max |validation loss difference|: {diff:.2e}")


if __name__ == "__main__":
    main()
