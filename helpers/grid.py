"""Grid search of the LSTM classifier over pairs, selected on validation F1 (notebook 02)."""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from helpers.lstm import Config, Task, predict_proba, train_many
from helpers.pairs import PairData, best_threshold, classification_report, sequence_dates, sequences

GRIDS = {
    # 4 configurations, trained in seconds: the notebook's default
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


STRATEGIES = ("full", "halving")
MANY = 100  # trainings from which ``search`` uses every core by default


@dataclass(frozen=True)
class Rung:
    """One rung of successive halving: every configuration still in trains to ``fraction`` of its
    epochs (rounded, at least 1), then the best ``keep`` per pair go on (``keep`` 0 in the last rung)."""

    fraction: float
    keep: int

    def epochs(self, config: Config) -> int:
        """Epochs a configuration has been trained when this rung scores it."""
        return min(config.epochs, max(1, round(config.epochs * self.fraction)))


def halving_rungs(n_configs: int, max_epochs: int, eta: int = 3, min_epochs: int = 2) -> list[Rung]:
    """The schedule of successive halving over ``n_configs`` configurations per pair.

    Rung i (0..s) trains the configurations still in to ``eta**(i - s)`` of their epochs and keeps
    the best ``n_configs // eta**(i + 1)`` of each pair; the last rung trains its survivors to all
    their epochs. s is the largest integer with ``eta**s <= n_configs`` and
    ``max_epochs / eta**s >= min_epochs`` (the first rung trains at least ``min_epochs``).
    Example: 162 configurations of 50 epochs, eta 3, min_epochs 2 -> 162 to 6 epochs, 54 to 17,
    18 to 50 (2,160 configuration-epochs instead of 8,100).

    References
    ----------
    K. Jamieson and A. Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter
    Optimization", AISTATS 2016. L. Li et al., "Hyperband", JMLR 18 (2018).
    """
    if eta < 2 or n_configs < 1 or max_epochs < 1 or min_epochs < 1:
        raise ValueError(f"halving needs eta >= 2 and positive counts; got eta={eta}, n_configs={n_configs}, "
                         f"max_epochs={max_epochs}, min_epochs={min_epochs}")
    s = 0
    while eta ** (s + 1) <= n_configs and max_epochs / eta ** (s + 1) >= min_epochs:
        s += 1
    return [Rung(eta ** (i - s), n_configs // eta ** (i + 1) if i < s else 0) for i in range(s + 1)]


def resolve_strategy(strategy: str | None, grid: str) -> str:
    """``strategy`` when given, else successive halving for the seed's grid and the full grid otherwise."""
    if strategy is None:
        return "halving" if grid == "seed" else "full"
    if strategy not in STRATEGIES:
        raise ValueError(f"grid_search must be one of {', '.join(STRATEGIES)} or None; got {strategy!r}")
    return strategy


def search_summary(table: pd.DataFrame) -> str:
    """One line on what the search trained: per rung, configurations per pair and epochs, and the
    configuration-epochs against the full grid's."""
    n_pairs = table["pair"].nunique()
    rungs = table.groupby("rung").agg(n=("config", "size"), trained=("epochs trained", "max"))
    if len(rungs) == 1:
        return f"Full grid: {rungs['n'].iloc[0] // n_pairs} configurations per pair, all trained to the end."
    first = table[table["rung"] == 0]
    last_epochs = table.groupby(["pair", "config"])["epochs trained"].agg(list)
    spent = sum(e[-1] for e in last_epochs)  # each continues from the rung before: its last count
    parts = [f"{r['n'] // n_pairs} to {r['trained']} epochs" for _, r in rungs.iterrows()]
    return (f"Successive halving, configurations per pair trained in each rung: {'; '.join(parts)} "
            f"({spent / n_pairs:,.0f} configuration-epochs per pair instead of the full grid's "
            f"{first['epochs'].sum() / n_pairs:,.0f}).")


def search(pairs: dict[str, PairData], configs: list[Config], seed: int, device: str = "cpu",
           n_jobs: int | None = None, progress: bool = False, strategy: str = "full", eta: int = 3,
           min_epochs: int = 2):
    """Train the (pair, config) grid on the training split; score each on validation.

    strategy "full" trains every configuration for all its epochs. "halving" (successive
    halving, :func:`halving_rungs`) trains every configuration a fraction of its epochs, keeps the
    best of each pair by validation F1 (then validation loss, then grid order), continues those
    (weights and Adam state, so a configuration trained to the end equals its full-grid training),
    and so on until the survivors have all their epochs. Only validation data ranks configurations.

    n_jobs : training processes; None: one for fewer than ``MANY`` trainings (starting worker
    processes costs more than it saves there, and a notebook run beside others shares the cores),
    else every core.

    Returns the grid table (one row per pair, config and rung it was scored in: validation F1 at
    its best threshold, validation loss, "rung" and "epochs trained"; the full grid has one rung)
    and the models trained to all their epochs, keyed (pair, config index).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    tasks = {}
    for p_i, (name, pair) in enumerate(pairs.items()):
        for c_i, cfg in enumerate(configs):
            X, y = sequences(pair.features, pair.labels, pair.train, cfg.window_size)
            Xv, yv = sequences(pair.features, pair.labels, pair.validation, cfg.window_size)
            tasks[(name, c_i)] = Task(cfg, X, y, seed=seed * 100_003 + p_i * 1_000 + c_i, key=(name, c_i),
                                      X_val=Xv, y_val=yv)
    if n_jobs is None:
        n_jobs = 1 if len(tasks) < MANY else os.cpu_count() or 1
    jobs = n_jobs if device == "cpu" else 1
    rungs = [Rung(1.0, 0)] if strategy == "full" else halving_rungs(len(configs), max(c.epochs for c in configs),
                                                                    eta, min_epochs)
    alive, last, rows = list(tasks), {}, []
    for r_i, rung in enumerate(rungs):
        batch = [dataclasses.replace(tasks[k], config=dataclasses.replace(tasks[k].config,
                                                                          epochs=rung.epochs(tasks[k].config)),
                                     resume=last.get(k)) for k in alive]
        label = (f"rung {r_i + 1}/{len(rungs)}: {len(batch)} trainings to {rung.fraction:.0%} of their epochs"
                 if len(rungs) > 1 else f"training {len(batch)} LSTM configurations")
        trained = train_many(batch, dtype=torch.float32, device=device, n_jobs=jobs, progress=progress and label,
                             keep_state=rung.keep > 0)
        scored = [_validation_row(tr, tasks[tr.task.key].config, r_i) for tr in trained]
        rows += scored
        last = {tr.task.key: tr for tr in trained}
        if rung.keep:
            alive = _best_per_pair(scored, rung.keep)
            last = {k: last[k] for k in alive}  # the others' weights are not needed again
    return pd.DataFrame(rows), last


def _validation_row(trained, config: Config, rung: int) -> dict:
    """A grid-table row: the configuration, its validation F1 at its best threshold, validation loss."""
    name, c_i = trained.task.key
    thr, f1 = best_threshold(trained.task.y_val, trained.val_probs, grid=np.round(np.arange(0.05, 0.96, 0.05), 2))
    return {"pair": name, "config": c_i, **vars(config), "val F1": f1, "threshold": thr,
            "val loss": trained.val_loss, "rung": rung, "epochs trained": trained.task.config.epochs}


def _best_per_pair(rows: list[dict], keep: int) -> list[tuple]:
    """(pair, config) keys of the ``keep`` best rows of each pair: highest validation F1, then lowest
    validation loss, then first in grid order."""
    ranked = pd.DataFrame(rows).sort_values(["pair", "val F1", "val loss", "config"],
                                            ascending=[True, False, True, True], kind="stable")
    best = ranked.groupby("pair", sort=False).head(keep)
    return list(zip(best["pair"], best["config"].astype(int)))


def choose(table: pd.DataFrame) -> pd.DataFrame:
    """Per pair, the configuration with the best validation F1 (first on ties) among those of the
    search's last rung (trained to all their epochs; every configuration in the full grid)."""
    done = table[table["rung"] == table["rung"].max()] if "rung" in table else table
    best = done.sort_values(["pair", "val F1", "config"], ascending=[True, False, True]).groupby("pair").head(1)
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
