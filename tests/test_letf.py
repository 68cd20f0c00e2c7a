"""Notebook 01's hedge, its accounting (borrow, cash, costs, capital), decay identities, windows
and the answer, on hand-computed cases and independent references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.backtest import CashConvention
from helpers.data import load_prices
from helpers.letf import (
    HedgeParams,
    InsufficientHistory,
    annual_gaps,
    answer_text,
    breakeven_fee,
    breakeven_table,
    gap_by_horizon,
    hedge_positions,
    ideal_path,
    mean_ci,
    run_study,
    sample_windows,
    sensitivity,
    simulate_hedge,
    simulate_windows,
    variance_drag,
)
from helpers.testing import assert_no_lookahead

C, B, K = 0.04, 0.05, 10.0  # cash 4%, borrow 5%, 10 bp per side
CONV = CashConvention(cash_rate=C, financing_spread=0.01, borrow_fee=B, cost_bps=K)
cd, bd, k = (1 + C) ** (1 / 252) - 1, (1 + B) ** (1 / 252) - 1, K / 1e4  # per-day rates by hand


def test_one_day_by_hand():
    # 30 shares long at 100, 20 short at 50; +1% and +3%: the marks cancel
    res = simulate_hedge([100.0, 101.0], [50.0, 51.5], HedgeParams(exposure_threshold=10.0), CONV)
    traded = 3000 + 1000 + 30 * 101 + 20 * 51.5  # open both legs, close both legs
    pnl = 0.0 + cd * 1000 - bd * 1000 - k * traded
    assert res.pnl[0] == pytest.approx(pnl, rel=1e-12)
    assert res.traded[0] == pytest.approx(traded)
    r = (pnl + cd * 0.5 * 1000) / (3000 + 0.5 * 1000)  # margin cash earns the cash rate too
    assert res.paths["returns"][0, 1] == pytest.approx(r, rel=1e-12)
    assert res.ann_excess[0] == pytest.approx((r - cd) * 252, rel=1e-12)
    assert res.rehedges[0] == 0


def test_three_days_with_rehedge_by_hand():
    U, L = [100.0, 110.0, 99.0], [10.0, 13.0, 9.1]
    res = simulate_hedge(U, L, HedgeParams(exposure_threshold=1e-4), CONV)
    # day 1: marks 30*10 - 100*3 = 0; beta 3300 - 3900 = -600 -> buy back 600/39 fund shares
    sl1 = -100 + 600 / 39
    pnl1 = 0.0 + (cd - bd) * 1000 - k * (4000 + 600 / 39 * 13)
    # day 2 (last): short notional yesterday 100*13 - 200 = 1100; close both legs at day 2's prices
    short1 = -sl1 * 13.0
    assert short1 == pytest.approx(1100.0)
    mtm2 = 30 * (99 - 110) + sl1 * (9.1 - 13.0)
    pnl2 = mtm2 + (cd - bd) * short1 - k * (30 * 99 - sl1 * 9.1)
    np.testing.assert_allclose(res.paths["pnl"][0], [0.0, pnl1, pnl2], rtol=1e-12)
    assert res.pnl[0] == pytest.approx(pnl1 + pnl2, rel=1e-12)
    assert res.paths["short_shares"][0, 1] == pytest.approx(sl1)
    assert res.paths["beta_exposure"][0, 1] == pytest.approx(0.0, abs=1e-9)
    r1 = (pnl1 + cd * 0.5 * 1000) / 3500
    r2 = (pnl2 + cd * 0.5 * short1) / (3300 + 0.5 * short1)
    np.testing.assert_allclose(res.paths["returns"][0, 1:], [r1, r2], rtol=1e-12)
    assert res.ann_return[0] == pytest.approx((r1 + r2) / 2 * 252, rel=1e-12)
    assert res.max_drawdown[0] == pytest.approx(min(0.0, (1 + r1) * (1 + r2) / max(1, 1 + r1) - 1, r1), rel=1e-12)
    assert res.rehedges[0] == 1


def test_no_costs_gives_the_seed_mark_to_market():
    U, L = [100.0, 110.0, 99.0], [10.0, 13.0, 9.1]
    res = simulate_hedge(U, L, HedgeParams(exposure_threshold=1e-4), CashConvention(0.0, 0.0, 0.0, 0.0))
    assert res.pnl[0] == pytest.approx(30 * (99 - 100) + (-100) * 3 + (-100 + 600 / 39) * (9.1 - 13.0))
    assert res.mtm[0] == pytest.approx(res.pnl[0])


def _paths(n=4, T=60, seed=1):
    rng = np.random.default_rng(seed)
    ru = rng.normal(0, 0.012, (n, T - 1))
    U = 100 * np.column_stack([np.ones(n), np.cumprod(1 + ru, axis=1)])
    L = 10 * np.column_stack([np.ones(n), np.cumprod(1 + 3 * ru - 2e-4 + rng.normal(0, 1e-3, ru.shape), axis=1)])
    return U, L


def test_grid_is_the_same_as_one_run_per_setting():
    U, L = _paths()
    params = HedgeParams(exposure_threshold=0.02)
    base = simulate_hedge(U, L, params, CashConvention(0.03, 0.01, 0.0, 0.0))
    fees, costs = [0.0, 0.02, 0.08], [0.0, 4.0, 25.0]
    grid, excess = base.pnl_at(fees, costs), base.excess_at(fees, costs)
    for i, fee in enumerate(fees):
        for j, cost in enumerate(costs):
            one = simulate_hedge(U, L, params, CashConvention(0.03, 0.01, fee, cost))
            np.testing.assert_allclose(grid[:, i, j], one.pnl, rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(excess[:, i, j], one.ann_excess, rtol=1e-10, atol=1e-12)


def test_windows_are_vectorized_like_single_runs_and_a_cash_series_works():
    U, L = _paths(3, 50)
    U[2, 30:], L[2, 30:] = np.nan, np.nan
    batch = simulate_hedge(U, L, HedgeParams(exposure_threshold=0.01), CONV)
    for i, n in enumerate([50, 50, 30]):
        one = simulate_hedge(U[i, :n], L[i, :n], HedgeParams(exposure_threshold=0.01), CONV)
        np.testing.assert_allclose(batch.paths["pnl"][i, :n], one.paths["pnl"][0], rtol=1e-12)
        assert batch.pnl[i] == pytest.approx(one.pnl[0], rel=1e-12)
    assert np.isnan(batch.paths["pnl"][2, 30:]).all()
    dates = pd.bdate_range("2020-01-01", periods=50)
    series = CashConvention(pd.Series(cd, index=dates), 0.01, B, K)
    same = simulate_hedge(U, L, HedgeParams(exposure_threshold=0.01), series,
                          cash=series.daily_cash(dates).to_numpy())
    np.testing.assert_allclose(same.pnl, batch.pnl, rtol=1e-12)


def test_windows_read_from_histories_by_index():
    U, L = _paths(1, 80)
    cash = np.full(80, cd)
    res = simulate_windows(U[0], L[0], cash, np.array([0, 10, 30]), np.array([80, 40, 50]), 3.0, 0.02,
                           HedgeParams(), CONV)
    for j, (f, n) in enumerate([(0, 80), (10, 40), (30, 50)]):
        one = simulate_hedge(U[0, f:f + n], L[0, f:f + n], HedgeParams(exposure_threshold=0.02), CONV)
        assert res.pnl[j] == pytest.approx(one.pnl[0], rel=1e-12)
        assert res.sharpe[j] == pytest.approx(one.sharpe[0], rel=1e-10)


def test_sharpe_and_drawdown_match_direct_formulas():
    U, L = _paths(1, 300, seed=3)
    res = simulate_hedge(U, L, HedgeParams(exposure_threshold=0.01), CONV)
    r = pd.Series(res.paths["returns"][0, 1:])
    e = r - cd
    assert res.sharpe[0] == pytest.approx(e.mean() / e.std(ddof=1) * np.sqrt(252), rel=1e-9)
    eq = (1 + r).cumprod()
    assert res.max_drawdown[0] == pytest.approx(min(0.0, (eq / np.maximum(eq.cummax(), 1.0) - 1).min()), rel=1e-9)


def test_breakeven_fee_closed_form_and_zero_mean_pnl():
    assert breakeven_fee(1.0, 100.0) == pytest.approx(1.01**252 - 1)
    assert breakeven_fee(-1.0, 100.0) < 0
    prices = load_prices(["SPY", "SPXL"], source="synthetic")
    study = run_study(prices, [["SPY", "SPXL"]], 5, 6, 3, 0, HedgeParams(), CONV, [0.01])
    fee = breakeven_table(study).loc["SPY/SPXL", "break-even fee (P/L = 0)"]
    tot = study.totals[0.05]["SPY/SPXL"]
    assert tot.pnl_at([fee], [K]).mean() == pytest.approx(0.0, abs=1e-6)
    table = sensitivity(study, [0.0, fee], [K])
    assert table["mean P/L ($)"].iloc[1] == pytest.approx(0.0, abs=1e-6)
    # the default band's pnl at the convention is the grid's cell at (B, K)
    np.testing.assert_allclose(tot.pnl_at([B], [K])[:, 0, 0], tot.pnl, rtol=1e-10)


def test_positions_use_no_future_prices():
    prices = load_prices(["SPY", "SPXL"], source="synthetic").loc["2012":"2014"]
    assert_no_lookahead(lambda px: hedge_positions(px, HedgeParams(exposure_threshold=0.01)), prices)


def test_decay_identity_on_the_ideal_path():
    r = np.array([0.01, -0.02, 0.015, 0.0, -0.005])
    assert ideal_path(r, 3.0)[-1] == pytest.approx(np.prod(1 + 3 * r))


def test_small_variance_approximation():
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.002, 2000)
    realized = np.log(np.prod(1 + 3 * r)) - 3 * np.log(np.prod(1 + r))
    assert realized == pytest.approx(variance_drag(r, 3.0), rel=0.02)


def test_log_gap_is_additive_over_years():
    prices = load_prices(["SPY", "SPXL"], source="synthetic")
    annual = annual_gaps(prices, [["SPY", "SPXL"]], 3)
    p = prices.loc["2010-12-31":"2013-12-31"]  # last close of 2010 to last close of 2013
    p = p.loc[[p.index[0]] + list(p.index[p.index.year >= 2011])]
    direct = np.log(p["SPXL"].iloc[-1] / p["SPXL"].iloc[0]) - 3 * np.log(p["SPY"].iloc[-1] / p["SPY"].iloc[0])
    years = annual.set_index("year").loc[[2011, 2012, 2013], "log_gap"]
    assert years.sum() == pytest.approx(direct, rel=1e-10)
    level, log = gap_by_horizon(annual, horizons=(1, 3))
    covered = annual.sort_values("year")["log_gap"].to_numpy()[: len(annual) // 3 * 3]
    assert log.loc["SPY/SPXL", 3] == pytest.approx(3 * covered.mean(), rel=1e-10)
    assert log.loc["SPY/SPXL", 1] == pytest.approx(annual["log_gap"].mean(), rel=1e-10)


def test_mean_ci_agrees_with_a_t_interval_on_iid_data():
    x = np.random.default_rng(0).normal(0.001, 0.01, 2000)
    ci = mean_ci(x, reps=2000, seed=1)
    t = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert ci.estimate == pytest.approx(x.mean() * 252)
    assert ci.low == pytest.approx(t[0] * 252, abs=0.15 * (t[1] - t[0]) * 252)
    assert ci.high == pytest.approx(t[1] * 252, abs=0.15 * (t[1] - t[0]) * 252)
    assert mean_ci(x, reps=200, seed=1) == mean_ci(x, reps=200, seed=1)


def _evidence(low, high):
    return pd.DataFrame({"return on capital": [0.02], "excess": [(low + high) / 2], "excess low": [low],
                         "excess high": [high], "Sharpe": [0.1], "Sharpe low": [-0.2], "Sharpe high": [0.4]},
                        index=pd.Index(["SPY/SPXL"], name="pair"))


def test_answer_says_no_evidence_when_the_interval_spans_zero():
    text = answer_text(_evidence(-0.01, 0.02), CONV, HedgeParams(), pd.Series({"SPY/SPXL": 0.07}))
    assert "No evidence that the SPY/SPXL book and cash differ" in text
    assert "break-even borrow fee 7.0%" in text and "5.0% borrow fee" in text
    assert "No evidence either way: SPY/SPXL" in text


def test_answer_states_a_difference_when_the_interval_excludes_zero():
    above = answer_text(_evidence(0.005, 0.02), CONV, HedgeParams(), pd.Series({"SPY/SPXL": 0.07}))
    assert "beats cash on" in above and "Beats cash: SPY/SPXL" in above and "No evidence that" not in above
    below = answer_text(_evidence(-0.03, -0.01), CONV, HedgeParams(), pd.Series({"SPY/SPXL": -0.01}))
    assert "trails cash" in below and "loses money even at a zero borrow fee" in below


def test_window_sampling_reproducible_and_inside_data():
    dates = pd.bdate_range("2010-01-01", "2020-12-31")
    a = sample_windows(dates, 50, 3, np.random.default_rng(5))
    assert a == sample_windows(dates, 50, 3, np.random.default_rng(5))
    for w in a:
        assert dates[0] <= w.start <= w.end <= dates[-1]
        assert 3 <= w.years <= 10
        assert w.last - w.first + 1 >= 3 * 250
    assert sample_windows(dates, 50, 3, np.random.default_rng(6)) != a


def test_too_little_history_is_reported_not_swallowed():
    prices = load_prices(["SPY", "SPXL", "XBI", "LABU"], source="synthetic")
    study = run_study(prices, [["SPY", "SPXL"], ["XBI", "LABU"]], 3, 12, 3, 0, HedgeParams(), CONV, [0.01])
    assert set(study.windows["leveraged"]) == {"SPXL"}
    assert study.skipped["leveraged"].tolist() == ["LABU"]
    assert "whole years" in study.skipped["reason"].iloc[0]
    assert sorted(study.totals) == [0.01, 0.05]
    with pytest.raises(InsufficientHistory, match="min_years is 40"):
        run_study(prices, [["SPY", "SPXL"]], 3, 40, 3, 0, HedgeParams(), CONV, [0.01])


@pytest.mark.parametrize("kwargs, message", [
    ({"leverage": 0}, "leverage must be a non-zero"),
    ({"long_notional": -1}, "must be positive"),
    ({"short_notional": -5}, "must be positive"),
    ({"short_margin": -0.1}, ">= 0"),
])
def test_invalid_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HedgeParams(**kwargs)


def test_theory_holds_closely_on_the_simulated_market():
    prices = load_prices(["SPY", "SPXL"], source="synthetic")
    study = run_study(prices, [["SPY", "SPXL"]], 20, 6, 3, 0, HedgeParams(), CashConvention(0.0, 0.0, 0.0, 0.0), [])
    res = study.windows
    resid_per_year = (res["log_gap"] - res["theory"]) / (res["days"] / 252)
    assert np.corrcoef(res["log_gap"], res["theory"])[0, 1] > 0.8
    assert -0.12 < resid_per_year.mean() < 0.0
    assert (res["pnl"] > 0).mean() > 0.5  # without borrow and costs the short leg's decay pays
