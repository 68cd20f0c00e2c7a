"""Notebook 01's hedge, its accounting (borrow, cash, costs, capital), decay identities, windows
on hand-computed cases and independent references (the answer: tests/test_letf_answer.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.backtest import CashConvention, run_backtest
from helpers.data import load_prices
from helpers.letf import (
    HedgeParams,
    InsufficientHistory,
    annual_gaps,
    book_params,
    breakeven_fee,
    gap_by_horizon,
    hedge_positions,
    ideal_path,
    sample_windows,
    simulate_hedge,
    simulate_windows,
    variance_drag,
)
from helpers.letf_study import (
    PNL_ZERO,
    breakeven_return_cash,
    breakeven_table,
    calendar_year_ci,
    capital_table,
    evidence_period,
    full_history,
    mean_ci,
    model_checks,
    run_study,
    sensitivity,
)
from helpers.testing import assert_no_lookahead

C, B, K = 0.04, 0.05, 10.0  # cash 4%, borrow 5%, 10 bp per side
CONV = CashConvention(cash_rate=C, financing_spread=0.01, borrow_fee=B, cost_bps=K, short_margin=0.5)
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


def _moving_pair(n=160, seed=5):
    """A fund that is 3x its underlying with tracking noise, so a tight band re-hedges often."""
    rng = np.random.default_rng(seed)
    ru = rng.normal(0.0004, 0.012, n - 1)
    rl = 3 * ru + rng.normal(0, 0.004, n - 1)
    idx = pd.bdate_range("2021-01-04", periods=n)
    u = 100 * np.concatenate([[1.0], np.cumprod(1 + ru)])
    lv = 40 * np.concatenate([[1.0], np.cumprod(1 + rl)])
    return idx, u, lv, pd.DataFrame({"U": u, "L": lv}, index=idx).pct_change()


def test_returns_on_capital_match_the_shared_engine_holding_the_same_positions():
    # carry on the short's proceeds and on the margin, borrow on the short, capital = long + margin x short:
    # the shared engine, re-targeted each day to the hedge's positions over its capital, earns the same
    # daily return (no costs here: re-targeting the engine to capital every day trades, the hedge does not)
    idx, u, lv, rets = _moving_pair()
    params = HedgeParams(exposure_threshold=0.01)
    conv = CashConvention(cash_rate=0.03, financing_spread=0.02, borrow_fee=0.06, cost_bps=0.0, short_margin=0.5)
    res = simulate_hedge(u, lv, params, conv)
    assert res.rehedges[0] >= 10
    long = params.long_notional / u[0] * u
    short = -res.paths["short_shares"][0] * lv
    capital = long + 0.5 * short
    engine = run_backtest(rets, pd.DataFrame({"U": long / capital, "L": -short / capital}, index=idx), conv)
    np.testing.assert_allclose(engine.returns.to_numpy()[1:], res.paths["returns"][0][1:], rtol=0, atol=1e-10)


def test_pnl_borrow_and_costs_match_the_shared_engine_trading_the_same_shares():
    # the engine trades to the hedge's dollar positions on the hedge's trade days only (opening, each
    # re-hedge, closing), so it trades the same notional; with no cash rate its P/L is the hedge's
    idx, u, lv, rets = _moving_pair()
    params = HedgeParams(exposure_threshold=0.01)
    conv = CashConvention(cash_rate=0.0, financing_spread=0.02, borrow_fee=0.06, cost_bps=10.0)
    res = simulate_hedge(u, lv, params, conv)
    sl = res.paths["short_shares"][0]
    days = [0, *np.flatnonzero(np.diff(sl) != 0) + 1, len(idx) - 1]
    assert len(days) >= 12
    start = params.long_notional + params.short_notional
    targets: dict = {}
    for d in days:
        dollars = (np.array([params.long_notional / u[0] * u[d], sl[d] * lv[d]]) if d < len(idx) - 1
                   else np.zeros(2))
        value = start if not targets else run_backtest(
            rets, pd.DataFrame(targets, index=["U", "L"]).T, conv, start).equity.iloc[d]
        targets[idx[d]] = dollars / value
    engine = run_backtest(rets, pd.DataFrame(targets, index=["U", "L"]).T, conv, start)
    assert engine.equity.iloc[-1] - start == pytest.approx(res.pnl[0], rel=0, abs=1e-10 * start)
    assert engine.costs.sum() == pytest.approx(conv.cost * res.traded[0], rel=1e-10)
    assert engine.borrow.sum() == pytest.approx(conv.daily_borrow() * res.short_sum[0], rel=1e-10)


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


def test_no_costs_gives_the_original_mark_to_market():
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
    base = simulate_hedge(U, L, params, CashConvention(0.03, 0.01, 0.0, 0.0, short_margin=0.5))
    fees, costs = [0.0, 0.02, 0.08], [0.0, 4.0, 25.0]
    grid, excess = base.pnl_at(fees, costs), base.excess_at(fees, costs)
    for i, fee in enumerate(fees):
        for j, cost in enumerate(costs):
            one = simulate_hedge(U, L, params, CashConvention(0.03, 0.01, fee, cost, short_margin=0.5))
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
    series = CashConvention(pd.Series(cd, index=dates), 0.01, B, K, short_margin=0.5)
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
    fee = breakeven_table(study).loc["SPY/SPXL", PNL_ZERO]
    tot = study.totals[0.05]["SPY/SPXL"]
    assert tot.pnl_at([fee], [K]).mean() == pytest.approx(0.0, abs=1e-6)
    table = sensitivity(study, [0.0, fee], [K])
    assert table["mean P/L ($)"].iloc[1] == pytest.approx(0.0, abs=1e-6)
    # the default band's pnl at the convention is the grid's cell at (B, K)
    np.testing.assert_allclose(tot.pnl_at([B], [K])[:, 0, 0], tot.pnl, rtol=1e-10)


def test_positions_use_no_future_prices():
    prices = load_prices(["SPY", "SPXL"], source="synthetic").loc["2012":"2014"]
    assert_no_lookahead(lambda px: hedge_positions(px, HedgeParams(exposure_threshold=0.01)), prices)


def test_ideal_path_by_hand():
    # daily-reset 3x of +1%, -2%, +1.5%, 0, -0.5%: 1.03 * 0.94 * 1.045 * 1 * 0.985, multiplied out by hand
    r = np.array([0.01, -0.02, 0.015, 0.0, -0.005])
    assert ideal_path(r, 3.0)[-1] == pytest.approx(0.996592465, abs=1e-9)


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


def _fund(beta_mult, n=2000, seed=4):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-01", periods=n)
    ru = rng.normal(0.0003, 0.012, n)
    ru[0] = 0.0
    rl = beta_mult * ru + rng.normal(0, 0.002, n)
    rl[0] = 0.0
    return pd.DataFrame({"U": 100 * np.cumprod(1 + ru), "F": 10 * np.cumprod(1 + rl)}, index=dates)


def test_model_checks_flag_a_fund_with_the_wrong_beta_and_slope():
    prices = _fund(2.6)
    r = prices.pct_change().iloc[1:]
    fitted = stats.linregress(r["U"], r["F"]).slope  # an independent OLS
    horizon = pd.DataFrame({"slope on var": [-2.1], "slope low": [-2.5], "slope high": [-1.7]},
                           index=pd.Index(["U/F"], name="pair"))
    checks = model_checks(prices, [["U", "F"]], 3, horizon)
    assert checks.loc["U/F", "fitted beta"] == pytest.approx(fitted, rel=1e-10)
    assert checks.loc["U/F", "beta flag"] and checks.loc["U/F", "slope flag"]
    ok = model_checks(_fund(2.9), [["U", "F"]], 3, horizon.assign(**{"slope low": -3.3, "slope high": -2.7}))
    assert not ok.loc["U/F", "beta flag"] and not ok.loc["U/F", "slope flag"]


def test_calendar_year_interval_is_a_t_interval_over_years():
    x = pd.Series(np.random.default_rng(2).normal(1e-4, 0.01, 252 * 6 + 50),
                  index=pd.bdate_range("2014-01-01", periods=252 * 6 + 50))
    ci, n = calendar_year_ci(x)
    years = [x[x.index.year == y].mean() * 252 for y in sorted(set(x.index.year)) if (x.index.year == y).sum() >= 200]
    lo, hi = stats.t.interval(0.95, len(years) - 1, loc=np.mean(years), scale=stats.sem(years))
    assert n == len(years) == 6
    assert (ci.estimate, ci.low, ci.high) == pytest.approx((np.mean(years), lo, hi), rel=1e-10)
    assert np.isnan(calendar_year_ci(x.iloc[:500])[0].low)  # two years: no interval


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
    ({"exposure_threshold": -0.1}, ">= 0"),
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


def _shv_convention(fee=B, cost=K):
    return CashConvention.from_parameters("SHV", 0.01, fee, cost, source="synthetic", short_margin=0.5)


def test_full_history_earns_the_t_bill_fund_and_lists_short_pairs():
    prices = load_prices(["SPY", "SPXL", "XBI", "LABU", "SHV"], source="synthetic")
    short = prices.copy()
    short.loc[: short.index[-301], "LABU"] = np.nan  # 300 common days left
    conv = _shv_convention()
    history, dropped = full_history(short, [["SPY", "SPXL"], ["XBI", "LABU"]], 3, HedgeParams(), conv)
    assert list(history) == ["SPY/SPXL"]
    assert dropped.to_dict("records") == [{"pair": "XBI/LABU", "reason": "300 common days, fewer than 504"}]
    d = history["SPY/SPXL"]
    shv = prices["SHV"].dropna().pct_change().reindex(d.index)
    inside = shv.notna()
    np.testing.assert_allclose(d["cash"][inside], shv[inside], rtol=1e-12)  # SHV's own daily return
    np.testing.assert_allclose(d["cash"][~inside], 1.02 ** (1 / 252) - 1, rtol=1e-12)  # the stated fallback
    assert d["cash"].std() > 0
    period = evidence_period(prices, history)
    common = prices[["SPY", "SPXL"]].dropna().index
    assert (period.index[0], period.index[-1]) == (common[0], common[-1])


def test_return_equals_cash_break_even_matches_a_resimulation_at_that_fee():
    prices = load_prices(["QQQ", "TQQQ", "SHV"], source="synthetic").loc["2012":"2019"]
    params = HedgeParams(exposure_threshold=0.05)
    conv = _shv_convention()
    d = full_history(prices, [["QQQ", "TQQQ"]], 3, params, conv)[0]["QQQ/TQQQ"]
    fee = breakeven_return_cash(d, conv, reps=200, seed=1)
    assert fee.low < fee.estimate < fee.high
    again = full_history(prices, [["QQQ", "TQQQ"]], 3, params, _shv_convention(fee=fee.estimate))[0]["QQQ/TQQQ"]
    assert (again["returns"] - again["cash"]).mean() == pytest.approx(0.0, abs=1e-12)  # an independent run
    for other in (0.0, 0.10):  # and the excess return moves with the fee on either side
        at = full_history(prices, [["QQQ", "TQQQ"]], 3, params, _shv_convention(fee=other))[0]["QQQ/TQQQ"]
        assert np.sign((at["returns"] - at["cash"]).mean()) == np.sign(fee.estimate - other)


def test_grid_shortcut_holds_with_a_daily_cash_series():
    U, L = _paths(3, 80, seed=7)
    dates = pd.bdate_range("2020-01-01", periods=80)
    cash = pd.Series(np.random.default_rng(3).uniform(0.0, 0.0002, 80), index=dates)
    params = HedgeParams(exposure_threshold=0.02)
    run = lambda fee, cost: simulate_hedge(U, L, params, CashConvention(cash, 0.01, fee, cost, short_margin=0.5),  # noqa: E731
                                           cash=cash.to_numpy())
    base = run(0.0, 0.0)
    for fee, cost in [(0.03, 5.0), (0.09, 0.0)]:
        one = run(fee, cost)
        np.testing.assert_allclose(base.pnl_at([fee], [cost])[:, 0, 0], one.pnl, rtol=1e-10)
        np.testing.assert_allclose(base.excess_at([fee], [cost])[:, 0, 0], one.ann_excess, rtol=1e-10, atol=1e-12)
    # the series' cash differs from its average as a constant: the carry is summed day by day
    flat = simulate_hedge(U, L, params, CashConvention(0.0, 0.01, 0.0, 0.0, short_margin=0.5), cash=np.full(80, cash.mean()))
    assert not np.allclose(flat.carry, base.carry, rtol=1e-9)
    assert base.carry[0] == pytest.approx(np.nansum(cash.to_numpy()[1:] * -base.paths["short_shares"][0, :-1]
                                                    * L[0, :-1]), rel=1e-10)


def test_book_params_takes_the_multiple_and_rejects_a_book_that_is_not_zero_beta():
    pairs = [["SPY", "SPXL"], ["SPY", "SSO"]]
    with pytest.raises(ValueError, match=r"SSO': 2\.0"):
        book_params({"SSO": 2}, pairs, 3000.0, 1000.0, 0.05)
    p = book_params(2, [["SPY", "SSO"]], 3000.0, 1500.0, 0.05)
    assert p.leverage == 2.0 and p.short_notional == 1500.0
    with pytest.raises(ValueError, match="zero beta"):
        book_params(2, [["SPY", "SSO"]], 3000.0, 1000.0, 0.05)


def test_capital_table_spread_across_windows():
    prices = load_prices(["SPY", "SPXL"], source="synthetic")
    study = run_study(prices, [["SPY", "SPXL"]], 9, 6, 3, 0, HedgeParams(), CONV, [])
    table = capital_table(study).loc["SPY/SPXL"]
    r = study.windows["ann_return"].to_numpy()
    assert table["mean return"] == pytest.approx(r.mean())
    assert (table["p10 return"], table["median return"], table["p90 return"]) == pytest.approx(
        tuple(np.percentile(r, [10, 50, 90])))
