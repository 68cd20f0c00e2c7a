"""Grid search of the LSTM classifier over pairs, selected on validation F1 (notebook 02)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import torch

from helpers.lstm import Config, Task, predict_proba, train_many
from helpers.pairs import PairData, best_threshold, classification_report, sequence_dates, sequences

GRIDS = {
    # runs in about a minute: the notebook's default
    "quick": {"hidden_size": [16, 32], "learning_rate": [0.003, 0.001], "window_size": [5],
              "epochs": [15], "batch_size": [64], "num_layers": [1]},
    # the seed's full grid: 162 configurations per pair
    "seed": {"hidden_size": [30, 50, 70], "learning_rate": [0.001, 0.0005, 0.0001], "window_size": [3, 5, 7],
             "epochs": [50], "batch_size": [32, 64, 128], "num_layers": [1, 2]},
}


def resolve_grid(grid: str, param_grid: dict | None) -> dict:
    """``param_grid`` when given, else the named preset."""
    if param_grid:
        missing = set(GRIDS["seed"]) - set(param_grid)
        if missing:
            raise ValueError(f"param_grid lacks {', '.join(sorted(missing))}; keys: {', '.join(GRIDS['seed'])}")
        return param_grid
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {', '.join(GRIDS)}; got {grid!r}")
    return GRIDS[grid]


def expand(param_grid: dict) -> list[Config]:
    """Every combination of a grid, as Configs."""
    keys = list(GRIDS["seed"])
    return [Config(**dict(zip(keys, values))) for values in itertools.product(*(param_grid[k] for k in keys))]


def resolve_device(device: str) -> str:
    """``"cuda"`` when asked and available, else ``"cpu"`` (with a warning if CUDA was asked)."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn("CUDA was asked for but is not available: training on the CPU", stacklevel=2)
        return "cpu"
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")
    return device


def search(pairs: dict[str, PairData], configs: list[Config], seed: int, device: str = "cpu",
           n_jobs: int = 2, progress: bool = False):
    """Train every (pair, config) on the training split; score each on validation.

    Returns the grid table (one row per pair and config: validation F1 at its best threshold,
    validation loss) and the trained models keyed (pair, config index).
    """
    tasks = []
    for p_i, (name, pair) in enumerate(pairs.items()):
        for c_i, cfg in enumerate(configs):
            X, y = sequences(pair.features, pair.labels, pair.train, cfg.window_size)
            Xv, yv = sequences(pair.features, pair.labels, pair.validation, cfg.window_size)
            tasks.append(Task(cfg, X, y, seed=seed * 100_003 + p_i * 1_000 + c_i, key=(name, c_i),
                              X_val=Xv, y_val=yv))
    trained = train_many(tasks, dtype=torch.float32, device=device, n_jobs=n_jobs if device == "cpu" else 1,
                         progress=progress)
    rows, models = [], {}
    for tr in trained:
        name, c_i = tr.task.key
        thr, f1 = best_threshold(tr.task.y_val, tr.val_probs, grid=np.round(np.arange(0.05, 0.96, 0.05), 2))
        rows.append({"pair": name, "config": c_i, **vars(tr.task.config), "val F1": f1, "threshold": thr,
                     "val loss": tr.val_loss})
        models[(name, c_i)] = tr
    return pd.DataFrame(rows), models


def choose(table: pd.DataFrame) -> pd.DataFrame:
    """Per pair, the configuration with the best validation F1 (first on ties)."""
    best = table.sort_values(["pair", "val F1", "config"], ascending=[True, False, True]).groupby("pair").head(1)
    return best.set_index("pair").loc[table["pair"].unique()]


def test_scores(pair: PairData, trained) -> pd.Series:
    """Probabilities of the chosen model on the test period, indexed by date (scored once)."""
    w = trained.task.config.window_size
    X, _ = sequences(pair.features, pair.labels, pair.test, w)
    return pd.Series(predict_proba(trained, X, torch.float32), index=sequence_dates(pair.features, pair.test, w))


def evaluate(pair: PairData, lstm_probs: pd.Series, lstm_threshold: float, baselines: dict) -> pd.DataFrame:
    """Test metrics of the LSTM and the baselines on the same test dates."""
    y = pair.labels.loc[lstm_probs.index].to_numpy()
    rows = {"LSTM": classification_report(y, lstm_probs.to_numpy(), lstm_threshold)}
    test_pos = pd.Index(pair.test).get_indexer(lstm_probs.index)
    for name, (scores, thr) in baselines.items():
        rows[name] = classification_report(y, np.asarray(scores)[test_pos], thr)
    return pd.DataFrame(rows).T
