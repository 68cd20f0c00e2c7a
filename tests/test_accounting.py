"""The one accounting step (helpers.accounting) on hand-computed cases, scalars and broadcast arrays."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import accounting
from helpers.accounting import DailyRates
from helpers.backtest import CashConvention
from helpers.metrics import per_period_rate

RATES = DailyRates(spread=0.0001, borrow=0.0002, cost=0.0005)


def test_cash_earns_the_rate_and_borrowed_cash_pays_it_plus_the_spread():
    assert accounting.interest(1000.0, 0.0003, RATES) == pytest.approx(0.3)
    assert accounting.interest(-1000.0, 0.0003, RATES) == pytest.approx(-1000 * (0.0003 + 0.0001))
    assert accounting.interest(0.0, 0.0003, RATES) == 0.0


def test_borrow_on_short_notional_and_costs_on_traded_notional():
    interest, borrow = accounting.carry(500.0, 2000.0, 0.0001, RATES)
    assert (interest, borrow) == pytest.approx((0.05, 0.4))
    assert accounting.trading_cost(3000.0, RATES) == pytest.approx(1.5)


def test_capital_is_the_long_leg_plus_the_margin_on_the_short():
    assert accounting.capital(3000.0, 1000.0, 0.5) == 3500.0
    assert accounting.capital(3000.0, 1000.0, 0.0) == 3000.0


def test_every_function_broadcasts_over_windows_and_grids():
    cash = np.array([[100.0], [-100.0]])              # two books (2, 1)
    c = np.array([0.0001, 0.0002, 0.0003])            # three days or cells (3,)
    got = accounting.interest(cash, c, RATES)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, [[0.01, 0.02, 0.03], [-0.02, -0.03, -0.04]])
    grid = DailyRates(0.0, np.array([0.0, 0.001])[None, :, None], np.array([0.0, 0.01, 0.02])[None, None, :])
    short, traded = np.array([10.0, 20.0])[:, None, None], np.array([100.0, 0.0])[:, None, None]
    total = accounting.borrow_fee(short, grid) + accounting.trading_cost(traded, grid)
    assert total.shape == (2, 2, 3)
    assert total[0, 1, 2] == pytest.approx(10 * 0.001 + 100 * 0.02)


def test_the_conventions_capital_takes_its_short_margin():
    assert CashConvention(short_margin=0.5).capital(3000.0, 1000.0) == 3500.0
    assert CashConvention().capital(3000.0, 1000.0) == 3000.0  # default: the long leg alone
    with pytest.raises(ValueError, match="short_margin must be a finite number >= 0"):
        CashConvention(short_margin=-0.1)


def test_a_conventions_daily_rates():
    conv = CashConvention(cash_rate=0.02, financing_spread=0.01, borrow_fee=0.03, cost_bps=5.0)
    rates = conv.daily_rates()
    assert rates == DailyRates(per_period_rate(0.01), per_period_rate(0.03), 0.0005)
