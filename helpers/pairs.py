"""Pair spreads, stationarity checks, reversion labels, honest splits and baselines (notebook 02).

The spread of a pair (A, B) is ``log A - beta log B`` with ``beta`` the OLS hedge ratio of
log A on log B over the **fit rows** (the training period before its validation tail). Its
z-score at t is measured against a *trailing* mean and std over the ``lookback`` days ending at
t (past-only), so it can revert out of sample even when the spread's level drifts. The label at
t asks whether the spread comes within ``threshold`` trailing standard deviations of the
trailing mean known at t during the next ``window`` days: the question a reversion trade opened
at t's close asks.

Everything fitted (hedge ratio, lookback, feature standardization) uses the fit rows only, so
validation scores see no validation data; the test period is scored once, by the model chosen on
validation (it is not refit on train + validation).
"""

from __future__ import annotations

import warnings
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

FEATURES = ["z_score", "z_score_lag1", "z_change", "abs_z", "deviation", "rolling_std", "volatility"]
VOL_WINDOW = 10  # days of spread changes in the short-term ``volatility`` feature


def pair_key(a: str, b: str) -> str:
    """The seed's key for a pair: ``"A_B"``."""
    return f"{a}_{b}"


# --------------------------------------------------------------------------- stationarity


def hedge_ratio(log_a: pd.Series, log_b: pd.Series) -> tuple[float, float]:
    """(intercept, beta) of the OLS regression log A = intercept + beta log B.

    ``beta`` is also the dollar hedge: $1 of A moves like $beta of B.
    """
    x = np.column_stack([np.ones(len(log_b)), np.asarray(log_b, dtype=float)])
    coef, *_ = np.linalg.lstsq(x, np.asarray(log_a, dtype=float), rcond=None)
    return float(coef[0]), float(coef[1])


def half_life(spread: pd.Series) -> float:
    """Half-life in days of an AR(1) fit: ds_t = c + lam s_{t-1}; ``-ln 2 / ln(1 + lam)`` (inf if lam >= 0)."""
    s = np.asarray(spread, dtype=float)
    x = np.column_stack([np.ones(len(s) - 1), s[:-1]])
    (_, lam), *_ = np.linalg.lstsq(x, np.diff(s), rcond=None)
    if lam >= 0 or lam <= -1:
        return float("inf") if lam >= 0 else 0.0
    return float(-np.log(2) / np.log1p(lam))


@dataclass(frozen=True)
class Stationarity:
    """Engle-Granger / ADF checks of a pair on its fit rows.

    beta : hedge ratio (log A on log B, constant only: the traded spread's);
    eg_pvalue : Engle-Granger cointegration test with a constant and a linear trend
    (``statsmodels.tsa.stattools.coint(..., trend="ct")``), the gate: the strategy trades
    deviations from a *trailing* mean, which removes a slow drift of the spread, so a spread
    that is stationary around a drift is tradable; eg_c_pvalue : the same test with a constant
    only (shown, not used); adf_pvalue : ADF (constant) on the spread with ``beta``;
    half_life : days; n : rows used.
    """

    beta: float
    eg_pvalue: float
    eg_c_pvalue: float
    adf_pvalue: float
    half_life: float
    n: int

    def passes(self, level: float = 0.05) -> bool:
        """Cointegrated around a trend at ``level``, a positive hedge ratio and a finite half-life."""
        return bool(self.eg_pvalue < level and self.beta > 0 and np.isfinite(self.half_life))


def stationarity(prices: pd.DataFrame, a: str, b: str) -> Stationarity:
    """Hedge ratio, Engle-Granger (constant + trend: the gate; constant only) and ADF p-values and
    half-life of log A - beta log B on ``prices``."""
    from statsmodels.tsa.stattools import adfuller, coint

    la, lb = np.log(prices[a]), np.log(prices[b])
    _, beta = hedge_ratio(la, lb)
    spread = la - beta * lb
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # adfuller's future return type
        eg = float(coint(la, lb, trend="ct", autolag="aic")[1])
        eg_c = float(coint(la, lb, trend="c", autolag="aic")[1])
        adf = float(adfuller(spread, autolag="AIC")[1])
    return Stationarity(beta, eg, eg_c, adf, half_life(spread), len(prices))


def lookback_rule(half_life_days: float, multiple: float = 4.0, low: int = 20, high: int = 120) -> int:
    """Trailing window for the z-score: ``multiple`` half-lives, clipped to [low, high] days."""
    if not np.isfinite(half_life_days):
        return high
    return int(np.clip(round(multiple * half_life_days), low, high))


# --------------------------------------------------------------------------- spread, features, labels


def log_spread(prices: pd.DataFrame, a: str, b: str, beta: float) -> pd.Series:
    """log A - beta log B on every date both prices exist."""
    p = prices[[a, b]].dropna()
    return (np.log(p[a]) - beta * np.log(p[b])).rename(pair_key(a, b))


def trailing_stats(spread: pd.Series, lookback: int) -> pd.DataFrame:
    """Trailing mean and std over the ``lookback`` days ending at t (known at t's close), and z."""
    mean = spread.rolling(lookback).mean()
    std = spread.rolling(lookback).std()
    return pd.DataFrame({"mean": mean, "std": std, "z": (spread - mean) / std})


def raw_features(spread: pd.Series, lookback: int) -> pd.DataFrame:
    """The seven past-only features (FEATURES) plus the spread and its trailing mean and std.

    z_score: (s - trailing mean) / trailing std; z_change: 5-day change of z; deviation:
    s - trailing mean; rolling_std: trailing std; volatility: std of daily spread changes
    over VOL_WINDOW days (the seed's ``pct_change`` of a spread crossing zero was infinite).
    """
    st = trailing_stats(spread, lookback)
    z = st["z"]
    return pd.DataFrame({
        "z_score": z, "z_score_lag1": z.shift(1), "z_change": z - z.shift(5), "abs_z": z.abs(),
        "deviation": spread - st["mean"], "rolling_std": st["std"],
        "volatility": spread.diff().rolling(VOL_WINDOW).std(),
        "spread": spread, "mean": st["mean"], "std": st["std"],
    })


def standardize(features: pd.DataFrame, fit_start, fit_end) -> pd.DataFrame:
    """Every column standardized with its mean and std over the fit rows [fit_start, fit_end]."""
    fit = features.loc[fit_start:fit_end]
    return (features - fit.mean()) / fit.std().replace(0, 1.0)


def reversion_labels(spread: pd.Series, mean: pd.Series, std: pd.Series, window: int,
                     threshold: float) -> pd.Series:
    """1 if |s_{t+k} - mean_t| < threshold * std_t for some k in 1..window, else 0.

    ``mean_t`` and ``std_t`` are the trailing statistics known at t. NaN where t + window is
    past the data or the statistics are not yet defined.
    """
    if window < 1 or threshold <= 0:
        raise ValueError(f"label window must be >= 1 and threshold > 0; got {window}, {threshold}")
    s = spread.to_numpy(dtype=float)
    m, sd = mean.to_numpy(dtype=float), std.to_numpy(dtype=float)
    n = len(s)
    near = np.zeros(n, dtype=bool)
    for k in range(1, window + 1):
        future = np.full(n, np.nan)
        future[:n - k] = s[k:]
        near |= np.abs(future - m) < threshold * sd
    out = near.astype(float)
    out[n - window:] = np.nan
    out[~np.isfinite(m) | ~np.isfinite(sd)] = np.nan
    return pd.Series(out, index=spread.index, name="label")


# --------------------------------------------------------------------------- one pair, split in time


@dataclass
class PairData:
    """Standardized features, labels, split and stationarity checks of one pair."""

    name: str
    a: str
    b: str
    features: pd.DataFrame      # standardized, dates x FEATURES
    raw: pd.DataFrame           # unstandardized features, spread, trailing mean and std
    labels: pd.Series
    train: pd.DatetimeIndex     # label dates used to fit (purged before validation)
    validation: pd.DatetimeIndex
    test: pd.DatetimeIndex
    window: int                 # label window (days)
    threshold: float            # label threshold (trailing std units)
    lookback: int               # trailing z-score window (days)
    fit_end: pd.Timestamp       # last date of the fit rows
    checks: Stationarity        # on the fit rows
    passes: bool                # checks.passes(coint_level)


def split_dates(prices: pd.DataFrame, train_start, train_end, validation_fraction: float):
    """(fit_end, validation_start): the validation set is the last ``validation_fraction`` of training days."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {validation_fraction}")
    days = prices.loc[train_start:train_end].index
    n_val = int(round(len(days) * validation_fraction))
    if len(days) - n_val < 100 or n_val < 40:
        raise ValueError(f"only {len(days)} training days: too few for a validation fraction of "
                         f"{validation_fraction}")
    return days[len(days) - n_val - 1], days[len(days) - n_val]


def prepare_pair(prices: pd.DataFrame, a: str, b: str, train_start, train_end, test_start, test_end,
                 validation_fraction: float, label_window: int, label_threshold: float,
                 z_lookback: int | None = None, coint_level: float = 0.05) -> PairData:
    """Spread, features and labels of (a, b), split into train / validation / test in time order.

    Hedge ratio, stationarity checks, the z lookback (``z_lookback`` or :func:`lookback_rule` on
    the fit rows' half-life) and feature standardization use the fit rows only: training days
    before the validation tail. The last ``label_window`` label dates of train and of validation
    are purged, since their labels would look into the next period.
    """
    missing = [t for t in (a, b) if t not in prices.columns]
    if missing:
        raise ValueError(f"no prices for {', '.join(missing)}")
    p = prices[[a, b]].dropna()
    p = p.loc[:test_end] if test_end else p
    if p.loc[train_start:train_end].empty:
        raise ValueError(f"{a} and {b} have no common dates in the training period")
    fit_end, val_start = split_dates(p, train_start, train_end, validation_fraction)
    checks = stationarity(p.loc[train_start:fit_end], a, b)
    lookback = int(z_lookback) if z_lookback else lookback_rule(checks.half_life)
    spread = log_spread(p, a, b, checks.beta)
    raw = raw_features(spread, lookback)
    feats = standardize(raw[FEATURES], train_start, fit_end)
    labels = reversion_labels(spread, raw["mean"], raw["std"], label_window, label_threshold)
    ok = feats.notna().all(axis=1) & labels.notna()
    dates = feats.index[ok & (feats.index >= pd.Timestamp(train_start))]
    w = label_window
    fit_dates = dates[dates <= fit_end]
    val_dates = dates[(dates >= val_start) & (dates <= pd.Timestamp(train_end))]
    train, validation = fit_dates[:max(len(fit_dates) - w, 0)], val_dates[:max(len(val_dates) - w, 0)]
    if len(train) < 50 or len(validation) < 20:
        raise ValueError(f"{pair_key(a, b)}: {len(train)} training and {len(validation)} validation "
                         f"label dates are too few (lookback {lookback}, window {w})")
    test = dates[dates >= pd.Timestamp(test_start)]
    if len(test) == 0:
        raise ValueError(f"{pair_key(a, b)}: no test days between {test_start} and {test_end}")
    first = train[0]
    return PairData(pair_key(a, b), a, b, feats.loc[first:], raw.loc[first:], labels.loc[first:], train,
                    validation, test, w, float(label_threshold), lookback, pd.Timestamp(fit_end), checks,
                    checks.passes(coint_level))


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
    grid = np.unique(np.quantile(scores, np.linspace(0.02, 0.98, 49))) if grid is None else np.asarray(grid)
    f1 = f1_at_thresholds(y, scores, grid)
    best = (float(grid[0]), -1.0)
    for t, f in zip(grid, f1):
        if f > best[1] + 1e-12:
            best = (float(t), float(f))
    return best


def f1_at_thresholds(y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 of the predictions ``scores > t`` for every t in ``thresholds`` (k,), as
    ``sklearn.metrics.f1_score(y, scores > t, zero_division=0)``: 2 tp / (positives + predicted)."""
    positive = np.asarray(y) > 0.5
    predicted = np.asarray(scores)[None, :] > np.asarray(thresholds)[:, None]  # (k, n)
    tp = predicted[:, positive].sum(axis=1)
    denom = positive.sum() + predicted.sum(axis=1)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


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

    always-revert (score 1 everywhere), logistic regression on the same features at t (fit on
    the training rows), and a |z|-rule (score -|z|: closer to the mean means more likely to
    touch it).
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


# --------------------------------------------------------------------------- tables


NOT_COINTEGRATED = "not cointegrated (Engle-Granger with trend)"


def stationarity_table(pairs: dict[str, PairData], coint_level: float = 0.05) -> pd.DataFrame:
    """Per pair: hedge ratio, Engle-Granger p-values (constant + trend: the gate; constant only),
    ADF p-value, half-life, lookback, and the verdict."""
    rows = {}
    for name, p in pairs.items():
        c = p.checks
        rows[name] = {"beta": c.beta, "EG p (c+t)": c.eg_pvalue, "EG p (c)": c.eg_c_pvalue, "ADF p": c.adf_pvalue,
                      "half-life": c.half_life, "lookback": p.lookback, "fit rows": c.n,
                      "verdict": "traded" if p.passes
                      else f"{NOT_COINTEGRATED}, p >= {coint_level:g}: not traded"}
    return pd.DataFrame(rows).T


def multiple_testing_note(n_pass: int, n_tested: int, level: float) -> str:
    """How many pairs pass the gate against how many would pass by chance if none were cointegrated."""
    return (f"{n_pass} of {n_tested} pairs pass at the {level:.0%} level; with {n_tested} tests about "
            f"{n_tested * level:.2g} would pass by chance alone if none were cointegrated (no correction for "
            "multiple testing).")


def split_summary(pairs: dict[str, PairData]) -> pd.DataFrame:
    """Per pair: days and share of positive labels in each split."""
    rows = {}
    for name, p in pairs.items():
        row = {}
        for split in ("train", "validation", "test"):
            dates = getattr(p, split)
            row[f"{split} days"] = len(dates)
            row[f"{split} % revert"] = float(p.labels.loc[dates].mean())
        rows[name] = row
    out = pd.DataFrame(rows).T
    return out.astype({c: int for c in out.columns if c.endswith("days")})


def rate_gaps(splits: pd.DataFrame) -> pd.Series:
    """Per pair: largest minus smallest share of reverting days over train, validation and test."""
    rates = splits[[f"{s} % revert" for s in ("train", "validation", "test")]]
    return rates.max(axis=1) - rates.min(axis=1)


def incomparable(splits: pd.DataFrame, tolerance: float = 0.15) -> list[str]:
    """Pairs whose reversion rates differ by more than ``tolerance`` between splits: a classifier
    comparison there meets a different base rate out of sample (and a threshold tuned on validation
    can predict nearly every test day as one class), so its per-pair result is not comparable."""
    gap = rate_gaps(splits)
    return list(gap.index[gap > tolerance])


def comparability_note(splits: pd.DataFrame, tolerance: float = 0.15) -> str:
    """A sentence on whether each pair's reversion rates in train, validation and test are within
    ``tolerance`` of each other (``splits`` from :func:`split_summary`)."""
    far = rate_gaps(splits)
    far = far[far > tolerance]
    if far.empty:
        return f"Reversion rates of every pair are within {tolerance:.0%} across train, validation and test."
    items = ", ".join(f"{k} ({v:.0%})" for k, v in far.items())
    return (f"Reversion rates differ by more than {tolerance:.0%} between splits for {items}: there the "
            "classifier meets a different base rate out of sample, and these pairs are left out of the "
            "pair-by-pair count in the answer.")
