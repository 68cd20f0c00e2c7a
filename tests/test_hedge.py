"""Notebook 03: volume weights, OLS beta, and the shared backtest engine on hand cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from helpers.backtest import CashConvention
from helpers.hedge import basket_returns, hedge_backtests, ols, rolling_beta, volume_weights
from helpers.metrics import beta

IDX = pd.bdate_range("2024-01-01", periods=8)


def test_volume_weights_sum_to_one_and_use_only_past_volume():
    vol = pd.DataFrame({"A": [1, 1, 1, 1, 1, 1, 1, 1.0], "B": [3, 3, 3, 3, 3, 3, 3, 3.0]}, index=IDX)
    w = volume_weights(vol, window=2)
    assert w.iloc[:2].isna().all().all()           # window of 2 + one-day lag
    np.testing.assert_allclose(w.dropna().sum(axis=1), 1.0)
    assert w["A"].dropna().iloc[0] == pytest.approx(0.25)
    # a change of volume on day t changes weights from day t+1 only
    bumped = vol.copy()
    bumped.iloc[5, 0] = 100.0
    w2 = volume_weights(bumped, window=2)
    pd.testing.assert_frame_equal(w.iloc[:6], w2.iloc[:6])
    assert w2.iloc[6, 0] > w.iloc[6, 0]


def test_ticker_without_volume_is_named():
    vol = pd.DataFrame({"A": [1.0] * 8, "SHV": [np.nan] * 8}, index=IDX)
    with pytest.raises(ValueError, match="no volume data for SHV"):
        volume_weights(vol)


def test_basket_returns_weight_each_day():
    prices = pd.DataFrame({"A": [1, 1.1, 1.21], "B": [1, 1.0, 0.9]}, index=IDX[:3])
    w = pd.DataFrame({"A": [np.nan, 0.5, 0.25], "B": [np.nan, 0.5, 0.75]}, index=IDX[:3])
    np.testing.assert_allclose(basket_returns(prices, w), [0.05, 0.25 * 0.1 + 0.75 * -0.1])


def test_beta_is_cov_over_var_and_matches_statsmodels():
    x = pd.Series([0.01, -0.02, 0.015, 0.003, -0.007], index=IDX[:5])
    y = 0.0005 + 1.7 * x + pd.Series([0.001, -0.001, 0.0, 0.002, -0.002], index=IDX[:5])
    by_hand = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert beta(y.to_numpy(), x.to_numpy()) == pytest.approx(by_hand)
    fit = ols(y, x)
    ref = sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit()
    assert fit.params["x"] == pytest.approx(ref.params[1])
    assert fit.params["x"] == pytest.approx(by_hand)
    rb = rolling_beta(y, x, window=5)
    assert rb.iloc[-1] == pytest.approx(by_hand)


def test_perfect_hedge_has_no_market_exposure():
    rng = np.random.default_rng(3)
    idx = pd.bdate_range("2020-01-01", periods=400)
    bench = pd.Series(rng.normal(0, 0.01, 400), index=idx)
    asset = 1.5 * bench + 0.0002  # pure beta plus a constant alpha
    res = hedge_backtests(asset, bench, idx[100], rebalance_days=1, beta_window=60,
                          convention=CashConvention(0.0, 0.0, 0.0, 0.0), initial_capital=1.0)
    hedged = res["dynamic hedge"].returns.iloc[1:]
    assert abs(beta(hedged.to_numpy(), bench.loc[hedged.index].to_numpy())) < 1e-6


def test_bad_inputs_are_clear():
    idx = pd.bdate_range("2020-01-01", periods=100)
    s = pd.Series(np.linspace(-0.01, 0.01, 100), index=idx)
    with pytest.raises(ValueError, match="rebalance_days=500"):
        hedge_backtests(s, s, idx[50], 500, 20, CashConvention(), 1.0)
    with pytest.raises(ValueError, match="beta_window=80"):
        hedge_backtests(s, s, idx[50], 10, 80, CashConvention(), 1.0)


def test_benchmark_missing_from_the_data_is_named(tmp_path):
    from helpers.data import UnknownTickerError, load_ohlcv

    (tmp_path / "AAPL.csv").write_text("Date,Close,Volume\n2024-01-02,1,10\n2024-01-03,2,11\n")
    with pytest.raises(UnknownTickerError, match="QQQ"):
        load_ohlcv(["AAPL", "QQQ"], source=tmp_path)
