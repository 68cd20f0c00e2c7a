"""Walk-forward ML return signals and the allocation rules of notebook 04.

Features at date t use prices through t only; the target at t is the *next* day's return
(t -> t+1). A walk-forward fit for predictions from date d uses only rows whose target was
known before d (rows s with s + 1 < d's position), so no future return leaks into a signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers.portfolio import inverse_volatility, ledoit_wolf_cov, min_variance


def make_features(prices: pd.Series, lookback_window: int = 20) -> pd.DataFrame:
    """Past-only features of one price series (rows: dates, NaN until enough history).

    Returns over 1, 5, ``lookback_window`` and 3 x ``lookback_window`` days, price over its
    5-day and ``lookback_window``-day moving averages minus 1, and ``lookback_window``-day
    volatility of daily returns.
    """
    if lookback_window < 2:
        raise ValueError(f"lookback_window must be at least 2; got {lookback_window}")
    r = prices.pct_change(fill_method=None)
    lw = lookback_window
    return pd.DataFrame({
        "ret_1": r,
        "ret_5": prices.pct_change(5, fill_method=None),
        f"ret_{lw}": prices.pct_change(lw, fill_method=None),
        f"ret_{3 * lw}": prices.pct_change(3 * lw, fill_method=None),
        "sma_5_ratio": prices / prices.rolling(5).mean() - 1,
        f"sma_{lw}_ratio": prices / prices.rolling(lw).mean() - 1,
        f"vol_{lw}": r.rolling(lw).std(),
    })


def next_return(prices: pd.Series) -> pd.Series:
    """Target at t: the return from t to t+1 (NaN on the last date)."""
    return prices.pct_change(fill_method=None).shift(-1).rename("next_return")


class EnsemblePredictor(RegressorMixin, BaseEstimator):
    """Average of ridge, random forest and gradient boosting return forecasts.

    Parameters
    ----------
    alpha : float            ridge penalty (features are standardized first)
    n_estimators : int       trees in each tree ensemble
    max_depth : int          depth of the trees
    random_state : int       seed of the tree ensembles

    ``predict`` returns forecast returns; ``signal`` maps them to [-1, 1] with
    ``tanh(prediction / scale_)``, ``scale_`` being the spread of in-sample predictions.
    """

    def __init__(self, alpha: float = 10.0, n_estimators: int = 30, max_depth: int = 3, random_state: int = 0):
        self.alpha = alpha
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.random_state = random_state

    def _members(self):
        return [
            make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)),
            RandomForestRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                  min_samples_leaf=20, max_samples=0.5, random_state=self.random_state,
                                  n_jobs=1),
            GradientBoostingRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth - 1 or 1,
                                      learning_rate=0.05, subsample=0.8, random_state=self.random_state),
        ]

    def fit(self, X, y):
        """Fit every member on (X, y): X (n_samples, n_features), y (n_samples,)."""
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        self.estimators_ = [clone(m).fit(X, y) for m in self._members()]
        in_sample = self.predict(X)
        self.scale_ = float(np.std(in_sample)) or 1e-12
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        """Mean forecast of the members, shape (n_samples,)."""
        X = np.asarray(X, dtype=float)
        return np.mean([m.predict(X) for m in self.estimators_], axis=0)

    def signal(self, X) -> np.ndarray:
        """Forecasts scaled to [-1, 1]."""
        return np.tanh(self.predict(X) / self.scale_)


def walk_forward(prices: pd.Series, start, retrain_every: int, lookback_window: int = 20,
                 train_window: int = 750, model: BaseEstimator | None = None) -> pd.DataFrame:
    """Out-of-sample forecasts and signals of one asset from ``start`` on.

    Every ``retrain_every`` rows the model is refit on the last ``train_window`` rows whose
    next-day return is already known (strictly before the refit date). Returns a frame indexed
    by date with ``prediction``, ``signal`` and the realized ``next_return``.
    """
    if retrain_every < 1:
        raise ValueError(f"retrain_every must be at least 1; got {retrain_every}")
    X = make_features(prices, lookback_window)
    y = next_return(prices)
    ok = X.notna().all(axis=1)
    dates = X.index[ok]
    first = int(dates.searchsorted(pd.Timestamp(start)))
    if first < 50:
        raise ValueError(f"{prices.name}: only {first} days of features before {start}; need at least 50 "
                         "to fit (load more history)")
    Xv, yv = X.loc[dates].to_numpy(), y.loc[dates].to_numpy()
    model = model if model is not None else EnsemblePredictor()
    preds, sigs = np.full(len(dates), np.nan), np.full(len(dates), np.nan)
    for i0 in range(first, len(dates), retrain_every):
        # rows s < i0 - 1: their target (return s -> s+1) ended at or before i0 - 1
        lo = max(0, i0 - 1 - train_window)
        fitted = clone(model).fit(Xv[lo:i0 - 1], yv[lo:i0 - 1])
        i1 = min(i0 + retrain_every, len(dates))
        preds[i0:i1] = fitted.predict(Xv[i0:i1])
        sigs[i0:i1] = fitted.signal(Xv[i0:i1]) if hasattr(fitted, "signal") else np.sign(preds[i0:i1])
    out = pd.DataFrame({"prediction": preds, "signal": sigs, "next_return": yv}, index=dates)
    return out.iloc[first:]


def walk_forward_all(prices: pd.DataFrame, start, retrain_every: int, lookback_window: int = 20,
                     n_jobs: int = 2, **kwargs) -> dict[str, pd.DataFrame]:
    """:func:`walk_forward` for every column, assets in parallel (results do not depend on n_jobs)."""
    from joblib import Parallel, delayed

    cols = list(prices.columns)
    out = Parallel(n_jobs=n_jobs)(delayed(walk_forward)(prices[c].dropna(), start, retrain_every,
                                                        lookback_window, **kwargs) for c in cols)
    return dict(zip(cols, out))


def skill(forecasts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per asset: out-of-sample hit rate (sign agreement) and information coefficient (Spearman)."""
    rows = {}
    for name, f in forecasts.items():
        f = f.dropna()
        ic = stats.spearmanr(f["prediction"], f["next_return"])
        rows[name] = {"days": len(f), "hit rate": float((np.sign(f["prediction"]) == np.sign(f["next_return"])).mean()),
                      "IC": float(ic.statistic), "IC p-value": float(ic.pvalue)}
    return pd.DataFrame(rows).T


# --------------------------------------------------------------------------- allocation rules


def equal_weight(assets: list[str]) -> pd.Series:
    """1/N in each asset."""
    return pd.Series(1.0 / len(assets), index=assets)


def signal_weighted(signals: pd.Series) -> pd.Series:
    """Long-only weights proportional to positive signals (all cash when none is positive)."""
    pos = signals.clip(lower=0.0).fillna(0.0)
    return pos / pos.sum() if pos.sum() > 0 else pos * 0.0


def sector_rotation(signals: pd.Series, classes: dict[str, list[str]]) -> pd.Series:
    """Equal budget per asset class, all of it in the class's asset with the strongest signal."""
    w = pd.Series(0.0, index=signals.index)
    live = {k: [t for t in v if t in signals.index] for k, v in classes.items()}
    live = {k: v for k, v in live.items() if v}
    for tickers in live.values():
        w[signals[tickers].idxmax()] += 1.0 / len(live)
    return w


def allocation_targets(returns: pd.DataFrame, signals: pd.DataFrame, dates: pd.DatetimeIndex,
                       classes: dict[str, list[str]], cov_lookback: int = 252) -> dict[str, pd.DataFrame]:
    """Target weights of every strategy at each rebalance date, from data through that date."""
    rules = {"equal weight": [], "signal-weighted": [], "min variance": [], "inverse volatility": [],
             "sector rotation": []}
    assets = list(returns.columns)
    for d in dates:
        cov = ledoit_wolf_cov(returns.loc[:d].tail(cov_lookback).dropna())
        sig = signals.loc[d, assets]
        rules["equal weight"].append(equal_weight(assets))
        rules["signal-weighted"].append(signal_weighted(sig))
        rules["min variance"].append(min_variance(cov))
        rules["inverse volatility"].append(inverse_volatility(cov))
        rules["sector rotation"].append(sector_rotation(sig, classes))
    return {k: pd.DataFrame(v, index=dates) for k, v in rules.items()}


def load_asset_classes(assets: dict[str, list[str]], start=None, end=None, source=None,
                       drop_failed: bool = True) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Close prices of every asset in a {class: [tickers]} mapping and the mapping of those kept.

    With ``drop_failed`` a ticker that cannot be loaded is dropped with a warning naming it;
    otherwise the data layer's error is raised.
    """
    from helpers.data import load_prices

    tickers = [t for group in assets.values() for t in group]
    prices = load_prices(tickers, start=start, end=end, source=source, drop_failed=drop_failed)
    kept = {k: [t for t in v if t in prices.columns] for k, v in assets.items()}
    return prices, {k: v for k, v in kept.items() if v}


KEY_PAIRS = [("SPY", "TLT", "stocks vs bonds"), ("SPY", "GLD", "stocks vs gold"),
             ("TLT", "GLD", "bonds vs gold"), ("SPY", "DX-Y.NYB", "stocks vs dollar")]


def key_correlations(corr: pd.DataFrame, pairs=KEY_PAIRS) -> pd.Series:
    """The seed's headline correlations, skipping pairs whose tickers were not loaded."""
    return pd.Series({f"{a} vs {b} ({label})": corr.loc[a, b] for a, b, label in pairs
                      if a in corr.index and b in corr.index}, name="correlation")


def asset_table(returns: pd.DataFrame, risk_free_rate: float = 0.0) -> pd.DataFrame:
    """Per asset: annualized return (CAGR), volatility and Sharpe over the given returns."""
    from helpers.metrics import annualized_volatility, cagr, sharpe_ratio

    return pd.DataFrame({c: {"return": cagr(returns[c]), "volatility": annualized_volatility(returns[c]),
                             "Sharpe": sharpe_ratio(returns[c], risk_free_rate)} for c in returns}).T
