"""Notebook 04: past-only features, walk-forward fits, allocation rules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from helpers.backtest import CashConvention, run_backtest
from helpers.data import UnknownTickerError
from helpers.signals import (
    EnsemblePredictor,
    FastEnsemble,
    allocation_targets,
    cross_sectional_ic,
    forward_excess_return,
    forward_return,
    load_asset_classes,
    make_features,
    mean_with_ci,
    non_overlapping,
    sector_rotation,
    signal_weighted,
    skill,
    walk_forward,
)
from helpers.testing import assert_no_lookahead


@pytest.fixture
def prices() -> pd.Series:
    rng = np.random.default_rng(4)
    idx = pd.bdate_range("2018-01-01", periods=700)
    return pd.Series(100 * np.cumprod(1 + rng.normal(0.0003, 0.01, len(idx))), index=idx, name="X")


class LinearSignal(LinearRegression):
    """A fast stand-in model with the predictor's signal() method."""

    def signal(self, X):
        return np.tanh(self.predict(X) * 100)


def test_features_at_t_ignore_prices_after_t(prices):
    t = 400
    changed = prices.copy()
    changed.iloc[t + 1:] *= 1.5
    a, b = make_features(prices).iloc[: t + 1], make_features(changed).iloc[: t + 1]
    pd.testing.assert_frame_equal(a, b)
    assert_no_lookahead(make_features, prices)


def test_walk_forward_signal_at_t_ignores_data_after_t(prices):
    start, t = prices.index[300], 450
    base = walk_forward(prices, start, 21, model=LinearSignal())
    changed = prices.copy()
    changed.iloc[t + 1:] *= np.linspace(0.5, 2.0, len(changed) - t - 1)  # the future, including t+1
    other = walk_forward(changed, start, 21, model=LinearSignal())
    d = prices.index[t]
    pd.testing.assert_frame_equal(base.loc[:d, ["prediction", "signal"]], other.loc[:d, ["prediction", "signal"]])
    assert not np.allclose(base["prediction"].iloc[-50:], other["prediction"].iloc[-50:])


@pytest.mark.parametrize("model", [EnsemblePredictor(n_estimators=5), FastEnsemble(max_iter=5)])
def test_ensembles_have_the_scikit_learn_api(prices, model):
    X = make_features(prices).dropna()
    y = prices.pct_change().shift(-1).loc[X.index].fillna(0.0)
    params = model.get_params()
    assert clone(model).get_params() == params
    model = clone(model).fit(X, y)
    s = model.signal(X)
    assert s.shape == (len(X),) and np.all(np.abs(s) <= 1)
    np.testing.assert_array_equal(model.predict(X), clone(model).fit(X, y).predict(X))  # deterministic


def test_walk_forward_signal_from_one_prediction_equals_the_models_signal(prices):
    """The walk forward predicts each block once; its signals are what ``signal(X)`` (a second prediction) gives."""
    model = FastEnsemble(max_iter=5)
    out = walk_forward(prices, prices.index[300], 63, model=model)
    X = make_features(prices).loc[out.index].to_numpy()
    first = clone(model).fit(*_first_fit(prices, out))
    block = slice(0, 63)
    np.testing.assert_array_equal(out["signal"].to_numpy()[block], first.signal(X[block]))
    no_signal = walk_forward(prices, prices.index[300], 63, model=LinearRegression())
    np.testing.assert_array_equal(no_signal["signal"], np.sign(no_signal["prediction"]))


def _first_fit(prices, out, horizon: int = 1, train_window: int = 756):
    """(X, y) of the walk forward's first fit, rebuilt by hand from its rule (rows s with s + horizon < i0)."""
    X = make_features(prices).dropna()
    y = forward_excess_return(prices, horizon).loc[X.index]
    i0 = X.index.get_loc(out.index[0])
    lo, hi = max(0, i0 - horizon - train_window), i0 - horizon
    return X.to_numpy()[lo:hi], y.to_numpy()[lo:hi]


def test_forward_return_by_hand():
    p = pd.Series([100.0, 110.0, 99.0, 108.9, 120.0], index=pd.bdate_range("2024-01-01", periods=5))
    np.testing.assert_allclose(forward_return(p, 2), [99 / 100 - 1, 108.9 / 110 - 1, 120 / 99 - 1, np.nan, np.nan])
    np.testing.assert_allclose(forward_return(p, 1).iloc[:4], [0.1, -0.1, 0.1, 120 / 108.9 - 1])
    cash = pd.Series([0.0, 0.01, 0.02, 0.0, 0.01], index=p.index)  # cash return on each day
    # from t=0 to t=2 cash earns (1.01)(1.02) - 1; from t=1 to t=3, (1.02)(1.00) - 1
    np.testing.assert_allclose(forward_excess_return(p, 2, cash).iloc[:2],
                               [99 / 100 - 1.0302, 108.9 / 110 - 1.02])
    np.testing.assert_allclose(forward_excess_return(p, 2, 0.05).iloc[0], 99 / 100 - 1.05 ** (2 / 252))
    with pytest.raises(ValueError, match="horizon"):
        forward_return(p, 0)


@pytest.mark.parametrize("horizon", [1, 21])
def test_walk_forward_multi_day_target_uses_only_ended_targets(prices, horizon):
    """Forecasts decided at t (prediction, signal) ignore prices and cash after t, at refit dates too."""
    cash = pd.Series(0.0001, index=prices.index) * (1 + 0.1 * np.sin(np.arange(len(prices))))
    start = prices.index[300]

    def run(d):
        f = walk_forward(d["p"], start, 21, train_window=200, model=LinearSignal(), horizon=horizon, cash=d["c"])
        return f[["prediction", "signal"]]

    refits = run({"p": prices, "c": cash}).index[::21]
    assert_no_lookahead(run, {"p": prices, "c": cash}, cutoffs=list(refits[2:7]) + [refits[3] + pd.offsets.BDay(5)])


def test_walk_forward_target_is_the_holding_period_return(prices):
    f = walk_forward(prices, None, 21, train_window=300, model=LinearSignal(), horizon=21)
    assert f.index[0] == make_features(prices).dropna().index[321]  # first date with a full window
    expected = (prices.shift(-21) / prices - 1).loc[f.index]
    pd.testing.assert_series_equal(f["target"], expected, check_names=False)


def test_skill_at_the_horizon_on_non_overlapping_dates():
    idx = pd.bdate_range("2020-01-01", periods=100)
    rng = np.random.default_rng(3)
    target = pd.Series(rng.normal(size=100), index=idx)
    fc = {"a": pd.DataFrame({"prediction": target, "target": target}),
          "b": pd.DataFrame({"prediction": -target, "target": target})}
    fc["a"].iloc[-3:, 1] = np.nan  # targets not yet realized
    sk = skill(fc, horizon=10)
    assert sk.loc["a", "forecasts"] == 10 and sk.loc["b", "forecasts"] == 10  # rows 0, 10, ..., 90
    assert sk.loc["a", "IC"] == pytest.approx(1.0) and sk.loc["a", "hit rate"] == 1.0
    assert sk.loc["b", "IC"] == pytest.approx(-1.0) and sk.loc["b", "hit rate"] == 0.0
    assert list(non_overlapping(fc["a"], 10).index) == list(idx[::10])
    assert sk.loc["a", "up share"] == pytest.approx((target.iloc[::10] > 0).mean())
    cs = cross_sectional_ic({k: fc[k] for k in "ab"} | {"c": fc["a"] * 0.5}, horizon=10)
    assert len(cs) == 10
    ci = mean_with_ci(pd.Series([0.1, 0.3, 0.2, 0.4]))
    # mean 0.25, sd 0.1291, se 0.06455, t(3) 97.5% = 3.1824
    assert (ci.estimate, ci.low, ci.high) == pytest.approx((0.25, 0.25 - 0.205425, 0.25 + 0.205425), abs=1e-5)


def test_allocation_rules_by_hand():
    sig = pd.Series({"SPY": 0.5, "QQQ": -0.2, "TLT": 0.1, "GLD": -0.3})
    np.testing.assert_allclose(signal_weighted(sig), [0.5 / 0.6, 0, 0.1 / 0.6, 0])
    assert signal_weighted(-sig.abs()).sum() == 0.0  # no positive signal: all cash
    classes = {"eq": ["SPY", "QQQ"], "bonds": ["TLT"], "gold": ["GLD"]}
    w = sector_rotation(sig, classes)
    assert w.to_dict() == pytest.approx({"SPY": 1 / 3, "QQQ": 0.0, "TLT": 1 / 3, "GLD": 1 / 3})


def test_equal_weight_on_identical_assets_equals_the_asset(prices):
    r = prices.pct_change().iloc[1:]
    rets = pd.DataFrame({"a": r, "b": r, "c": r})
    targets = pd.DataFrame(1 / 3, index=rets.index[::21], columns=rets.columns)
    res = run_backtest(rets, targets, CashConvention(0.0, 0.0, 0.0, 0.0))  # no carry, no costs
    np.testing.assert_allclose(res.returns.iloc[1:], r.loc[res.returns.index[1:]], atol=1e-12)


def test_unknown_ticker_is_dropped_with_a_named_warning_or_raises():
    assets = {"US Equities": ["SPY"], "Currencies": ["FXY", "DXY"]}
    with pytest.warns(UserWarning, match="DXY"):
        prices, kept = load_asset_classes(assets, start="2024-01-01", source="synthetic")
    assert kept == {"US Equities": ["SPY"], "Currencies": ["FXY"]}
    with pytest.raises(UnknownTickerError, match="DXY"), warnings.catch_warnings():
        load_asset_classes(assets, start="2024-01-01", source="synthetic", drop_failed=False)


def test_allocation_targets_at_d_ignore_returns_and_signals_after_d():
    from helpers.portfolio import month_end_dates

    rng = np.random.default_rng(8)
    idx = pd.bdate_range("2019-01-01", periods=300)
    cols = ["SPY", "TLT", "GLD"]
    rets = pd.DataFrame(rng.normal(0.0003, [0.01, 0.006, 0.009], (300, 3)), index=idx, columns=cols)
    sigs = pd.DataFrame(rng.normal(0, 1, (300, 3)), index=idx, columns=cols)
    dates = month_end_dates(idx)[3:]
    classes = {"eq": ["SPY"], "bonds": ["TLT"], "gold": ["GLD"]}
    for method, cash in (("ledoit_wolf", None), ("lw_correlation", None), ("lw_correlation", "GLD")):
        assert_no_lookahead(lambda d, m=method, c=cash: allocation_targets(d["r"], d["s"], dates, classes,
                                                                           cov_lookback=60, cov_method=m,
                                                                           cash_asset=c),
                            {"r": rets, "s": sigs}, cutoffs=dates[2:8], rtol=1e-6, atol=1e-8)


def test_cash_like_asset_is_the_cash_leg_of_the_ml_rules():
    idx = pd.bdate_range("2019-01-01", periods=120)
    rng = np.random.default_rng(9)
    rets = pd.DataFrame(rng.normal(0.0002, [0.01, 0.006, 0.0002], (120, 3)), index=idx, columns=["SPY", "TLT", "SHV"])
    sigs = pd.DataFrame({"SPY": -0.5, "TLT": -0.1}, index=idx)  # no signal for SHV; none positive
    dates = idx[70::21]
    t = allocation_targets(rets, sigs, dates, {"eq": ["SPY"], "bonds": ["TLT", "SHV"]}, cov_lookback=60)
    assert list(t["signal-weighted"].columns) == ["SPY", "TLT", "SHV"]
    assert (t["signal-weighted"].to_numpy() == 0).all()  # all in cash (earning the cash rate)
    assert (t["sector rotation"]["SHV"] == 0).all() and (t["sector rotation"]["TLT"] == 0.5).all()
    assert (t["min variance"]["SHV"] > 0.95).all()  # without cash_asset, SHV is just the least volatile asset
    # with cash_asset, SHV is the cash leg: the benchmarks are computed on the risky assets
    from helpers.portfolio import covariance, inverse_volatility, min_variance

    t = allocation_targets(rets, sigs, dates, {"eq": ["SPY"], "bonds": ["TLT", "SHV"]}, cov_lookback=60,
                           cash_asset="SHV")
    for name in ("equal weight", "min variance", "inverse volatility", "signal-weighted", "sector rotation"):
        assert (t[name]["SHV"] == 0).all(), name
    cov = covariance(rets.loc[: dates[1], ["SPY", "TLT"]].tail(60))
    np.testing.assert_allclose(t["min variance"].loc[dates[1], ["SPY", "TLT"]], min_variance(cov), atol=1e-9)
    np.testing.assert_allclose(t["inverse volatility"].loc[dates[1], ["SPY", "TLT"]], inverse_volatility(cov))
    np.testing.assert_allclose(t["equal weight"].loc[dates[1]], [0.5, 0.5, 0.0])
