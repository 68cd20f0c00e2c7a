"""Notebook 05: the leverage overlay (accounting, timing) and its study (ablation, sensitivity,
answer, outputs)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import overlay_study as st
from helpers.backtest import CashConvention, run_backtest
from helpers.evidence import Interval
from helpers.metrics import per_period_rate
from helpers.overlay import (
    OverlayParams,
    apply_overlay,
    constant_leverage,
    dd_scale_factor,
    simulate,
)
from helpers.testing import assert_no_lookahead

CONV = CashConvention(cash_rate=0.02, financing_spread=0.01, borrow_fee=0.005, cost_bps=5.0)


def returns(n=600, seed=2, mu=0.0003, sd=0.01):
    rng = np.random.default_rng(seed)
    return pd.Series(rng.normal(mu, sd, n), index=pd.bdate_range("2020-01-01", periods=n), name="base")


@pytest.mark.parametrize("dd, expected", [(0.0, 1.0), (0.10, 1.0), (0.175, 0.65), (0.25, 0.3), (0.5, 0.3)])
def test_dd_scale_factor_at_and_between_thresholds(dd, expected):
    assert dd_scale_factor(dd, 0.10, 0.25, 0.3) == pytest.approx(expected)


def test_constant_leverage_by_hand():
    """Three days at 2x: carry, spread, and the trade needed to hold 2x as prices move, by hand."""
    r = [0.01, -0.02, 0.0]
    base = pd.Series(r, index=pd.bdate_range("2020-01-01", periods=3))
    conv = CashConvention(cash_rate=0.0252, financing_spread=0.0252, cost_bps=10.0)
    c, s, tc = per_period_rate(0.0252), per_period_rate(0.0252), 0.001
    out = apply_overlay(base, constant_leverage(2.0), conv)
    assert (out["leverage"] == 2.0).all()
    # day 0: from 1x to 2x (traded 1), borrow 1 unit of equity at cash + spread
    r0 = 2 * 0.01 - (c + s) - tc * 1.0
    assert out["ret"].iloc[0] == pytest.approx(r0, rel=1e-12)
    assert out["financing"].iloc[0] == pytest.approx(c + s)
    # close of day 0: exposure drifted to 2 * 1.01 / (1 + r0); back to 2x
    traded1 = abs(2.0 - 2 * 1.01 / (1 + r0))
    r1 = 2 * -0.02 - (c + s) - tc * traded1
    assert out["traded"].iloc[1] == pytest.approx(traded1, rel=1e-12)
    assert out["ret"].iloc[1] == pytest.approx(r1, rel=1e-12)
    assert out["equity"].iloc[1] == pytest.approx((1 + r0) * (1 + r1), rel=1e-12)


def test_cash_earns_the_rate_below_one_times_leverage():
    """At 0.5x on a flat base, half the equity is cash earning the cash rate, nothing more."""
    base = pd.Series(np.zeros(30), index=pd.bdate_range("2020-01-01", periods=30))
    out = apply_overlay(base, constant_leverage(0.5), replace(CONV, cost_bps=0.0))
    c = per_period_rate(0.02)
    np.testing.assert_allclose(out["ret"].iloc[1:], 0.5 * c, rtol=1e-9)
    assert (out["financing"] == 0).all()
    # Sharpe is in excess of the same rate: a flat base at 0.5x has an excess return of -0.5 c a day
    np.testing.assert_allclose(CONV.excess(out["ret"]).iloc[1:], -0.5 * c, rtol=1e-9)


@pytest.mark.parametrize("level", [0.5, 1.8])
def test_overlay_matches_the_engine_holding_the_same_leverage(level):
    """The shared engine, told to hold the overlay's leverage in one asset, has the same equity path."""
    base = returns(500)
    for params in (constant_leverage(level), OverlayParams(vol_lookback=20)):
        out = apply_overlay(base, params, CONV)
        # engine: the weight decided at close t-1 is the overlay's leverage for day t
        targets = out["leverage"].shift(-1).iloc[:-1].to_frame("base")
        eng = run_backtest(base.to_frame(), targets, CONV)
        # the engine pays for the trade at close t on day t, the overlay books it in day t+1's return
        # (and from day 1 on: the engine starts from cash, the overlay from the base held at 1x)
        ours = (out["equity"] * (1 - out["cost"].shift(-1))).iloc[1:-1]
        theirs = eng.equity.reindex(ours.index)
        np.testing.assert_allclose((ours / ours.iloc[0]).to_numpy(), (theirs / theirs.iloc[0]).to_numpy(),
                                   rtol=2e-6)


@pytest.mark.parametrize("params", [constant_leverage(0.5), constant_leverage(1.8), OverlayParams(vol_lookback=20)])
def test_overlay_carry_and_financing_match_the_engine_to_rounding(params):
    """No costs: the engine re-targeted each day to the overlay's leverage earns the same daily return
    (cash below 1x earns the rate, borrowed cash above 1x pays it plus the spread)."""
    base = returns(500)
    conv = CashConvention(cash_rate=0.03, financing_spread=0.02, borrow_fee=0.01, cost_bps=0.0)
    out = apply_overlay(base, params, conv)
    eng = run_backtest(base.to_frame(), out["leverage"].shift(-1).iloc[:-1].to_frame("base"), conv)
    np.testing.assert_allclose(eng.returns.iloc[1:], out["ret"].iloc[1:], rtol=0, atol=1e-10)


@pytest.mark.parametrize("params", [constant_leverage(0.5), constant_leverage(1.8), OverlayParams(vol_lookback=20)])
def test_overlay_costs_match_the_engine_to_rounding(params):
    """No carry: the engine holding the overlay's leverage, from the same start (the base at 1x after paying
    for it, bought two days earlier, one flat day before the overlay's first trade), has the overlay's
    equity path before each day's trade."""
    base = returns(500)
    conv = CashConvention(cash_rate=0.0, financing_spread=0.0, borrow_fee=0.0, cost_bps=10.0)
    out = apply_overlay(base, params, conv)
    pre = pd.bdate_range(end=base.index[0] - pd.offsets.BDay(1), periods=2)
    rets = pd.concat([pd.Series(0.0, index=pre), base]).to_frame("base")
    lev = out["leverage"].to_numpy()
    # 1 / (1 + cost) of the first value buys exactly 1x of what is left after paying for it
    targets = pd.DataFrame({"base": [1 / (1 + conv.cost), *lev]}, index=[*pre, *base.index[:-1]])
    eng = run_backtest(rets, targets, conv)
    before_trade = (eng.equity + eng.costs).iloc[1:]
    np.testing.assert_allclose((before_trade / before_trade.iloc[0]).iloc[1:], out["equity"], rtol=1e-10)


def test_holding_leverage_while_prices_move_is_charged():
    base = returns(300)
    out = apply_overlay(base, constant_leverage(1.5), CONV)
    assert (out["traded"].iloc[1:] > 0).all()
    r, net = base.iloc[:-1].to_numpy(), out["ret"].iloc[:-1].to_numpy()
    expected = 1.5 * np.abs(r - net) / (1 + net)
    np.testing.assert_allclose(out["traded"].iloc[1:], expected, rtol=1e-9)


def test_leverage_at_t_ignores_the_return_at_t():
    base = returns(400)
    p = OverlayParams()
    a = apply_overlay(base, p, CONV)
    shocked = base.copy()
    shocked.iloc[300] = -0.2
    b = apply_overlay(shocked, p, CONV)
    assert a["leverage"].iloc[:301].equals(b["leverage"].iloc[:301])
    assert a["leverage"].iloc[301] != b["leverage"].iloc[301]
    # the original project's same-day volatility does react to day t's own return
    assert apply_overlay(base, p, CONV, same_day_vol=True)["leverage"].iloc[300] != \
        apply_overlay(shocked, p, CONV, same_day_vol=True)["leverage"].iloc[300]


def previous_day(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The date each row's leverage was decided: the previous trading day (the first: a day before)."""
    return pd.DatetimeIndex([index[0] - pd.Timedelta(days=1), *index[:-1]])


@pytest.mark.parametrize("params", [OverlayParams(), OverlayParams(vol_lookback=20, rebalance_every=5),
                                    OverlayParams(vol_target=False), OverlayParams(brake=False)])
def test_leverage_path_has_no_lookahead(params):
    base = returns(500, mu=-0.0005, sd=0.015)  # drawdowns deep enough for the brake to act
    fn = lambda r: apply_overlay(r, params, CONV)[["leverage"]]  # noqa: E731
    assert_no_lookahead(fn, base, decided_at=previous_day)
    if not params.vol_target:
        return
    with pytest.raises(AssertionError, match="look-ahead"):
        assert_no_lookahead(lambda r: apply_overlay(r, params, CONV, same_day_vol=True)[["leverage"]], base,
                            decided_at=previous_day)


def test_brake_acts_in_drawdowns_and_vol_target_scales_inverse_to_vol():
    idx = pd.bdate_range("2020-01-01", periods=200)
    calm = pd.Series(np.tile([0.005, -0.005], 100), index=idx)  # daily vol 0.5%: 7.9% a year
    p = OverlayParams(vol_lookback=20, target_vol=0.06, lev_min=0.1, lev_max=5.0, brake=False)
    lev = apply_overlay(calm, p, CONV)["leverage"]
    assert lev.iloc[50] == pytest.approx(0.06 / (0.005 * np.sqrt(252)), rel=1e-9)
    falling = pd.Series(-0.01, index=idx)
    out = apply_overlay(falling, OverlayParams(vol_target=False, lev_min=0.3), CONV)
    dd_before = -out["drawdown"].shift(1).fillna(0.0)
    np.testing.assert_allclose(out["leverage"], np.maximum(dd_scale_factor(dd_before, 0.10, 0.25, 0.3), 0.3))
    assert out["leverage"].iloc[-1] == pytest.approx(0.3)


def test_rebalance_every_lets_exposure_drift_between_resets():
    base = returns(100)
    out = apply_overlay(base, constant_leverage(2.0, rebalance_every=5), CONV)
    assert (out["leverage"].iloc[::5] == 2.0).all()
    assert (out["traded"].iloc[1:5] == 0).all() and out["traded"].iloc[5] > 0
    assert out["leverage"].iloc[1] == pytest.approx(2.0 * (1 + base.iloc[0]) / (1 + out["ret"].iloc[0]))


def test_vectorized_runs_equal_single_runs():
    base = returns(300)
    params = [OverlayParams(), OverlayParams(target_vol=0.08, vol_lookback=30), constant_leverage(1.3)]
    many = simulate(base, params, CONV)
    for j, p in enumerate(params):
        one = apply_overlay(base, p, CONV)
        np.testing.assert_allclose(many["ret"].iloc[:, j], one["ret"], rtol=1e-12)
        np.testing.assert_allclose(many["drawdown"].iloc[:, j], one["drawdown"], rtol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"lev_min": 2.5, "lev_max": 2.0}, "lev_min <= lev_max"),
    ({"dd_threshold1": 0.3, "dd_threshold2": 0.2}, "dd_threshold1 < dd_threshold2"),
    ({"dd_min_scale": 1.5}, "dd_min_scale"),
    ({"rebalance_every": 0}, "rebalance_every"),
])
def test_invalid_overlay_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OverlayParams(**kwargs)


def test_lookback_longer_than_data_and_wrong_convention_are_rejected():
    base = pd.Series(np.zeros(50), index=pd.bdate_range("2020-01-01", periods=50))
    with pytest.raises(ValueError, match="vol_lookback=60"):
        apply_overlay(base, OverlayParams(vol_lookback=60), CONV)
    with pytest.raises(TypeError, match="CashConvention"):
        apply_overlay(base, OverlayParams(vol_lookback=5), 0.03)


# --------------------------------------------------------------------------- the study


def test_ablation_matched_leverage_is_the_overlays_average():
    base = returns(400)
    runs = st.ablation(base, OverlayParams(), CONV)
    assert set(runs) == {"base (1x)", "vol targeting only", "drawdown brake only", st.OVERLAY, st.MATCHED}
    lev = runs[st.MATCHED]["leverage"]
    assert lev.nunique() == 1
    assert lev.iloc[0] == pytest.approx(runs[st.OVERLAY]["leverage"].mean())
    np.testing.assert_allclose(runs["base (1x)"]["ret"], base, rtol=1e-12)  # 1x: the base itself, nothing traded


def test_variant_table_reports_sharpe_in_excess_of_cash_with_interval():
    base = returns(400)
    runs = st.ablation(base, OverlayParams(), CONV)
    table = st.variant_table(runs, CONV, reps=200)
    c = per_period_rate(0.02)
    x = base - c
    assert table.loc["base (1x)", "Sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * np.sqrt(252))
    assert (table["Sharpe CI low"] < table["Sharpe"]).all() and (table["Sharpe"] < table["Sharpe CI high"]).all()
    assert table.loc["base (1x)", "Financing / yr"] == 0.0


def test_sensitivity_cells_cross_the_grid_then_sweep_one_at_a_time():
    p = OverlayParams()
    cells = st.sensitivity_cells(p, {"target_vol": [0.1, 0.12], "dd_threshold1": [0.05, 0.10]},
                                 {"lev_max": [1.5, 2.0], "vol_lookback": [20, 60]})
    labels = [c[0] for c in cells]
    # 4 grid cells + lev_max=1.5 + vol_lookback=20; the defaults (lev_max=2, lookback 60) are grid cells
    assert labels == ["target_vol=0.1 dd_threshold1=0.05", "target_vol=0.1 dd_threshold1=0.1",
                      "target_vol=0.12 dd_threshold1=0.05", "target_vol=0.12 dd_threshold1=0.1",
                      "lev_max=1.5", "vol_lookback=20"]
    table, excess = st.sensitivity(returns(400), cells, CONV)
    assert list(table.index) == labels and excess.shape == (400, 6)
    grid = st.grid_table(table, "target_vol", "dd_threshold1")
    assert grid.shape == (2, 2) and grid.loc[0.12, 0.1] == table.loc["target_vol=0.12 dd_threshold1=0.1", "Sharpe"]
    view = st.sweeps_view(table, cells, p)
    assert list(view.index) == ["defaults", "lev_max=1.5", "vol_lookback=20"]
    assert view.loc["defaults", "Sharpe"] == table.loc["target_vol=0.12 dd_threshold1=0.1", "Sharpe"]
    best, sharpe, dsr, n = st.deflated_best(table, excess)
    assert sharpe == table["Sharpe"].max() and n == 6 and 0 <= dsr <= 1


def test_max_drawdowns_by_hand():
    r = np.array([[0.10, -0.05], [-0.20, 0.02], [0.05, -0.01], [-0.10, 0.0]])
    # column 0: equity 1.1, 0.88, 0.924, 0.8316, peak 1.1; column 1: equity 0.95, 0.969, 0.95931, 0.95931
    # under the starting peak of 1, so the first-day loss is the worst drawdown
    np.testing.assert_allclose(st.max_drawdowns(r), [0.8316 / 1.1 - 1, -0.05], rtol=1e-12)


def test_maxdd_diff_ci_is_paired_and_signed():
    from helpers.metrics import max_drawdown

    b = returns(800, seed=5, mu=-0.0002, sd=0.012)
    same = st.maxdd_diff_ci(b, b.copy(), reps=200)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)  # paired: identical series, zero gap
    half = 0.5 * b  # half the exposure of a losing series: a shallower worst drawdown
    ci = st.maxdd_diff_ci(half, b, reps=300)
    assert ci.estimate == pytest.approx(max_drawdown(half) - max_drawdown(b), rel=1e-12)
    assert 0 < ci.low < ci.estimate < ci.high
    assert st.maxdd_diff_ci(b, half, reps=300).high < 0


IV = Interval


def evidence_with(vs_base, vs_matched, dd_base=(0.02, 0.005, 0.04), dd_matched=(0.11, 0.05, 0.2),
                  dd_vol=(-0.03, -0.16, 0.01), dd_brake=(0.06, 0.01, 0.08), brake=(-0.05, -0.1, 0.02), halves=None):
    names = ["base (1x)", "vol targeting only", "drawdown brake only", st.OVERLAY, st.MATCHED]
    return st.OverlayEvidence(sharpe=dict(zip(names, [0.8, 0.9, 0.8, 0.85, 0.7])),
                              max_drawdown=dict(zip(names, [-0.2, -0.21, -0.18, -0.19, -0.3])), avg_leverage=1.5,
                              vs_base=IV(*vs_base), vs_matched=IV(*vs_matched), vol_effect=IV(0.05, -0.1, 0.2),
                              brake_effect=IV(*brake), dd_vs_base=IV(*dd_base), dd_vs_matched=IV(*dd_matched),
                              dd_vol_effect=IV(*dd_vol), dd_brake_effect=IV(*dd_brake),
                              best_cell="lev_max=1.5", best_sharpe=0.95, deflated_sharpe=0.99, n_trials=30,
                              base_psr=0.9997, n_beat_base=4, best_vs_base=IV(0.15, -0.05, 0.3), psr_vs_base=0.71,
                              halves=halves or {}, at_cap=0.25, at_floor=0.01, lev_max=2.0, lev_min=0.3)


@pytest.mark.parametrize("ci, decision", [
    (IV(0.006, -0.15, 0.045), "no evidence"),   # small gap, but the interval reaches -15 points
    (IV(0.01, -0.138, 0.044), "no evidence"),   # real prices' interval: -13.8 to +4.4 points
    (IV(0.01, 0.005, 0.019), "about the same"),  # the whole interval within +-2 points
    (IV(0.0, -0.019, 0.019), "about the same"),
    (IV(0.01, -0.021, 0.019), "no evidence"),    # one bound just outside
    (IV(0.05, 0.01, 0.08), "above zero"),        # shallower
    (IV(-0.05, -0.08, -0.01), "below zero"),     # deeper
])
def test_drawdowns_are_about_the_same_only_when_the_whole_interval_is_within_two_points(ci, decision):
    c = st.comparisons(evidence_with((0.05, -0.1, 0.2), (0.1, 0.0, 0.2), dd_base=(ci.estimate, ci.low, ci.high)))[2]
    assert (c.what, c.measure, c.unit, c.margin) == ("overlay vs base", st.DD_MEASURE, "points", 2.0)
    assert c.decision == decision
    assert c.estimate == pytest.approx(ci.estimate * 100) and c.low == pytest.approx(ci.low * 100)


def test_comparisons_keys_decisions_and_halves():
    halves = {"vs_base": ("no evidence", "above zero"), "dd_vs_base": ("about the same", "no evidence")}
    rows = st.comparisons(evidence_with((0.25, 0.05, 0.45), (-0.2, -0.35, -0.05), halves=halves))
    assert [c.what for c in rows] == ["overlay vs base", "overlay vs matched 1.50x leverage", "overlay vs base",
                                      "overlay vs matched 1.50x leverage", "overlay vs brake only",
                                      "overlay vs vol targeting only", "overlay vs brake only",
                                      "overlay vs vol targeting only", "best cell (lev_max=1.5) vs base"]
    dd = "max drawdown (+ = shallower)"
    assert [c.measure for c in rows] == ["Sharpe ratio"] * 2 + [dd] * 2 + ["Sharpe ratio"] * 2 + [dd] * 2 + ["Sharpe ratio"]
    assert [c.decision for c in rows[:4]] == ["above zero", "below zero", "above zero", "above zero"]
    assert rows[0].halves == ("no evidence", "above zero") and rows[0].holds_in_halves is False
    assert rows[2].halves == ("about the same", "no evidence") and rows[1].halves is None
    assert all(c.mde > 0 for c in rows)
    d = rows[0].to_dict()
    assert {"what", "measure", "estimate", "low", "high", "level", "decision", "mde", "halves"} <= set(d)


def test_headline_verdict_interval_and_halves():
    e = evidence_with((0.05, -0.1, 0.2), (0.15, -0.02, 0.3), dd_base=(0.005, -0.1, 0.03),
                      halves={"vs_base": ("no evidence", "no evidence")})
    h = st.headline(st.comparisons(e))
    assert h.startswith("No evidence the overlay improves Sharpe over the unlevered base: +0.05 (95% CI -0.10 to +0.20)")
    assert "; vs matched 1.50x leverage: +0.15 (95% CI -0.02 to +0.30)." in h
    assert "Max drawdown vs base: not distinguishable." in h and "halves" not in h
    up = st.headline(st.comparisons(evidence_with((0.25, 0.05, 0.45), (0.1, 0.0, 0.2),
                                                  halves={"vs_base": ("above zero", "no evidence")})))
    assert up.startswith("The overlay improves Sharpe over the unlevered base: +0.25")
    assert up.endswith("Max drawdown vs base: shallower. Sharpe by half: overlay ahead, then no evidence.")
    assert len(up.split()) <= 40
    # a longer verdict drops details to stay within 40 words, never the interval or the halves
    long = evidence_with((-0.061, -0.312, 0.151), (-0.021, -0.271, 0.201), dd_base=(0.006, -0.138, 0.044),
                         halves={"vs_base": ("below zero", "no evidence")})
    h = st.headline(st.comparisons(replace(long, avg_leverage=1.5512)))
    assert len(h.split()) <= 40 and "(95% CI -0.31 to +0.15)" in h and "half" in h.lower()


def test_caveats_are_computed_from_the_parameters():
    e = evidence_with((0.05, -0.1, 0.2), (0.15, -0.02, 0.3))
    text = " ".join(st.caveats(e, CONV))
    assert "full-period average leverage, 1.50x, known only in hindsight" in text
    assert "cap of 2x on 25% of days and at its floor of 0.3x on 1%" in text
    assert "within ±2 points" in text
    assert "probabilistic Sharpe ratio of 0.71 against the base's Sharpe" in text and "against zero only" in text
    assert "cash earns 2.00% a year" in text and "constant" not in text
    c = st.conclusion(e, CONV)
    assert c["question"] == st.QUESTION and c["deciding"] == 0
    assert c["verdict"] == "No evidence the overlay improves Sharpe"


def test_leverage_use_counts_days_at_the_bounds():
    lev = pd.Series([2.0, 2.0, 1.5, 0.3, 1.0 + 1e-12, 2.0 - 1e-6])
    use = st.leverage_use(lev, OverlayParams(lev_min=0.3, lev_max=2.0))
    assert use == {"at_cap": pytest.approx(2 / 6), "at_floor": pytest.approx(1 / 6), "lev_max": 2.0, "lev_min": 0.3}


def test_paired_evidence_decides_every_pair_on_both_halves():
    base = returns(600, seed=4)
    p = OverlayParams(vol_lookback=20)
    runs = st.ablation(base, p, CONV)
    table = st.variant_table(runs, CONV, reps=50)
    e = st.paired_evidence(runs, table, CONV, reps=100, params=p)
    assert set(e.halves) == {"vs_base", "vs_matched", "vol_effect", "brake_effect", "dd_vs_base", "dd_vs_matched",
                             "dd_vol_effect", "dd_brake_effect"}
    from helpers.comparison import DECISIONS
    assert all(len(h) == 2 and set(h) <= set(DECISIONS) for h in e.halves.values())
    assert e.at_cap == pytest.approx(float((runs[st.OVERLAY]["leverage"] == p.lev_max).mean()))
    rows = st.comparisons(e)
    assert len(rows) == 8 and all(c.halves is not None for c in rows)


def test_psr_best_cell_vs_base_matches_skfolio():
    sk = pytest.importorskip("skfolio.measures")
    base = CONV.excess(returns(700, seed=8))
    best = CONV.excess(returns(700, seed=9, mu=0.0006, sd=0.012))
    sr_base = base.mean() / base.std(ddof=1)
    expected = sk.probabilistic_sharpe_ratio(best.to_numpy(), benchmark_sharpe_ratio=sr_base)
    assert st.psr_best_cell_vs_base(best, base) == pytest.approx(expected, rel=1e-9)
    assert st.psr_best_cell_vs_base(base, base) == pytest.approx(0.5, abs=1e-9)  # against its own Sharpe


def test_with_sensitivity_counts_cells_above_the_base():
    base = returns(500, seed=7)
    ex = pd.DataFrame({"a": base + 0.0002, "b": base - 0.0004, "c": base * 1.5 - 0.0003}) - per_period_rate(0.02)
    table = pd.DataFrame({"Sharpe": [1.0, 0.2, 0.9], "daily Sharpe": [0.06, 0.01, 0.04]}, index=list(ex))
    e = replace(evidence_with((0.0, -0.1, 0.1), (0.0, -0.1, 0.1)), n_trials=0, n_beat_base=0, best_vs_base=None)
    out = st.with_sensitivity(e, table, ex, CONV.excess(base), reps=200)
    assert out.n_beat_base == 2 and out.n_trials == 3 and out.best_cell == "a"  # 1.0 and 0.9 beat the base's 0.8
    assert out.best_vs_base.estimate == pytest.approx(0.0002 / base.std() * np.sqrt(252), rel=1e-9)
    assert out.best_vs_base.low < out.best_vs_base.estimate < out.best_vs_base.high
    # the base's PSR against zero, from Bailey & Lopez de Prado's formula (scipy moments)
    from scipy import stats
    x = CONV.excess(base).to_numpy()
    sr = x.mean() / x.std(ddof=1)
    z = sr * np.sqrt(len(x) - 1) / np.sqrt(1 - stats.skew(x) * sr + (stats.kurtosis(x, fisher=False) - 1) / 4 * sr**2)
    assert out.base_psr == pytest.approx(stats.norm.cdf(z), rel=1e-9)


def test_recorded_keys():
    e = evidence_with((0.05, -0.1, 0.2), (0.15, -0.02, 0.3))
    table = pd.DataFrame({"Sharpe": e.sharpe, "Max drawdown": e.max_drawdown, "CAGR": 0.1})
    rec = st.recorded(e, table)
    assert rec["sharpe_diff_ci"] == {"vs_base": [-0.1, 0.2], "vs_matched": [-0.02, 0.3]}
    assert rec["maxdd_diff_ci"] == {"vs_base": [0.005, 0.04], "vs_matched": [0.05, 0.2]}
    assert rec["ablation"][st.OVERLAY] == {"sharpe": 0.85, "max_drawdown": -0.19, "cagr": 0.1}
    assert {"sharpe_base", "sharpe_dynamic", "sharpe_matched_leverage", "maxdd_dynamic",
            "deflated_sharpe_best_cell"} <= set(rec)
    assert rec["psr_best_cell_vs_base"] == 0.71 and rec["leverage_at_cap_share"] == 0.25


def test_answer_frame_is_the_evaluated_period():
    idx = pd.bdate_range("2010-01-01", periods=50)
    prices = pd.DataFrame({"A": np.arange(50.0)}, index=idx)
    prices.attrs["provenance"] = {"source": "synthetic"}
    run = pd.DataFrame({"ret": 0.0}, index=idx[20:45])
    out = st.evaluated_frame(prices, run)
    assert (out.index[0], out.index[-1]) == (idx[20], idx[44]) and out.attrs == prices.attrs


def test_run_folder_is_the_runners_folder_or_a_fresh_temporary_one(tmp_path):
    import tempfile

    from helpers.catalogue import PROJECT_ROOT

    assert st.run_folder(str(tmp_path / "x")) == tmp_path / "x"
    assert st.run_folder("reports/set/05") == PROJECT_ROOT / "reports" / "set" / "05"
    a, b = st.run_folder(None), st.run_folder(None)
    try:
        assert a != b and a.is_dir() and b.is_dir() and not any(a.iterdir())
        assert a.parent == Path(tempfile.gettempdir()) and a.name.startswith("05_outputs-")
        assert not a.is_relative_to(PROJECT_ROOT)
    finally:
        a.rmdir()
        b.rmdir()


def test_notebook_defaults_read_the_parameters_cell():
    from helpers.catalogue import PROJECT_ROOT

    d = st.notebook_defaults(PROJECT_ROOT / "notebooks" / f"{st.NOTEBOOK}.ipynb")
    assert d["output_dir"] is None and d["target_vol"] == 0.12 and "cash_rate" in d and "financing_rate" not in d


def test_outputs_are_written_with_the_seeds_columns(tmp_path):
    idx = pd.bdate_range("2020-01-01", periods=320)
    rng = np.random.default_rng(3)
    rets = pd.DataFrame(rng.normal(0.0003, 0.01, (320, 2)), index=idx, columns=["A", "B"])
    prices = (1 + rets).cumprod() * 100
    base = run_backtest(rets, pd.DataFrame(0.5, index=idx[::21], columns=["A", "B"]), CONV)
    out = apply_overlay(base.returns, OverlayParams(vol_lookback=20), CONV)
    daily = st.daily_series(rets, prices, base, out)
    for col in ["A", "ret_A", "w_B", "ret_port_base", "equity_base", "dd_base", "leverage", "ret_port_dyn",
                "equity_dyn", "dd_dyn"]:
        assert col in daily.columns
    paths = st.write_outputs(tmp_path / "run", daily, {"answer": "x"})
    assert [p.name for p in paths] == ["dd_leverage_series.csv", "dd_leverage_summary.json"]
    assert json.loads(paths[1].read_text()) == {"answer": "x"}
    back = pd.read_csv(paths[0], index_col=0, parse_dates=True)
    np.testing.assert_allclose(back["equity_dyn"], out["equity"])
    assert not list((tmp_path / "run").glob(".*.tmp"))


@pytest.mark.parametrize("source", ["synthetic", "real"])
@pytest.mark.filterwarnings("ignore:series end on different dates")
def test_headline_within_40_words_with_an_interval_on_simulated_and_real_prices(source, request):
    """The study's conclusion end to end on 2014-2020 of both sources (a slice, small bootstrap)."""
    from helpers.data import load_prices

    folder = "synthetic" if source == "synthetic" else str(request.getfixturevalue("real_data"))
    prices = load_prices(["SPY", "TLT", "GLD", "SHV"], start="2014-01-01", end="2020-12-31", source=folder).dropna()
    r = prices.pct_change().iloc[1:]
    conv = CashConvention(cash_rate=r["SHV"], financing_spread=0.01, cost_bps=5.0)
    base = st.base_portfolio(r.drop(columns="SHV"), "ME", 252, 252, "fixed", 0.3, 0.3, conv)
    p = OverlayParams()
    runs = st.ablation(base.returns, p, conv)
    table = st.variant_table(runs, conv, reps=50)
    e = st.paired_evidence(runs, table, conv, reps=100, params=p)
    cells = st.sensitivity_cells(p, {"target_vol": [0.08, 0.12], "dd_threshold1": [0.05, 0.10]}, {})
    sens, excess = st.sensitivity(base.returns, cells, conv)
    e = st.with_sensitivity(e, sens, excess, conv.excess(runs[st.BASE]["ret"]), reps=100)
    c = st.conclusion(e, conv)
    assert len(c["headline"].split()) <= 40 and "(95% CI " in c["headline"]
    assert c["headline"].startswith(c["verdict"]) and 0 <= e.psr_vs_base <= 1 and 0 <= e.at_cap <= 1
    assert len(c["comparisons"]) == 9 and all(x.halves is not None for x in c["comparisons"])
