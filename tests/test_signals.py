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
    load_asset_classes,
    make_features,
    sector_rotation,
    signal_weighted,
    walk_forward,
)


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


def test_walk_forward_signal_at_t_ignores_data_after_t(prices):
    start, t = prices.index[300], 450
    base = walk_forward(prices, start, 21, model=LinearSignal())
    changed = prices.copy()
    changed.iloc[t + 1:] *= np.linspace(0.5, 2.0, len(changed) - t - 1)  # the future, including t+1
    other = walk_forward(changed, start, 21, model=LinearSignal())
    d = prices.index[t]
    pd.testing.assert_frame_equal(base.loc[:d, ["prediction", "signal"]], other.loc[:d, ["prediction", "signal"]])
    assert not np.allclose(base["prediction"].iloc[-50:], other["prediction"].iloc[-50:])


def test_ensemble_has_the_scikit_learn_api(prices):
    X = make_features(prices).dropna()
    y = prices.pct_change().shift(-1).loc[X.index].fillna(0.0)
    model = EnsemblePredictor(n_estimators=5)
    assert clone(model).get_params()["n_estimators"] == 5
    model.fit(X, y)
    s = model.signal(X)
    assert s.shape == (len(X),) and np.all(np.abs(s) <= 1)
    np.testing.assert_array_equal(model.predict(X), EnsemblePredictor(n_estimators=5).fit(X, y).predict(X))


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
    from helpers.signals import allocation_targets
    from helpers.testing import assert_no_lookahead

    rng = np.random.default_rng(8)
    idx = pd.bdate_range("2019-01-01", periods=300)
    cols = ["SPY", "TLT", "GLD"]
    rets = pd.DataFrame(rng.normal(0.0003, [0.01, 0.006, 0.009], (300, 3)), index=idx, columns=cols)
    sigs = pd.DataFrame(rng.normal(0, 1, (300, 3)), index=idx, columns=cols)
    dates = month_end_dates(idx)[3:]
    classes = {"eq": ["SPY"], "bonds": ["TLT"], "gold": ["GLD"]}
    assert_no_lookahead(lambda d: allocation_targets(d["r"], d["s"], dates, classes, cov_lookback=60),
                        {"r": rets, "s": sigs}, cutoffs=dates[2:8], rtol=1e-6, atol=1e-8)
