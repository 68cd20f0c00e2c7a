"""helpers.metrics against empyrical-reloaded and hand-computed cases."""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from helpers import metrics as m


@pytest.fixture
def returns() -> pd.Series:
    rng = np.random.default_rng(7)
    idx = pd.bdate_range("2020-01-01", periods=800)
    return pd.Series(rng.normal(0.0004, 0.012, len(idx)), index=idx)


def test_simple_and_log_returns_by_hand():
    prices = pd.Series([100.0, 110.0, 99.0])
    np.testing.assert_allclose(m.simple_returns(prices), [0.10, -0.10])
    np.testing.assert_allclose(m.log_returns(prices), [np.log(1.1), np.log(0.9)])


@pytest.mark.parametrize("rf", [0.0, 0.03])
def test_sharpe_matches_empyrical(returns, rf):
    expected = ep.sharpe_ratio(returns, risk_free=m.per_period_rate(rf))
    assert m.sharpe_ratio(returns, rf) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("rf", [0.0, 0.03])
def test_sortino_matches_empyrical(returns, rf):
    expected = ep.sortino_ratio(returns, required_return=m.per_period_rate(rf))
    assert m.sortino_ratio(returns, rf) == pytest.approx(expected, rel=1e-10)


def test_cagr_vol_mdd_calmar_match_empyrical(returns):
    assert m.cagr(returns) == pytest.approx(ep.cagr(returns), rel=1e-10)
    assert m.annualized_volatility(returns) == pytest.approx(ep.annual_volatility(returns), rel=1e-10)
    assert m.max_drawdown(returns) == pytest.approx(ep.max_drawdown(returns), rel=1e-10)
    assert m.calmar_ratio(returns) == pytest.approx(ep.calmar_ratio(returns), rel=1e-10)
    assert m.downside_risk(returns) == pytest.approx(ep.downside_risk(returns), rel=1e-10)


def test_hand_computed_drawdown_and_cagr():
    r = pd.Series([0.10, -0.50, 0.20])
    # equity 1.1, 0.55, 0.66: peak 1.1, worst 0.55 -> -50%
    assert m.max_drawdown(r) == pytest.approx(-0.5)
    np.testing.assert_allclose(m.drawdown_series(r), [0.0, -0.5, 0.66 / 1.1 - 1])
    # a first-day loss is a drawdown from the starting equity
    assert m.max_drawdown([-0.1, 0.05]) == pytest.approx(-0.1)
    # 252 days of a constant daily return compound to exactly one year
    daily = 1.10 ** (1 / 252) - 1
    assert m.cagr(np.full(252, daily)) == pytest.approx(0.10)
    assert m.total_return([0.1, 0.1]) == pytest.approx(0.21)


def test_turnover_by_hand():
    w = pd.DataFrame({"a": [0.5, 0.5, 1.0], "b": [0.5, 0.5, 0.0]})
    # first allocation from cash: 0.5 one-way; last row moves 0.5 from b to a: 0.5 one-way
    assert m.turnover(w, periods=3) == pytest.approx((0.5 + 0.0 + 0.5) / 3 * 3)


def test_performance_table_rows(returns):
    table = m.performance_table({"x": returns, "y": returns * 2}, risk_free_rate=0.02)
    assert list(table.index) == ["x", "y"]
    assert table.loc["x", "Sharpe"] == pytest.approx(m.sharpe_ratio(returns, 0.02))
