"""Walk-forward ML return signals and the allocation rules of notebook 04.

Features at date t use prices through t only; the target at t is the return over the next
``horizon`` days (t -> t + horizon), in excess of cash when a cash series is given, so the
forecast horizon can equal the holding period. A walk-forward fit for predictions from row i0
uses only rows s whose target ended before i0 (s + horizon < i0), so no future return leaks
into a signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers.data import check_date_range, load_prices
from helpers.evidence import Interval
from helpers.metrics import annualized_volatility, cagr, excess_over, sharpe_ratio
from helpers.portfolio import covariance, inverse_volatility, min_variance, trailing_windows


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


def forward_return(prices: pd.Series, horizon: int = 1) -> pd.Series:
    """Target at t: the return from t to t + ``horizon`` rows, p[t + h] / p[t] - 1 (NaN for the last h dates)."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 trading day; got {horizon}")
    return (prices.shift(-horizon) / prices - 1.0).rename(f"return_{horizon}d")


def next_return(prices: pd.Series) -> pd.Series:
    """Target at t: the return from t to t+1 (NaN on the last date)."""
    return forward_return(prices, 1).rename("next_return")


def forward_excess_return(prices: pd.Series, horizon: int = 1, cash: pd.Series | float | None = None) -> pd.Series:
    """Return from t to t + horizon minus cash compounded over the same days.

    ``cash`` : daily cash returns (a Series on the price dates, e.g. a T-bill fund's
    ``pct_change()``), an annual rate, or None (no cash subtracted).
    """
    y = forward_return(prices, horizon)
    if cash is None:
        return y
    if isinstance(cash, pd.Series):
        growth = (1.0 + cash.reindex(prices.index).fillna(0.0)).cumprod()
        return y - forward_return(growth, horizon)
    return y - ((1.0 + float(cash)) ** (horizon / 252) - 1.0)


class EnsemblePredictor(RegressorMixin, BaseEstimator):
    """Average of ridge, random forest and gradient boosting return forecasts (the first, slow version).

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
        return self.signal_of(self.predict(X))

    def signal_of(self, prediction) -> np.ndarray:
        """:meth:`signal` from forecasts already made by :meth:`predict` (no second prediction)."""
        return np.tanh(np.asarray(prediction, dtype=float) / self.scale_)


class FastEnsemble(EnsemblePredictor):
    """Average of a ridge regression and scikit-learn's histogram gradient boosting (the default).

    About 3x faster to fit than :class:`EnsemblePredictor` on a three-year window (see
    ``benchmarks/bench_walk_forward.py``). Parameters: ``alpha`` ridge penalty on standardized
    features; ``max_iter``, ``max_depth``, ``learning_rate``, ``min_samples_leaf`` of the boosting
    (no early stopping, so fits are deterministic); ``random_state``.
    """

    def __init__(self, alpha: float = 10.0, max_iter: int = 50, max_depth: int = 3, learning_rate: float = 0.05,
                 min_samples_leaf: int = 40, random_state: int = 0):
        self.alpha = alpha
        self.max_iter = max_iter
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def _members(self):
        return [
            make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)),
            HistGradientBoostingRegressor(max_iter=self.max_iter, max_depth=self.max_depth,
                                          learning_rate=self.learning_rate, min_samples_leaf=self.min_samples_leaf,
                                          early_stopping=False, random_state=self.random_state),
        ]


def walk_forward(prices: pd.Series, start, retrain_every: int, lookback_window: int = 20,
                 train_window: int = 756, model: BaseEstimator | None = None, horizon: int = 1,
                 cash: pd.Series | float | None = None) -> pd.DataFrame:
    """Out-of-sample forecasts of one asset's return over the next ``horizon`` days.

    Every ``retrain_every`` rows from ``start`` (None: the first date with a full
    ``train_window`` of known targets) the model is refit on the last ``train_window`` rows
    whose target had ended before the refit date (row s is used at refit row i0 only if
    s + horizon < i0). The target is the return over the next ``horizon`` days minus cash
    (see :func:`forward_excess_return`). Returns a frame indexed by date with ``prediction``,
    ``signal`` and the realized ``target`` (known only ``horizon`` days later).
    """
    if retrain_every < 1:
        raise ValueError(f"retrain_every must be at least 1; got {retrain_every}")
    X = make_features(prices, lookback_window)
    y = forward_excess_return(prices, horizon, cash)
    ok = X.notna().all(axis=1)
    dates = X.index[ok]
    first = train_window + horizon if start is None else int(dates.searchsorted(pd.Timestamp(start)))
    if first - horizon < 50:
        raise ValueError(f"{prices.name}: only {first} days of features before {start}; need at least "
                         f"{50 + horizon} to fit (load more history)")
    if first >= len(dates):
        raise ValueError(f"{prices.name}: no date to forecast after {len(dates)} days of features "
                         f"(train_window={train_window})")
    Xv, yv = X.loc[dates].to_numpy(), y.loc[dates].to_numpy()
    model = model if model is not None else FastEnsemble()
    preds, sigs = np.full(len(dates), np.nan), np.full(len(dates), np.nan)
    for i0 in range(first, len(dates), retrain_every):
        # rows s < i0 - horizon: their target (return s -> s + horizon) ended before row i0
        hi = i0 - horizon
        lo = max(0, hi - train_window)
        fitted = clone(model).fit(Xv[lo:hi], yv[lo:hi])
        i1 = min(i0 + retrain_every, len(dates))
        preds[i0:i1] = fitted.predict(Xv[i0:i1])
        sigs[i0:i1] = _signal(fitted, Xv[i0:i1], preds[i0:i1])
    out = pd.DataFrame({"prediction": preds, "signal": sigs, "target": yv}, index=dates)
    return out.iloc[first:]


def _signal(fitted, X: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """A fitted model's signal on rows X whose forecasts are ``prediction``: predicting once is enough."""
    if hasattr(fitted, "signal_of"):
        return fitted.signal_of(prediction)
    return fitted.signal(X) if hasattr(fitted, "signal") else np.sign(prediction)


def walk_forward_all(prices: pd.DataFrame, start, retrain_every: int, lookback_window: int = 20,
                     n_jobs: int = 2, **kwargs) -> dict[str, pd.DataFrame]:
    """:func:`walk_forward` for every column, assets in parallel (results do not depend on n_jobs)."""
    from joblib import Parallel, delayed

    check_date_range(prices, start=start)
    cols = list(prices.columns)
    out = Parallel(n_jobs=n_jobs)(delayed(walk_forward)(prices[c].dropna(), start, retrain_every,
                                                        lookback_window, **kwargs) for c in cols)
    return dict(zip(cols, out))


def non_overlapping(frame: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Every ``horizon``-th row from the first, rows with a missing target dropped: targets that do not overlap."""
    return frame.iloc[::horizon].dropna()


def skill(forecasts: dict[str, pd.DataFrame], horizon: int = 1) -> pd.DataFrame:
    """Per asset, at the forecast horizon on non-overlapping dates (every ``horizon``-th forecast).

    Columns: ``forecasts`` (number of non-overlapping dates), ``hit rate`` (share whose forecast
    sign matched the realized target's), ``up share`` (share of positive targets, the hit rate
    of always forecasting "up"), ``IC`` (Spearman rank correlation of forecast and target) and
    its ``IC p-value`` (valid because the targets do not overlap).
    """
    rows = {}
    for name, f in forecasts.items():
        f = non_overlapping(f[["prediction", "target"]], horizon)
        ic = stats.spearmanr(f["prediction"], f["target"])
        rows[name] = {"forecasts": len(f),
                      "hit rate": float((np.sign(f["prediction"]) == np.sign(f["target"])).mean()),
                      "up share": float((f["target"] > 0).mean()),
                      "IC": float(ic.statistic), "IC p-value": float(ic.pvalue)}
    return pd.DataFrame(rows).T


def cross_sectional_ic(forecasts: dict[str, pd.DataFrame], horizon: int = 1) -> pd.Series:
    """Spearman correlation across assets of forecast and realized target, on each non-overlapping date.

    What an allocator needs: does the forecast rank the assets right on a rebalance date?
    Its mean over dates, with a t-interval (dates do not overlap), is in :func:`mean_with_ci`.
    """
    pred = pd.DataFrame({k: f["prediction"] for k, f in forecasts.items()})
    real = pd.DataFrame({k: f["target"] for k, f in forecasts.items()})
    keep = non_overlapping(real, horizon).index
    ics = {d: stats.spearmanr(pred.loc[d], real.loc[d]).statistic for d in keep}
    return pd.Series(ics, name="cross-sectional IC").dropna()


def mean_with_ci(x: pd.Series, level: float = 0.95):
    """Mean of independent observations with a Student-t interval, as an ``evidence.Interval``."""
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    m, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))
    q = float(stats.t.ppf(0.5 + level / 2, len(v) - 1))
    return Interval(m, m - q * se, m + q * se, level)


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


ML_STRATEGIES = ("signal-weighted", "sector rotation")


def allocation_targets(returns: pd.DataFrame, signals: pd.DataFrame, dates: pd.DatetimeIndex,
                       classes: dict[str, list[str]], cov_lookback: int = 252,
                       cov_method: str = "lw_correlation", cash_asset: str | None = None) -> dict[str, pd.DataFrame]:
    """Target weights of every strategy at each rebalance date, from data through that date.

    Parameters
    ----------
    returns : DataFrame (n_days, n_assets)   daily simple returns of every asset in the universe
    signals : DataFrame (n_days, n_signal_assets)  ML signals known at each date's close; assets
        without a column (e.g. the cash-like asset, which is the cash leg) get no ML weight, and
        weight the ML rules leave unallocated stays in cash
    dates : rebalance dates; classes : {asset class: [tickers]} for the sector rotation
    cov_lookback : int   trailing days of returns for the covariance (through d only)
    cov_method : str     covariance estimator, a key of ``helpers.portfolio.COV_ESTIMATORS``
    cash_asset : str     the cash-like asset (e.g. SHV), or None. It is the cash leg: no strategy
        holds it, and equal weight, minimum variance and inverse volatility are computed on the
        other (risky) assets, so "minimum variance" is not a T-bill fund under another name.

    Returns {strategy: DataFrame (n_dates, n_assets)}, rows summing to 1 or less (rest in cash).
    """
    rules = {"equal weight": [], "min variance": [], "inverse volatility": [],
             "signal-weighted": [], "sector rotation": []}
    assets = list(returns.columns)
    risky = [a for a in assets if a != cash_asset]
    risky_returns = returns[risky]
    signal_assets = [a for a in risky if a in signals.columns]
    for d, hist in trailing_windows(risky_returns, dates, cov_lookback):
        cov = covariance(hist.dropna(), cov_method)
        sig = signals.loc[d, signal_assets]
        rules["equal weight"].append(equal_weight(risky).reindex(assets, fill_value=0.0))
        rules["min variance"].append(min_variance(cov).reindex(assets, fill_value=0.0))
        rules["inverse volatility"].append(inverse_volatility(cov).reindex(assets, fill_value=0.0))
        rules["signal-weighted"].append(signal_weighted(sig).reindex(assets, fill_value=0.0))
        rules["sector rotation"].append(sector_rotation(sig, classes).reindex(assets, fill_value=0.0))
    return {k: pd.DataFrame(v, index=dates)[assets] for k, v in rules.items()}


def load_asset_classes(assets: dict[str, list[str]], start=None, end=None, source=None,
                       drop_failed: bool = True) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Close prices of every asset in a {class: [tickers]} mapping and the mapping of those kept.

    With ``drop_failed`` a ticker that cannot be loaded is dropped with a warning naming it;
    otherwise the data layer's error is raised.
    """
    tickers = [t for group in assets.values() for t in group]
    prices = load_prices(tickers, start=start, end=end, source=source, drop_failed=drop_failed)
    kept = {k: [t for t in v if t in prices.columns] for k, v in assets.items()}
    return prices, {k: v for k, v in kept.items() if v}


KEY_PAIRS = [("SPY", "TLT", "stocks vs bonds"), ("SPY", "GLD", "stocks vs gold"),
             ("TLT", "GLD", "bonds vs gold"), ("SPY", "DX-Y.NYB", "stocks vs dollar"),
             ("SPY", "UUP", "stocks vs dollar")]


def key_correlations(corr: pd.DataFrame, pairs=KEY_PAIRS) -> pd.Series:
    """The seed's headline correlations, skipping pairs whose tickers were not loaded."""
    return pd.Series({f"{a} vs {b} ({label})": corr.loc[a, b] for a, b, label in pairs
                      if a in corr.index and b in corr.index}, name="correlation")


def asset_table(returns: pd.DataFrame, cash_rate: float | pd.Series = 0.0) -> pd.DataFrame:
    """Per asset: annualized return (CAGR), volatility and Sharpe in excess of ``cash_rate``.

    ``cash_rate`` : annual rate, or daily cash returns on the same dates (as ``CashConvention``).
    An asset whose returns *are* the cash rate has no excess return: its Sharpe is NaN.
    """
    def sharpe(c):
        ex = excess_over(returns[c], cash_rate)
        return sharpe_ratio(returns[c], cash_rate) if np.std(ex) > 1e-12 else float("nan")

    return pd.DataFrame({c: {"return": cagr(returns[c]), "volatility": annualized_volatility(returns[c]),
                             "Sharpe": sharpe(c)} for c in returns}).T
