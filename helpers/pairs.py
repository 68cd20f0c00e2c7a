"""Pair spreads, reversion labels, honest splits, baselines and the trading rule (notebook 02).

The spread is the seed's: the difference of the two prices' z-scores, each standardized with
its **training-period** mean and std only. Every feature at date t uses spread values up to t,
and is then standardized with training-period statistics. The label at t asks whether the
spread comes within ``threshold`` of its training mean during the next ``window`` days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

FEATURES = ["spread", "z_score", "z_score_lag1", "spread_lag1", "rolling_mean", "rolling_std", "volatility"]


def pair_key(a: str, b: str) -> str:
    """The seed's key for a pair: ``"A_B"``."""
    return f"{a}_{b}"


def label_settings(label_params: dict, a: str, b: str) -> tuple[int, float]:
    """(window, threshold) for a pair, else the ``"default"`` entry."""
    entry = label_params.get(pair_key(a, b), label_params.get("default"))
    if entry is None:
        raise ValueError(f"label_params has no entry for {pair_key(a, b)} and no 'default'")
    window, threshold = int(entry["window"]), float(entry["threshold"])
    if window < 1 or threshold <= 0:
        raise ValueError(f"{pair_key(a, b)}: window must be >= 1 and threshold > 0; got {entry}")
    return window, threshold


def spread_series(prices: pd.DataFrame, a: str, b: str, train_end) -> pd.Series:
    """z(A) - z(B), each price standardized with its mean and std up to ``train_end``."""
    missing = [t for t in (a, b) if t not in prices.columns]
    if missing:
        raise ValueError(f"no prices for {', '.join(missing)}")
    p = prices[[a, b]].dropna()
    if p.empty:
        raise ValueError(f"{a} and {b} have no common dates")
    train = p.loc[:train_end]
    if len(train) < 30:
        raise ValueError(f"{pair_key(a, b)}: only {len(train)} training days before {train_end}")
    z = (p - train.mean()) / train.std()
    return (z[a] - z[b]).rename(pair_key(a, b))


def raw_features(spread: pd.Series, window: int, train_end) -> pd.DataFrame:
    """The seed's seven features, past-only; z-scores use the training mean and std of the spread.

    ``volatility`` is the rolling std of the spread's *differences*: the seed's ``pct_change``
    of a spread that crosses zero was infinite.
    """
    train = spread.loc[:train_end]
    z = (spread - train.mean()) / train.std()
    return pd.DataFrame({
        "spread": spread, "z_score": z, "z_score_lag1": z.shift(1), "spread_lag1": spread.shift(1),
        "rolling_mean": spread.rolling(window).mean(), "rolling_std": spread.rolling(window).std(),
        "volatility": spread.diff().rolling(window).std(),
    })


def standardize(features: pd.DataFrame, train_end) -> pd.DataFrame:
    """Every column standardized with its training-period mean and std."""
    train = features.loc[:train_end]
    return (features - train.mean()) / train.std().replace(0, 1.0)


def reversion_labels(spread: pd.Series, window: int, threshold: float, mean: float) -> pd.Series:
    """1 if |spread - mean| < threshold on any of the next ``window`` days, else 0 (NaN at the end)."""
    s = spread.to_numpy()
    near = np.abs(s - mean) < threshold
    out = np.full(len(s), np.nan)
    for i in range(len(s) - window):
        out[i] = float(near[i + 1:i + 1 + window].any())
    return pd.Series(out, index=spread.index, name="label")


@dataclass
class PairData:
    """Standardized features, labels and the time-ordered split of one pair."""

    name: str
    features: pd.DataFrame      # standardized, dates x FEATURES
    raw: pd.DataFrame           # unstandardized (spread, z_score, ...) for trading
    labels: pd.Series
    train: pd.DatetimeIndex     # label dates used to fit
    validation: pd.DatetimeIndex
    test: pd.DatetimeIndex
    window: int
    threshold: float


def prepare_pair(prices: pd.DataFrame, a: str, b: str, label_params: dict, train_start, train_end,
                 test_start, test_end, validation_fraction: float) -> PairData:
    """Spread, features and labels, split into train / validation / test in time order.

    The validation set is the last ``validation_fraction`` of the training period. The last
    ``window`` label dates of train and of validation are purged: their labels would look into
    the next period.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {validation_fraction}")
    window, threshold = label_settings(label_params, a, b)
    spread = spread_series(prices.loc[train_start:test_end], a, b, train_end)
    raw = raw_features(spread, window, train_end)
    feats = standardize(raw, train_end)
    mean = float(spread.loc[:train_end].mean())
    labels = reversion_labels(spread, window, threshold, mean)
    complete = feats.notna().all(axis=1)
    first = complete.idxmax()  # rolling features are complete from here on
    feats, raw, labels = feats.loc[first:], raw.loc[first:], labels.loc[first:]
    ok = feats.notna().all(axis=1) & labels.notna()
    dates = feats.index[ok]
    in_train = dates[dates <= pd.Timestamp(train_end)]
    n_val = int(round(len(in_train) * validation_fraction))
    if len(in_train) - n_val - window < 50 or n_val - window < 20:
        raise ValueError(f"{pair_key(a, b)}: {len(in_train)} usable training days are too few for a "
                         f"validation fraction of {validation_fraction} and window {window}")
    train = in_train[: len(in_train) - n_val - window]              # purged before validation
    validation = in_train[len(in_train) - n_val: len(in_train) - window]  # purged before test
    test = dates[dates >= pd.Timestamp(test_start)]
    test = test[test <= pd.Timestamp(test_end)] if test_end else test
    if len(test) == 0:
        raise ValueError(f"{pair_key(a, b)}: no test days between {test_start} and {test_end}")
    return PairData(pair_key(a, b), feats, raw, labels, train, validation, test, window, threshold)


def sequences(features: pd.DataFrame, labels: pd.Series, dates: pd.DatetimeIndex,
              window_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each date d: features of the ``window_size`` rows ending at d, and d's label.

    Shapes (n, window_size, n_features) and (n,); dates without enough history are dropped.
    """
    if window_size < 1:
        raise ValueError(f"window_size must be at least 1; got {window_size}")
    values = features.to_numpy()
    pos = features.index.get_indexer(dates)
    pos = pos[pos >= window_size - 1]
    if len(pos) == 0:
        raise ValueError(f"window_size={window_size} is longer than the data")
    X = np.stack([values[p - window_size + 1:p + 1] for p in pos])
    if np.isnan(X).any():
        raise ValueError("feature sequences contain NaN: trim the features to complete rows first")
    return X, labels.to_numpy()[pos]


def sequence_dates(features: pd.DataFrame, dates: pd.DatetimeIndex, window_size: int) -> pd.DatetimeIndex:
    """The dates :func:`sequences` keeps."""
    pos = features.index.get_indexer(dates)
    return features.index[pos[pos >= window_size - 1]]


# --------------------------------------------------------------------------- thresholds and scores


def best_threshold(y: np.ndarray, scores: np.ndarray, grid=None) -> tuple[float, float]:
    """The decision threshold on ``scores`` with the highest F1 on (y, scores), and that F1."""
    grid = np.unique(np.quantile(scores, np.linspace(0.02, 0.98, 49))) if grid is None else grid
    best = (float(grid[0]), -1.0)
    for t in grid:
        f1 = f1_score(y, (scores > t).astype(int), zero_division=0)
        if f1 > best[1] + 1e-12:
            best = (float(t), float(f1))
    return best


def classification_report(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Accuracy, precision, recall, F1, ROC AUC and confusion matrix (tn, fp, fn, tp)."""
    pred = (scores > threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    auc = roc_auc_score(y, scores) if len(np.unique(y)) == 2 and np.ptp(scores) > 0 else np.nan
    return {"accuracy": accuracy_score(y, pred), "precision": precision_score(y, pred, zero_division=0),
            "recall": recall_score(y, pred, zero_division=0), "F1": f1_score(y, pred, zero_division=0),
            "ROC AUC": auc, "tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}


def baselines(pair: PairData) -> dict[str, tuple[np.ndarray, float]]:
    """Test-set scores and validation-chosen thresholds of the simple baselines.

    always-revert (score 1 everywhere), logistic regression on the same features at t, and a
    |z|-rule (score -|z|: closer to the mean means more likely to touch it).
    """
    f, y = pair.features, pair.labels
    out = {"always revert": (np.ones(len(pair.test)), 0.5)}
    logit = LogisticRegression(max_iter=1000).fit(f.loc[pair.train], y.loc[pair.train])
    val = logit.predict_proba(f.loc[pair.validation])[:, 1]
    out["logistic regression"] = (logit.predict_proba(f.loc[pair.test])[:, 1],
                                  best_threshold(y.loc[pair.validation].to_numpy(), val)[0])
    z_val, z_test = -pair.raw["z_score"].loc[pair.validation].abs(), -pair.raw["z_score"].loc[pair.test].abs()
    out["|z| rule"] = (z_test.to_numpy(), best_threshold(y.loc[pair.validation].to_numpy(), z_val.to_numpy())[0])
    return out


# --------------------------------------------------------------------------- trading


def simulate_trades(raw: pd.DataFrame, probs: pd.Series, threshold: float, entry_z: float = 1.0,
                    holding_period: int = 5, notional: float = 10_000.0,
                    transaction_cost: float = 0.0) -> tuple[pd.Series, pd.DataFrame]:
    """The seed's rule: when prob > threshold and |z| > entry_z, bet on reversion for
    ``holding_period`` days with ``notional * prob`` (P/L = spread change x size, in the seed's
    spread units), paying ``transaction_cost`` on the size at entry and at exit.

    P/L is booked on the exit date (the seed booked it at entry). Returns the cumulative P/L by
    date and the table of trades.
    """
    if holding_period < 1:
        raise ValueError(f"holding_period must be at least 1; got {holding_period}")
    df = raw.loc[probs.index, ["spread", "z_score"]]
    spread, z, p = df["spread"].to_numpy(), df["z_score"].to_numpy(), probs.to_numpy()
    pnl = np.zeros(len(df))
    trades = []
    for i in range(len(df) - holding_period):
        if p[i] > threshold and abs(z[i]) > entry_z:
            size = notional * p[i]
            move = spread[i + holding_period] - spread[i]
            gross = (-move if z[i] > 0 else move) * size
            cost = 2 * transaction_cost * size
            pnl[i + holding_period] += gross - cost
            trades.append({"entry": df.index[i], "exit": df.index[i + holding_period], "z": z[i],
                           "probability": p[i], "size": size, "pnl": gross - cost})
    trade_cols = ["entry", "exit", "z", "probability", "size", "pnl"]
    table = pd.DataFrame(trades, columns=trade_cols).astype(
        {"entry": "datetime64[ns]", "exit": "datetime64[ns]", "z": float, "probability": float, "size": float,
         "pnl": float})
    return pd.Series(np.cumsum(pnl), index=df.index, name="cumulative P/L"), table


def trade_summary(trades: pd.DataFrame, pairs) -> pd.DataFrame:
    """Per pair: number of trades, total and mean P/L, share of winning trades (0 trades listed)."""
    g = trades.groupby("pair")["pnl"]
    out = pd.DataFrame({"trades": g.size(), "total": g.sum(), "mean": g.mean(), "win rate": g.apply(lambda p: (p > 0).mean())})
    return out.reindex(list(pairs)).fillna({"trades": 0, "total": 0.0}).astype({"trades": int})


def split_summary(pairs: dict[str, PairData]) -> pd.DataFrame:
    """Per pair: label window and threshold, days and share of positive labels in each split."""
    rows = {}
    for name, p in pairs.items():
        row = {"window": p.window, "threshold": p.threshold}
        for split in ("train", "validation", "test"):
            dates = getattr(p, split)
            row[f"{split} days"] = len(dates)
            row[f"{split} % revert"] = float(p.labels.loc[dates].mean())
        rows[name] = row
    out = pd.DataFrame(rows).T
    ints = ["window"] + [c for c in out.columns if c.endswith("days")]
    return out.astype({c: int for c in ints})
