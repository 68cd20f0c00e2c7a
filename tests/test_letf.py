"""Notebook 01's hedge, decay identities and window sampling, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.data import load_prices
from helpers.letf import (
    HedgeParams,
    InsufficientHistory,
    ideal_path,
    monte_carlo,
    run_pair,
    sample_windows,
    simulate_hedge,
    variance_drag,
)


def test_two_days_without_rehedge():
    # Underlying +1%, leveraged +3%: beta exposure 3030 - 1030*... stays within threshold?
    U = np.array([100.0, 101.0])
    L = np.array([50.0, 51.5])
    p = HedgeParams(exposure_threshold=10.0)  # huge threshold: never re-hedge
    paths = simulate_hedge(U, L, p)
    # 30 shares long, -20 shares short: P/L = 30*1 - 20*1.5 = 0
    assert paths.pnl[0].tolist() == pytest.approx([0.0, 0.0])
    assert paths.rehedges[0] == 0
    assert paths.short_shares[0, 1] == pytest.approx(-20.0)


def test_three_days_with_rehedge_by_hand():
    U = np.array([100.0, 110.0, 99.0])
    L = np.array([10.0, 13.0, 9.1])
    paths = simulate_hedge(U, L, HedgeParams())
    su, sl0 = 30.0, -100.0
    # day 1: P/L = 30*10 - 100*3 = 0; beta = 30*110 - 100*13*3 = -600 -> buy 600/(3*13) shares
    assert paths.pnl[0, 1] == pytest.approx(su * 10 + sl0 * 3)
    sl1 = sl0 + 600 / 39
    assert paths.short_shares[0, 1] == pytest.approx(sl1)
    assert paths.beta_exposure[0, 1] == pytest.approx(0.0, abs=1e-9)
    # day 2: P/L with the re-hedged short leg
    pnl2 = su * (99 - 110) + sl1 * (9.1 - 13.0)
    assert paths.pnl[0, 2] == pytest.approx(pnl2)
    assert paths.cum_pnl[0, 2] == pytest.approx(pnl2)
    # the seed's definition: change in book value minus change in cash used
    book, cash = paths.book_value[0], paths.cash_used[0]
    np.testing.assert_allclose(np.diff(book) - np.diff(cash), paths.pnl[0, 1:], atol=1e-9)


def test_costs_and_borrow_fee_reduce_pnl_by_hand():
    U = np.array([100.0, 110.0])
    L = np.array([10.0, 13.0])
    base = simulate_hedge(U, L, HedgeParams())
    costly = simulate_hedge(U, L, HedgeParams(transaction_cost=0.01, borrow_fee=0.252))
    traded = 600 / 39 * 13.0  # notional bought back on day 1
    fee = 0.252 / 252 * 1000.0  # one day's fee on the 1000 short
    assert base.pnl[0, 1] - costly.pnl[0, 1] == pytest.approx(0.01 * traded + fee)
    np.testing.assert_allclose(np.diff(costly.book_value[0]) - np.diff(costly.cash_used[0]), costly.pnl[0, 1:],
                               atol=1e-9)


def test_windows_are_vectorized_like_single_runs():
    rng = np.random.default_rng(1)
    U = 100 * np.cumprod(1 + rng.normal(0, 0.01, (3, 50)), axis=1)
    L = 10 * np.cumprod(1 + 3 * (U[:, 1:] / U[:, :-1] - 1) + rng.normal(0, 0.001, (3, 49)), axis=1)
    L = np.column_stack([np.full(3, 10.0), L])
    U[2, 30:] = np.nan
    L[2, 30:] = np.nan
    batch = simulate_hedge(U, L, HedgeParams(exposure_threshold=0.01))
    for i in range(3):
        n = 30 if i == 2 else 50
        one = simulate_hedge(U[i, :n], L[i, :n], HedgeParams(exposure_threshold=0.01))
        np.testing.assert_allclose(batch.pnl[i, :n], one.pnl[0])
        assert np.isnan(batch.pnl[i, n:]).all()


def test_decay_identity_on_the_ideal_path():
    r = np.array([0.01, -0.02, 0.015, 0.0, -0.005])
    growth = ideal_path(r, 3.0)[-1]
    assert growth == pytest.approx(np.prod(1 + 3 * r))


def test_small_variance_approximation():
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.002, 2000)
    b = 3.0
    realized = np.log(np.prod(1 + b * r)) - b * np.log(np.prod(1 + r))
    assert realized == pytest.approx(variance_drag(r, b), rel=0.02)


def test_window_sampling_reproducible_and_inside_data():
    dates = pd.bdate_range("2010-01-01", "2020-12-31")
    a = sample_windows(dates, 50, 3, np.random.default_rng(5))
    b = sample_windows(dates, 50, 3, np.random.default_rng(5))
    assert a == b
    for w in a:
        assert dates[0] <= w.start <= w.end <= dates[-1]
        assert 3 <= w.years <= 10
        assert w.last - w.first + 1 >= 3 * 250
    assert sample_windows(dates, 50, 3, np.random.default_rng(6)) != a


def test_too_little_history_is_reported_not_swallowed():
    prices = load_prices(["SPY", "SPXL", "XBI", "LABU"], source="synthetic")
    res, skipped = monte_carlo(prices, [["SPY", "SPXL"], ["XBI", "LABU"]], n=3, min_years=12,
                               leverage=3, seed=0)
    assert set(res["leveraged"]) == {"SPXL"}
    assert skipped["leveraged"].tolist() == ["LABU"]
    assert "whole years" in skipped["reason"].iloc[0]
    with pytest.raises(InsufficientHistory, match="min_years is 40"):
        monte_carlo(prices, [["SPY", "SPXL"]], n=3, min_years=40, leverage=3, seed=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"leverage": 0}, "leverage must be a non-zero"),
    ({"long_notional": -1}, "must be positive"),
    ({"short_notional": -5}, "must be positive"),
    ({"transaction_cost": -0.1}, ">= 0"),
])
def test_invalid_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HedgeParams(**kwargs)


def test_theory_holds_closely_on_the_simulated_market():
    prices = load_prices(["SPY", "SPXL"], source="synthetic")
    res = run_pair(prices, "SPY", "SPXL", 20, 6, HedgeParams(), np.random.default_rng(0))
    # realized log gap = variance drag + the fund's drag (~ -5%/yr) + tracking noise
    resid_per_year = (res["log_gap"] - res["theory"]) / (res["days"] / 252)
    assert np.corrcoef(res["log_gap"], res["theory"])[0, 1] > 0.8
    assert -0.12 < resid_per_year.mean() < 0.0
    assert (res["pnl"] > 0).mean() > 0.5  # the short leg's decay pays the hedge on average
