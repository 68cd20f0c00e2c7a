"""Notebook 01's answer as data: comparisons (keys, decisions, halves), the break-even fees'
names and the return = cash fee by hand, the computed caveats, and the headline's length on
the simulated market and on real prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import comparison as cmp
from helpers.backtest import CashConvention
from helpers.data import load_prices
from helpers.letf import HedgeParams, annual_gaps, horizon_table
from helpers.letf_study import (
    PNL_ZERO,
    RETURN_CASH,
    breakeven_records,
    breakeven_return_cash,
    breakeven_table,
    caveats,
    comparisons,
    conclusion,
    decision,
    evidence_table,
    full_history,
    halves_note,
    headline,
    model_checks,
    run_study,
    verdict,
)

CONV = CashConvention(cash_rate=0.04, financing_spread=0.01, borrow_fee=0.05, cost_bps=10.0, short_margin=0.5)


def _evidence(rows: dict) -> pd.DataFrame:
    """Evidence rows: pair -> (excess, low, high, cal low, cal high), fees around 2%."""
    recs = {p: {"excess": e, "excess low": lo, "excess high": hi, "cal low": cl, "cal high": ch,
                "fee (return = cash)": 0.02, "fee low": 0.01, "fee high": 0.03}
            for p, (e, lo, hi, cl, ch) in rows.items()}
    return pd.DataFrame(recs).T.rename_axis("pair")


def _history(first: float, second: float, n: int = 2016, seed: int = 0) -> pd.DataFrame:
    """A whole history whose daily excess over cash averages ``first`` then ``second``."""
    dates = pd.bdate_range("2010-01-01", periods=n)
    rng = np.random.default_rng(seed)
    mean = np.where(np.arange(n) < n // 2, first, second)
    cash = np.full(n, 0.0001)
    return pd.DataFrame({"returns": cash + mean + rng.normal(0, 0.002, n), "cash": cash,
                         "short_weight": np.full(n, 0.25)}, index=dates)


def test_decision_needs_the_bootstrap_and_the_calendar_years_to_agree():
    assert decision((0.01, 0.02), (0.005, 0.03)) == cmp.ABOVE
    assert decision((-0.02, -0.01), (-0.03, -0.001)) == cmp.BELOW
    assert decision((-0.02, -0.01), (-0.03, 0.001)) == cmp.NONE  # calendar years include zero
    assert decision((-0.001, 0.004), (0.001, 0.006)) == cmp.NONE  # bootstrap includes zero
    assert decision((0.01, 0.02), (np.nan, np.nan)) == cmp.NONE  # no calendar-year check: no call


def test_comparisons_keys_decisions_and_halves():
    ev = _evidence({"A/AX": (0.015, 0.01, 0.02, 0.005, 0.03), "B/BX": (-0.005, -0.01, 0.001, -0.02, 0.01)})
    hist = {"A/AX": _history(0.001, 0.001), "B/BX": _history(0.001, -0.001)}
    comps = comparisons(ev, hist, reps=200)
    a, b = comps
    assert (a.what, a.measure, a.unit) == ("A/AX book vs cash", "excess return on capital over cash", "% a year")
    assert (a.estimate, a.low, a.high) == pytest.approx((1.5, 1.0, 2.0))  # percent a year
    assert a.decision == cmp.ABOVE and b.decision == cmp.NONE
    assert a.halves == (cmp.ABOVE, cmp.ABOVE) and a.holds_in_halves
    assert b.halves == (cmp.ABOVE, cmp.BELOW) and b.holds_in_halves is False
    # the two-interval rule detects no more than its wider interval: here the calendar-year one
    assert b.mde == pytest.approx(cmp.min_detectable_effect(cmp.standard_error(-2.0, 1.0)))
    d = a.to_dict()
    for key in ("what", "measure", "estimate", "low", "high", "level", "decision", "mde", "halves"):
        assert key in d
    assert comparisons(ev)[0].halves is None  # without the histories, no halves


def test_verdict_and_headline_name_the_deciding_pair_and_the_halves():
    ev = _evidence({"A/AX": (0.015, 0.01, 0.02, 0.005, 0.03), "B/BX": (0.02, -0.01, 0.05, -0.02, 0.06)})
    comps = comparisons(ev, {"A/AX": _history(0.001, -0.001), "B/BX": _history(0.0, 0.0)}, reps=200)
    assert verdict(comps) == "1 of 2 pairs beat cash"
    text = headline(comps, CONV)
    assert text.startswith("1 of 2 pairs beat cash at 5.0% borrow and 10 bp costs. Best, A/AX: excess over cash ")
    assert "+1.50% a year (95% CI +1.00 to +2.00% a year)." in text  # a pair that beats, not the widest estimate
    assert text.endswith(" Not in both halves (1, then 0, of 2 beat cash).")
    worst = [cmp.Comparison(f"P{i}/X book vs cash", "x", 0.5, 0.01, 1.0, decision=cmp.NONE,
                            halves=(cmp.ABOVE, cmp.NONE) if i else (cmp.BELOW, cmp.BELOW)) for i in range(2)]
    worst.append(cmp.Comparison("Q/X book vs cash", "x", 0.1, -1.0, -0.5, decision=cmp.BELOW, halves=(cmp.BELOW,) * 2))
    longest = headline(worst, CONV)  # verdict with trails, calendar years overruled, halves split
    assert len(longest.split()) <= cmp.MAX_HEADLINE_WORDS and "Not in both halves" in longest
    assert len(text.split()) <= cmp.MAX_HEADLINE_WORDS
    none = comparisons(_evidence({"A/AX": (-0.01, -0.02, -0.005, -0.03, -0.001)}))
    assert verdict(none) == "Every pair trails cash"
    mixed = comparisons(_evidence({"A/AX": (-0.01, -0.02, -0.005, -0.03, -0.001), "B/BX": (0, -1, 1, -1, 1)}))
    assert verdict(mixed) == "No pair beats cash (1 of 2 trail)"
    overruled = comparisons(_evidence({"A/AX": (0.01, 0.001, 0.02, -0.01, 0.03)}))
    text = headline(overruled, CONV)
    assert "Not counted: its calendar-year interval includes zero." in text
    assert text.endswith("Could not detect less than 2.86% a year.")                  # power of the stricter rule
    assert "(calendar-year 95% CI -1.00 to +3.00 disagrees)" in overruled[0].measure


def test_halves_note_follows_the_verdicts_claim():
    def comp(decision, halves):
        return cmp.Comparison("A/AX book vs cash", "x", 0.0, -1.0, 1.0, decision=decision, halves=halves)

    same = [comp(cmp.NONE, (cmp.NONE, cmp.BELOW)), comp(cmp.BELOW, (cmp.BELOW, cmp.NONE))]
    assert halves_note(same) == ""  # no pair beats cash in either half: the claim holds
    split = [comp(cmp.NONE, (cmp.ABOVE, cmp.NONE)), comp(cmp.NONE, (cmp.NONE, cmp.NONE))]
    assert halves_note(split) == " Not in both halves (1, then 0, of 2 beat cash)."
    trail = [comp(cmp.BELOW, (cmp.BELOW, cmp.NONE)), comp(cmp.BELOW, (cmp.BELOW, cmp.BELOW))]
    assert halves_note(trail) == " Not in both halves (2, then 1, of 2 trail cash)."
    assert halves_note([comp(cmp.NONE, None)]) == ""


def test_caveats_follow_the_convention_and_the_results():
    ev = _evidence({"A/AX": (-0.01, -0.02, -0.005, -0.03, 0.001), "B/BX": (0, -1, 1, -1, 1)})
    be = pd.DataFrame({PNL_ZERO: [0.07, 0.05, np.nan], RETURN_CASH: [0.02, 0.01, np.nan]},
                      index=["A/AX", "B/BX", "D/DX"])
    checks = pd.DataFrame({"beta flag": [True, False], "slope flag": [False, False]}, index=["A/AX", "B/BX"])
    text = " ".join(caveats(CONV, comparisons(ev), be, checks, not_evaluated={"C/CX": "300 common days"}))
    assert "(fund checks): A/AX; their books carry market beta." in text
    assert "constant 4.0% a year" in text and "plus 50% of the short notional" in text
    assert "2 pairs each at 95%" in text and "about 10% of runs" in text
    assert "(it does not for A/AX)" in text  # the bootstrap alone would have called A/AX
    assert "(5.0% to 7.0%; breakeven_borrow_fee_pnl_zero) ignores what the capital would have earned" in text
    assert "Not evaluated: C/CX (300 common days)." in text
    free = CashConvention(0.01, 0.0, 0.0, 0.0, short_margin=0.25)
    assert "plus 25% of the short notional" in " ".join(caveats(free, comparisons(ev), be))


def test_breakeven_records_name_the_return_equals_cash_fee():
    ev = _evidence({"A/AX": (0, -1, 1, -1, 1)})
    be = pd.DataFrame({PNL_ZERO: [0.07], RETURN_CASH: [0.02]}, index=["A/AX"])
    rec = breakeven_records(ev, be)
    assert rec == {"breakeven_borrow_fee": {"A/AX": 0.02}, "breakeven_borrow_fee_ci": {"A/AX": [0.01, 0.03]},
                   "breakeven_borrow_fee_pnl_zero": {"A/AX": 0.07}}


def test_return_equals_cash_fee_by_hand():
    # four days: excess over cash 0.0004, 0.0000, -0.0002, 0.0002 at the 5% fee; a quarter of
    # capital short each day. Mean excess 0.0001 = (b - b0) x 0.25 at the break-even daily rate b.
    dates = pd.bdate_range("2020-01-01", periods=12)
    e = np.tile([0.0004, 0.0, -0.0002, 0.0002], 3)
    d = pd.DataFrame({"returns": 0.0001 + e, "cash": 0.0001, "short_weight": 0.25}, index=dates)
    b0 = 1.05 ** (1 / 252) - 1
    by_hand = (1 + b0 + 0.0001 / 0.25) ** 252 - 1
    assert breakeven_return_cash(d, CONV, reps=50).estimate == pytest.approx(by_hand, rel=1e-12)


def _conclusion(source):
    pairs = [["SPY", "SPXL"], ["SOXX", "SOXL"], ["IWM", "TNA"], ["QQQ", "TQQQ"], ["DIA", "UDOW"],
             ["XBI", "LABU"], ["XLF", "FAS"]]
    prices = load_prices([t for p in pairs for t in p], source=source)
    conv = CashConvention.from_parameters("SHV", 0.01, 0.03, 3.0, source=source, short_margin=0.5)
    params = HedgeParams()
    study = run_study(prices, pairs, 3, 6, 3, 0, params, conv, [])
    history, dropped = full_history(prices, pairs, 3, params, conv)
    evidence = evidence_table(history, conv, reps=100)
    checks = model_checks(prices, pairs, 3, horizon_table(annual_gaps(prices, pairs, 3)))
    return conclusion(evidence, history, conv, params, breakeven_table(study), checks,
                      dict(zip(dropped["pair"], dropped["reason"])), reps=100)


def _check(result):
    assert len(result.headline.split()) <= cmp.MAX_HEADLINE_WORDS
    assert "95% CI" in result.headline
    assert result.comparisons[result.deciding].what.split(" book")[0] in result.headline


def test_headline_on_the_simulated_market():
    _check(_conclusion("synthetic"))


@pytest.mark.filterwarnings("ignore:series end on different dates")
def test_headline_on_real_prices(real_data):
    _check(_conclusion(str(real_data)))
