"""Volume-weighted basket, OLS beta and beta-hedged backtests (notebook 03)."""

from __future__ import annotations

import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.rolling import RollingOLS

from helpers.backtest import BacktestResult, CashConvention, rebalance_dates, run_backtest
from helpers.metrics import beta


def volume_weights(volume: pd.DataFrame, window: int = 30) -> pd.DataFrame:
    """Weights proportional to each ticker's trailing ``window``-day mean volume, lagged a day.

    Row t uses volumes through t-1 only, so weights on day t are known before day t's return.
    Rows sum to 1 once every ticker has a full window.
    """
    if window < 1:
        raise ValueError(f"volume_window must be at least 1; got {window}")
    dead = [c for c in volume.columns if not (volume[c].fillna(0) > 0).any()]
    if dead:
        raise ValueError(f"no volume data for {', '.join(dead)}: volume weights need it "
                         "(close-only sources have none)")
    avg = volume.rolling(window, min_periods=window).mean()
    avg = avg.where(avg.notna().all(axis=1))
    return avg.div(avg.sum(axis=1), axis=0).shift(1)


def basket_returns(prices: pd.DataFrame, weights: pd.DataFrame) -> pd.Series:
    """Daily return of a basket rebalanced to ``weights`` each day (rows with no weight dropped)."""
    rets = prices.pct_change(fill_method=None)
    out = (rets * weights).sum(axis=1, min_count=1)
    return out[weights.notna().all(axis=1) & rets.notna().all(axis=1)].rename("basket")


def ols(y: pd.Series, x: pd.Series, hac_lags: int | None = None):
    """statsmodels OLS of y on a constant and x, aligned on dates (HAC errors if ``hac_lags``)."""
    j = pd.concat([y.rename("y"), x.rename("x")], axis=1, sort=True).dropna()
    model = sm.OLS(j["y"], sm.add_constant(j["x"]))
    return model.fit(cov_type="HAC", cov_kwds={"maxlags": hac_lags}) if hac_lags else model.fit()


def regression_table(fits: dict) -> pd.DataFrame:
    """Alpha (annualized, 252 days), beta, their t-stats and R^2 for named statsmodels fits."""
    rows = {}
    for name, fit in fits.items():
        rows[name] = {"alpha (ann.)": fit.params["const"] * 252, "t(alpha)": fit.tvalues["const"],
                      "beta": fit.params["x"], "t(beta)": fit.tvalues["x"], "R^2": fit.rsquared,
                      "n": int(fit.nobs)}
    return pd.DataFrame(rows).T


def rolling_beta(y: pd.Series, x: pd.Series, window: int) -> pd.Series:
    """Rolling OLS beta over ``window`` days (statsmodels RollingOLS); value at t uses t-window+1..t."""
    j = pd.concat([y.rename("y"), x.rename("x")], axis=1, sort=True).dropna()
    res = RollingOLS(j["y"], sm.add_constant(j["x"]), window=window).fit()
    return res.params["x"].rename("beta")


def hedge_targets(asset: pd.Series, bench: pd.Series, dates: pd.DatetimeIndex, beta_window: int | None,
                  static_beta: float | None = None) -> pd.DataFrame:
    """Target weights (asset 1, benchmark -beta) at each date.

    With ``beta_window`` the beta is re-estimated on the trailing window of returns through
    the date only; otherwise ``static_beta`` is used at every date.
    """
    rows = []
    for d in dates:
        if static_beta is not None:
            b = static_beta
        else:
            ya, xb = asset.loc[:d].iloc[-beta_window:], bench.loc[:d].iloc[-beta_window:]
            b = beta(ya.to_numpy(), xb.to_numpy())
        rows.append({"asset": 1.0, "bench": -b})
    return pd.DataFrame(rows, index=dates)


def hedge_backtests(asset: pd.Series, bench: pd.Series, start, rebalance_days: int, beta_window: int,
                    convention: CashConvention, initial_capital: float) -> dict[str, BacktestResult]:
    """Unhedged, static-beta and dynamic-beta hedges and the benchmark through one engine.

    Trading starts at the first date >= ``start``; the dynamic hedge's betas use the trailing
    ``beta_window`` days through each rebalance date (which may reach before ``start``).
    The static hedge uses the full-period OLS beta: an in-sample figure, shown for comparison.
    """
    rets = pd.concat([asset.rename("asset"), bench.rename("bench")], axis=1, sort=True).dropna()
    live = rets.index[rets.index >= pd.Timestamp(start)]
    if len(live) < 2:
        raise ValueError(f"no returns after start {start}")
    if rebalance_days >= len(live):
        raise ValueError(f"rebalance_days={rebalance_days} is not shorter than the {len(live)} trading days "
                         f"of data after {live[0].date()}")
    first = rets.index.get_loc(live[0])
    if first < beta_window:
        raise ValueError(f"beta_window={beta_window} needs {beta_window} days before {live[0].date()}; "
                         f"only {first} are loaded")
    dates = rebalance_dates(live, rebalance_days)
    static = beta(rets.loc[live, "asset"].to_numpy(), rets.loc[live, "bench"].to_numpy())
    one = pd.DataFrame({"asset": 1.0, "bench": 0.0}, index=dates)
    bench_only = pd.DataFrame({"asset": 0.0, "bench": 1.0}, index=dates[:1])
    run = lambda t: run_backtest(rets, t, convention, initial_capital)  # noqa: E731
    return {
        "unhedged basket": run(one),
        "static hedge": run(hedge_targets(rets["asset"], rets["bench"], dates, None, static)),
        "dynamic hedge": run(hedge_targets(rets["asset"], rets["bench"], dates, beta_window)),
        "benchmark": run(bench_only),
    }


def seed_style_returns(asset: pd.Series, bench: pd.Series) -> pd.Series:
    """The seed's hedged return: the *average* of the long leg and the short leg, (r_a - r_b) / 2."""
    j = pd.concat([asset, bench], axis=1, sort=True).dropna()
    return ((j.iloc[:, 0] - j.iloc[:, 1]) / 2).rename("seed average of legs")
