"""The backtest engine and its cash convention, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import metrics
from helpers.backtest import CashConvention, run_backtest
from helpers.testing import assert_no_lookahead

IDX = pd.bdate_range("2021-01-04", periods=8)
FREE = CashConvention(cash_rate=0.0, financing_spread=0.0, borrow_fee=0.0, cost_bps=0.0)


def daily(rate: float) -> float:
    return (1 + rate) ** (1 / 252) - 1


def test_defaults_are_realistic_not_zero():
    c = CashConvention()
    assert c.cash_rate > 0 and c.financing_spread > 0 and c.borrow_fee > 0 and c.cost_bps > 0
    assert "Sharpe is in excess of the same cash rate" in c.describe()


def test_costs_fall_on_the_notional_traded_by_hand():
    rets = pd.DataFrame({"a": [0.0] * 6, "b": [0.0] * 6}, index=IDX[:6])
    targets = pd.DataFrame({"a": [0.6, 0.4], "b": [0.4, 0.6]}, index=IDX[[0, 3]])
    res = run_backtest(rets, targets, CashConvention(0.0, 0.0, 0.0, cost_bps=100), initial_capital=100.0)
    # day 0: buy 60 + 40 -> cost 1 paid from cash: holdings 60/40, value 99.
    # day 3: targets 0.4*99 = 39.6 and 0.6*99 = 59.4 -> traded 20.4 + 19.4 = 39.8 -> cost 0.398
    assert res.costs.iloc[0] == pytest.approx(1.0)
    assert res.costs.iloc[3] == pytest.approx(0.398)
    assert res.traded.iloc[3] == pytest.approx(39.8 / 99)
    assert res.equity.iloc[-1] == pytest.approx(100 - 1 - 0.398)
    assert (res.returns.iloc[4:] == 0).all()


def test_holding_a_constant_weight_while_prices_move_trades_the_drift():
    # 50/50, a rises 10%: at the next rebalance 0.05 of notional moves from a to b (each side).
    rets = pd.DataFrame({"a": [0.0, 0.10, 0.0], "b": [0.0, 0.0, 0.0]}, index=IDX[:3])
    targets = pd.DataFrame({"a": [0.5, 0.5], "b": [0.5, 0.5]}, index=IDX[[0, 2]])
    res = run_backtest(rets, targets, CashConvention(0.0, 0.0, 0.0, cost_bps=10), initial_capital=100.0)
    value = 100 - 0.1 + 5.0  # after day-0 cost and a's gain
    traded = abs(0.5 * value - 55.0) + abs(0.5 * value - 50.0)
    assert res.costs.iloc[2] == pytest.approx(traded * 0.001)


def test_positions_drift_between_rebalances():
    rets = pd.DataFrame({"a": [0.0, 0.10, 0.0], "b": [0.0, -0.10, 0.0]}, index=IDX[:3])
    res = run_backtest(rets, pd.DataFrame({"a": [0.5], "b": [0.5]}, index=IDX[:1]), FREE)
    np.testing.assert_allclose(res.weights.iloc[1], [0.55, 0.45])
    assert res.equity.iloc[1] == pytest.approx(1.0)


def test_all_cash_earns_the_cash_rate_and_has_zero_excess_return():
    rets = pd.DataFrame({"a": np.random.default_rng(0).normal(0, 0.01, 8)}, index=IDX)
    res = run_backtest(rets, pd.DataFrame({"a": [0.0]}, index=IDX[:1]), CashConvention(cash_rate=0.05))
    np.testing.assert_allclose(res.returns.iloc[1:], daily(0.05), rtol=1e-12)
    np.testing.assert_allclose(res.excess_returns.iloc[1:], 0.0, atol=1e-15)


def test_leverage_pays_the_cash_rate_plus_the_spread_by_hand():
    rets = pd.DataFrame({"a": [0.0, 0.01, -0.02]}, index=IDX[:3])
    conv = CashConvention(cash_rate=0.04, financing_spread=0.02, borrow_fee=0.0, cost_bps=0.0)
    res = run_backtest(rets, pd.DataFrame({"a": [1.5]}, index=IDX[:1]), conv, initial_capital=100.0)
    cash, hold = -50.0, 150.0
    for r in (0.01, -0.02):
        cash *= 1 + daily(0.04) + daily(0.02)
        hold *= 1 + r
    assert res.equity.iloc[-1] == pytest.approx(cash + hold, rel=1e-12)
    assert res.interest.iloc[1] == pytest.approx(-50 * (daily(0.04) + daily(0.02)), rel=1e-12)


def test_shorts_pay_the_borrow_fee_and_their_proceeds_earn_cash():
    rets = pd.DataFrame({"a": [0.0, 0.0, 0.0], "b": [0.0, 0.0, 0.0]}, index=IDX[:3])
    conv = CashConvention(cash_rate=0.03, financing_spread=0.05, borrow_fee=0.02, cost_bps=0.0)
    res = run_backtest(rets, pd.DataFrame({"a": [1.0], "b": [-1.0]}, index=IDX[:1]), conv, initial_capital=100.0)
    # cash = 100 - 100 + 100 = 100 earns 3%; the 100 short pays 2%; nothing pays the spread
    cash = 100.0
    for _ in range(2):
        cash = cash * (1 + daily(0.03)) - 100 * daily(0.02)
    assert res.equity.iloc[-1] == pytest.approx(cash, rel=1e-12)
    assert res.borrow.iloc[1] == pytest.approx(100 * daily(0.02), rel=1e-12)


def test_cash_rate_may_be_a_daily_series():
    rets = pd.DataFrame({"a": [0.0] * 4}, index=IDX[:4])
    tbill = pd.Series([0.0, 0.001, 0.0, 0.002], index=IDX[:4])
    res = run_backtest(rets, pd.DataFrame({"a": [0.0]}, index=IDX[:1]), CashConvention(cash_rate=tbill))
    np.testing.assert_allclose(res.returns, [0.0, 0.001, 0.0, 0.002], atol=1e-15)


def test_sharpe_is_in_excess_of_the_same_cash_rate():
    rng = np.random.default_rng(1)
    rets = pd.DataFrame({"a": rng.normal(0.0004, 0.01, 300)}, index=pd.bdate_range("2020-01-01", periods=300))
    conv = CashConvention(cash_rate=0.03, cost_bps=0.0)
    res = run_backtest(rets, pd.DataFrame({"a": [0.5]}, index=rets.index[:1]), conv)
    assert res.summary()["Sharpe"] == pytest.approx(metrics.sharpe_ratio(res.returns, 0.03), rel=1e-9)
    x = res.returns - daily(0.03)
    assert res.summary()["Sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * np.sqrt(252), rel=1e-9)


def test_a_decision_at_t_earns_from_t_plus_one():
    # A huge return on the rebalance day itself is not earned by the new weights.
    rets = pd.DataFrame({"a": [0.0, 0.5, 0.1]}, index=IDX[:3])
    targets = pd.DataFrame({"a": [0.0, 1.0]}, index=IDX[[0, 1]])
    res = run_backtest(rets, targets, FREE)
    np.testing.assert_allclose(res.returns, [0.0, 0.0, 0.1], atol=1e-15)


def test_engine_returns_through_t_ignore_returns_after_t():
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2020-01-01", periods=120)
    rets = pd.DataFrame(rng.normal(0.0005, 0.01, (120, 2)), index=idx, columns=["a", "b"])
    targets = pd.DataFrame({"a": 0.7, "b": -0.3}, index=idx[::10])
    assert_no_lookahead(lambda r: run_backtest(r, targets).returns, rets)


def test_bad_convention_values_are_named():
    with pytest.raises(ValueError, match="borrow_fee"):
        CashConvention(borrow_fee=-0.01)
    with pytest.raises(TypeError, match="CashConvention"):
        run_backtest(pd.DataFrame({"a": [0.0]}, index=IDX[:1]), pd.DataFrame({"a": [1.0]}, index=IDX[:1]), 0.001)


def test_cash_rate_series_covers_missing_days_with_the_stated_fallback():
    tbill = pd.Series([0.001, 0.002], index=IDX[2:4])
    conv = CashConvention(cash_rate=tbill, fallback_rate=0.03)
    np.testing.assert_allclose(conv.daily_cash(IDX[:5]), [daily(0.03), daily(0.03), 0.001, 0.002, daily(0.03)])


def test_a_ticker_cash_rate_is_that_funds_daily_return_from_the_same_source(tmp_path):
    (tmp_path / "SHV.csv").write_text("Date,Close\n2024-01-02,100\n2024-01-03,100.02\n2024-01-04,100.03\n")
    conv = CashConvention.from_parameters("SHV", 0.01, 0.005, 5, source=tmp_path)
    cash = conv.daily_cash(pd.DatetimeIndex(["2024-01-03", "2024-01-04", "2024-01-05"]))
    np.testing.assert_allclose(cash, [0.0002, 0.01 / 100.02, daily(0.02)], rtol=1e-9)
    assert "SHV's daily return" in conv.describe() and "2024-01-03 to 2024-01-04" in conv.describe()
    assert CashConvention.from_parameters(0.03, 0.01, 0.005, 5).cash_rate == 0.03
