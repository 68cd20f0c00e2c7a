"""Covariance estimates and portfolio weights (notebooks 04 and 05).

All covariances are of daily simple returns, shape (n_assets, n_assets); weights are
Series indexed by asset, summing to 1, long-only unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.covariance import ledoit_wolf, oas


def diagonal_shrinkage(returns: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The seed's shrinkage towards the diagonal: (1 - alpha) * S + alpha * diag(S)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"shrink_alpha must be in [0, 1]; got {alpha}")
    s = returns.cov()
    return (1.0 - alpha) * s + alpha * pd.DataFrame(np.diag(np.diag(s)), index=s.index, columns=s.columns)


def ledoit_wolf_cov(returns: pd.DataFrame) -> pd.DataFrame:
    """Ledoit-Wolf shrunk covariance (scikit-learn), assets x assets."""
    cov, _ = ledoit_wolf(returns.to_numpy())
    return pd.DataFrame(cov, index=returns.columns, columns=returns.columns)


def sample_cov(returns: pd.DataFrame) -> pd.DataFrame:
    """Sample covariance (ddof=1), assets x assets."""
    return returns.cov()


def oas_cov(returns: pd.DataFrame) -> pd.DataFrame:
    """Oracle Approximating Shrinkage towards a scaled identity (scikit-learn), assets x assets."""
    cov, _ = oas(returns.to_numpy())
    return pd.DataFrame(cov, index=returns.columns, columns=returns.columns)


def shrunk_correlation_cov(returns: pd.DataFrame, method: str = "ledoit_wolf") -> pd.DataFrame:
    """Covariance whose *correlation* matrix is shrunk towards the identity, each asset keeping its own variance.

    Each column is standardized by its own (maximum-likelihood, ddof=0) standard deviation, the
    correlation matrix R of the standardized returns is shrunk by ``method`` ("ledoit_wolf" or
    "oas", scikit-learn's intensity delta) to (1 - delta) R + delta I, and rescaled:
    D [(1 - delta) R + delta I] D with D = diag(sample standard deviations, ddof=1). So the
    diagonal is the sample variance, unlike shrinkage towards a scaled identity, which pulls
    every variance towards the average one (a T-bill fund's volatility of 0.3% a year towards
    the 15% of the others) and so misleads a minimum-variance optimizer.
    """
    if method not in ("ledoit_wolf", "oas"):
        raise ValueError(f"correlation shrinkage method must be 'ledoit_wolf' or 'oas'; got {method!r}")
    x = returns.to_numpy(dtype=float)
    x = x - x.mean(axis=0)
    sd0 = x.std(axis=0)
    if (sd0 <= 0).any():
        flat = list(returns.columns[sd0 <= 0])
        raise ValueError(f"returns without variation cannot be standardized: {flat}")
    z = x / sd0
    shrunk, _ = (ledoit_wolf if method == "ledoit_wolf" else oas)(z, assume_centered=True)
    d = np.sqrt(np.diag(shrunk))
    corr = shrunk / np.outer(d, d)  # diag(shrunk) is 1 up to rounding; make it exact
    sd = returns.std(ddof=1).to_numpy()
    return pd.DataFrame(corr * np.outer(sd, sd), index=returns.columns, columns=returns.columns)


def shrinkage_intensity(returns: pd.DataFrame, method: str) -> float:
    """The shrinkage intensity delta in [0, 1] an estimator of ``COV_ESTIMATORS`` applies to ``returns``.

    0 for the sample covariance; scikit-learn's Ledoit-Wolf / OAS intensity towards a scaled
    identity for "ledoit_wolf" / "oas"; the same intensities on the standardized returns (the
    weight on the identity correlation matrix) for "lw_correlation" / "oas_correlation".
    """
    x = returns.to_numpy(dtype=float)
    if method == "sample":
        return 0.0
    if method in ("ledoit_wolf", "oas"):
        return float((ledoit_wolf if method == "ledoit_wolf" else oas)(x)[1])
    if method in ("lw_correlation", "oas_correlation"):
        x = x - x.mean(axis=0)
        z = x / x.std(axis=0)
        return float((ledoit_wolf if method == "lw_correlation" else oas)(z, assume_centered=True)[1])
    raise ValueError(f"cov_method must be one of {sorted(COV_ESTIMATORS)}; got {method!r}")


def lw_correlation_cov(returns: pd.DataFrame) -> pd.DataFrame:
    """:func:`shrunk_correlation_cov` with the Ledoit-Wolf intensity."""
    return shrunk_correlation_cov(returns, "ledoit_wolf")


def oas_correlation_cov(returns: pd.DataFrame) -> pd.DataFrame:
    """:func:`shrunk_correlation_cov` with the OAS intensity."""
    return shrunk_correlation_cov(returns, "oas")


COV_ESTIMATORS = {
    "sample": sample_cov,
    "ledoit_wolf": ledoit_wolf_cov,
    "oas": oas_cov,
    "lw_correlation": lw_correlation_cov,
    "oas_correlation": oas_correlation_cov,
}
COV_LABELS = {
    "sample": "sample",
    "ledoit_wolf": "Ledoit-Wolf, scaled identity",
    "oas": "OAS, scaled identity",
    "lw_correlation": "Ledoit-Wolf on correlations",
    "oas_correlation": "OAS on correlations",
}


def covariance(returns: pd.DataFrame, method: str = "lw_correlation") -> pd.DataFrame:
    """Covariance of daily returns by estimator name (a key of ``COV_ESTIMATORS``)."""
    try:
        fn = COV_ESTIMATORS[method]
    except KeyError:
        raise ValueError(f"cov_method must be one of {sorted(COV_ESTIMATORS)}; got {method!r}") from None
    return fn(returns)


def estimate_cov(returns: pd.DataFrame, method: str = "fixed", alpha: float = 0.3) -> pd.DataFrame:
    """Covariance by ``method``: "fixed" (diagonal shrinkage by ``alpha``) or "ledoit_wolf"."""
    if method == "fixed":
        return diagonal_shrinkage(returns, alpha)
    if method == "ledoit_wolf":
        return ledoit_wolf_cov(returns)
    raise ValueError(f"shrinkage must be 'fixed' or 'ledoit_wolf'; got {method!r}")


def risk_contributions(weights, cov) -> np.ndarray:
    """Each asset's share of portfolio variance, w_i (S w)_i / w'Sw (sums to 1)."""
    w = np.asarray(weights, dtype=float)
    c = np.asarray(cov, dtype=float)
    return w * (c @ w) / float(w @ c @ w)


def risk_parity(cov: pd.DataFrame) -> pd.Series:
    """Equal-risk-contribution weights.

    Solves the convex problem min 0.5 w'Sw - mean(log w) over w > 0 (whose solution has equal
    risk contributions) and normalizes to sum to 1.
    """
    c = cov.to_numpy()
    n = len(c)
    scale = np.sqrt(np.diag(c)).mean()
    cs = c / scale**2

    def fun(w):
        return 0.5 * w @ cs @ w - np.log(w).mean(), cs @ w - 1.0 / (n * w)

    x0 = 1.0 / np.sqrt(np.diag(cs))
    res = minimize(fun, x0 / x0.sum(), jac=True, method="L-BFGS-B", bounds=[(1e-12, None)] * n,
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    w = res.x / res.x.sum()
    return pd.Series(w, index=cov.index, name="risk parity")


def min_variance(cov: pd.DataFrame, long_only: bool = True) -> pd.Series:
    """Minimum-variance weights summing to 1 (SLSQP; long-only unless ``long_only=False``)."""
    c = cov.to_numpy()
    n = len(c)
    if not long_only:
        raw = np.linalg.solve(c, np.ones(n))
        return pd.Series(raw / raw.sum(), index=cov.index, name="min variance")
    scale = np.trace(c) / n
    res = minimize(lambda w: w @ c @ w / scale, np.full(n, 1.0 / n), jac=lambda w: 2 * c @ w / scale,
                   method="SLSQP", bounds=[(0.0, 1.0)] * n,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}],
                   options={"ftol": 1e-14, "maxiter": 1000})
    w = np.clip(res.x, 0.0, None)
    return pd.Series(w / w.sum(), index=cov.index, name="min variance")


def seed_min_variance(cov: pd.DataFrame) -> pd.Series:
    """The seed's shortcut: pseudo-inverse solution with negatives clipped, renormalized.

    Not a minimum-variance portfolio once a weight is clipped; kept only for comparison.
    """
    raw = np.linalg.pinv(cov.to_numpy()) @ np.ones(len(cov))
    w = np.maximum(raw, 0.0)
    w = w / w.sum() if w.sum() > 0 else np.full(len(cov), 1.0 / len(cov))
    return pd.Series(w, index=cov.index, name="seed pinv-clip")


def inverse_volatility(cov: pd.DataFrame) -> pd.Series:
    """Weights proportional to 1 / sigma_i."""
    inv = 1.0 / np.sqrt(np.diag(cov.to_numpy()))
    return pd.Series(inv / inv.sum(), index=cov.index, name="inverse volatility")


def month_end_dates(index: pd.DatetimeIndex, freq: str = "ME") -> pd.DatetimeIndex:
    """The last trading day of each period (pandas offset alias, e.g. "ME", "QE", "W-FRI")."""
    s = pd.Series(index, index=index)
    try:
        last = s.groupby(pd.Grouper(freq=freq)).last()
    except ValueError as exc:
        raise ValueError(f"rebalance_freq {freq!r} is not a pandas offset alias such as 'ME'") from exc
    return pd.DatetimeIndex(last.dropna().to_numpy())


def trailing_windows(returns: pd.DataFrame, dates, lookback: int):
    """(d, the last ``lookback`` rows of ``returns`` dated d or earlier) for each date d, in order.

    The same rows as ``returns.loc[:d].tail(lookback)`` (a sorted index), located once by
    binary search instead of a label slice per date.
    """
    ends = returns.index.searchsorted(pd.DatetimeIndex(dates), side="right")
    for d, i in zip(dates, ends):
        yield d, returns.iloc[max(0, i - lookback):i]


def blended_weight_path(returns: pd.DataFrame, dates: pd.DatetimeIndex, cov_lookback: int, min_hist: int,
                        shrinkage: str, shrink_alpha: float, alpha_minvar: float,
                        minvar=min_variance) -> pd.DataFrame:
    """Target weights (1 - a) * risk parity + a * min variance at each date with enough history.

    The covariance at date d uses the ``cov_lookback`` returns through d only.
    """
    if cov_lookback > len(returns):
        raise ValueError(f"cov_lookback={cov_lookback} is longer than the {len(returns)} days of returns")
    if not 0.0 <= alpha_minvar <= 1.0:
        raise ValueError(f"alpha_minvar must be in [0, 1]; got {alpha_minvar}")
    rows = {}
    for d, hist in trailing_windows(returns, dates, cov_lookback):
        if len(hist) < min_hist:
            continue
        cov = estimate_cov(hist, shrinkage, shrink_alpha)
        rows[d] = (1 - alpha_minvar) * risk_parity(cov) + alpha_minvar * minvar(cov)
    if not rows:
        raise ValueError(f"no rebalance date has min_hist={min_hist} days of history")
    return pd.DataFrame(rows).T
