"""helpers.comparison against closed forms (scipy.stats.norm), statsmodels' Holm, and hand-written text."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from helpers import comparison as cmp
from helpers.evidence import Interval


def normal_interval(estimate: float, se: float, level: float) -> Interval:
    q = stats.norm.ppf((1 + level) / 2)
    return Interval(estimate, estimate - q * se, estimate + q * se, level)


def test_decision_honours_the_level_of_its_interval():
    # z = 1.8: two-sided p = 0.072, below 0.10 and above 0.05.
    est, se = 1.8, 1.0
    assert 0.05 < 2 * stats.norm.sf(est / se) < 0.10
    c90 = cmp.Comparison.from_interval(normal_interval(est, se, 0.90), "a vs b", "Sharpe ratio")
    c95 = cmp.Comparison.from_interval(normal_interval(est, se, 0.95), "a vs b", "Sharpe ratio")
    assert c90.decision == cmp.ABOVE and c90.level == 0.90
    assert c95.decision == cmp.NONE
    assert "(90% CI " in cmp.sentence(c90) and "(95% CI " in cmp.sentence(c95)
    assert cmp.decide(-0.3, -0.1) == cmp.BELOW
    assert cmp.decide(float("nan"), 0.2) == cmp.NO_DATA
    assert cmp.decide(-0.5, 1.5, margin=2.0) == cmp.SAME
    assert cmp.decide(-0.5, 2.5, margin=2.0) == cmp.NONE
    # Boundaries: an interval touching zero includes it; one touching the margin lies within it.
    assert cmp.decide(0.0, 1.0) == cmp.NONE and cmp.decide(-1.0, 0.0) == cmp.NONE
    assert cmp.decide(-2.0, 2.0, margin=2.0) == cmp.SAME


def test_mde_equals_the_closed_form():
    se = 0.16
    by_hand = (stats.norm.ppf(0.975) + stats.norm.ppf(0.80)) * se
    assert cmp.min_detectable_effect(se) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(2.8016 * se, rel=1e-4)
    # From a 90% interval of half-width 1.645 se: se is recovered, then the same MDE.
    c = cmp.Comparison.from_interval(normal_interval(0.05, se, 0.90), "a vs b", "Sharpe ratio")
    assert c.mde == pytest.approx(by_hand, rel=1e-9)
    # A given (bootstrap) se wins over the interval's.
    assert cmp.Comparison("a vs b", "x", 0.0, -1.0, 1.0, se=0.1).mde == pytest.approx(2.8016 * 0.1, rel=1e-4)
    # Power of a true effect equal to the MDE is 80% (two-sided, 5%).
    z = by_hand / se
    power = stats.norm.sf(stats.norm.ppf(0.975) - z) + stats.norm.cdf(-stats.norm.ppf(0.975) - z)
    assert power == pytest.approx(0.80, abs=1e-3)


def test_format_prints_the_level():
    assert cmp.format_interval(0.12, 0.02, 0.22, 0.9) == "+0.12 (90% CI +0.02 to +0.22)"
    assert cmp.format_interval(0.12, 0.02, 0.22, 0.975) == "+0.12 (97.5% CI +0.02 to +0.22)"
    points = cmp.format_interval(-1.25, -3.5, 1.0, unit="points", digits=1)
    assert points == "-1.2 points (95% CI -3.5 to +1.0 points)"
    percent = cmp.format_interval(1.5, 0.5, 2.5, unit="% a year", digits=1)
    assert percent == "+1.5% a year (95% CI +0.5 to +2.5% a year)"


def test_sentences():
    beats = cmp.Comparison("the overlay vs the base", "Sharpe ratio", 0.12, 0.02, 0.22)
    assert cmp.sentence(beats) == "The overlay beats the base on Sharpe ratio: +0.12 (95% CI +0.02 to +0.22)."
    none = cmp.Comparison("A vs B", "Sharpe ratio", 0.05, -0.10, 0.20, se=0.45 / 2.8016)
    assert cmp.sentence(none) == ("No evidence that A and B differ in Sharpe ratio: +0.05 "
                                  "(95% CI -0.10 to +0.20); the test could not detect a difference "
                                  "smaller than 0.45.")
    trails = cmp.Comparison("x vs y", "return", -0.3, -0.5, -0.1)
    assert cmp.sentence(trails, "the book", "cash").startswith("The book trails cash on return: -0.30")
    cost = cmp.Comparison("the LSTM vs the rule", "cost per trade", 2.0, 1.0, 3.0, unit="bps", better="lower")
    assert cmp.sentence(cost) == "The LSTM trails the rule on cost per trade: +2.00 bps (95% CI +1.00 to +3.00 bps)."
    vol = cmp.Comparison("the LSTM vs the rule", "volatility", -2.0, -3.0, -1.0, better=None)
    assert cmp.sentence(vol).startswith("The LSTM has a lower volatility than the rule: -2.00")
    zero = cmp.Comparison("the forecast", "IC", 0.05, 0.01, 0.09)
    assert cmp.sentence(zero) == "IC of the forecast is above zero: +0.05 (95% CI +0.01 to +0.09)."
    same = cmp.Comparison("a vs b", "max drawdown", 0.5, -1.0, 1.5, unit="points", margin=2.0,
                          digits=1)
    assert "about the same on max drawdown" in cmp.sentence(same)
    assert "within 2.0 points of zero" in cmp.sentence(same)


def test_halves_disagreement_sentence():
    what = "the overlay vs the base"
    agree = cmp.Comparison(what, "Sharpe ratio", 0.12, 0.02, 0.22, halves=(cmp.ABOVE, cmp.ABOVE))
    assert agree.holds_in_halves and "halves" not in cmp.sentence(agree)
    split = cmp.Comparison(what, "Sharpe ratio", 0.12, 0.02, 0.22, halves=(cmp.ABOVE, cmp.NONE))
    assert split.holds_in_halves is False
    assert cmp.sentence(split).endswith(" It does not hold in both halves (first: the overlay better, "
                                        "second: no evidence).")


def test_split_halves_and_halves_decisions():
    dates = pd.bdate_range("2020-01-01", periods=11)
    first, second = cmp.split_halves(dates)
    assert first == (dates[0], dates[4]) and second == (dates[5], dates[10])
    x = pd.Series(np.r_[np.full(5, 1.0), np.full(6, -1.0)] + np.tile([0.1, -0.1], 6)[:11], index=dates)

    def mean_ci(s):  # normal interval of the mean
        return normal_interval(s.mean(), s.std(ddof=1) / np.sqrt(len(s)), 0.95)

    assert cmp.halves_decisions(mean_ci, x) == (cmp.ABOVE, cmp.BELOW)
    seen = []
    cmp.halves_intervals(lambda a, b: seen.append((len(a), len(b))) or mean_ci(a), x, x.to_frame())
    assert seen == [(5, 5), (6, 6)]
    with pytest.raises(ValueError, match="at least 2 distinct dates"):
        cmp.split_halves(dates[:1])


def test_holm_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.20, 0.012])
    for alpha in (0.05, 0.10):
        reject, adjusted = cmp.holm(p, alpha)
        sm_reject, sm_adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
        np.testing.assert_array_equal(reject, sm_reject)
        np.testing.assert_allclose(adjusted, sm_adjusted, rtol=1e-12)
    est = [0.2, -0.1, 0.3, -0.4, 0.1, 0.2]
    expected = [(cmp.ABOVE if e > 0 else cmp.BELOW) if r else cmp.NONE
                for e, r in zip(est, multipletests(p, alpha=0.05, method="holm")[0])]
    assert cmp.holm_decisions(est, p) == expected
    comps = [cmp.Comparison(f"s{i} vs b", "Sharpe ratio", e, e - 0.1, e + 0.1, p_value=q)
             for i, (e, q) in enumerate(zip(est, p))]
    adjusted = cmp.holm_adjust(comps)
    assert [c.decision for c in adjusted] == expected
    assert adjusted[3].adjusted_level == pytest.approx(1 - 0.05 / 6)  # smallest p: first step
    assert "Holm-adjusted p = " in cmp.sentence(adjusted[0])
    with pytest.raises(ValueError, match=r"\[0, 1\], got \[0.01, nan\]"):
        cmp.holm([0.01, float("nan")])
    with pytest.raises(ValueError, match="p_value"):
        cmp.holm_adjust([cmp.Comparison("a vs b", "x", 0.0, -1.0, 1.0)])


def test_headline_word_count():
    ok = " ".join(["word"] * 40)
    assert cmp.headline(ok) == ok
    with pytest.raises(ValueError, match="41 words"):
        cmp.headline(ok + " more")


def test_to_dict_json_round_trip():
    c = cmp.Comparison.from_interval(normal_interval(0.05, 0.1, 0.95), "A vs B", "Sharpe ratio",
                                     halves=(cmp.NONE, cmp.ABOVE), p_value=0.6)
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert {"what", "measure", "estimate", "low", "high", "level", "decision", "mde", "halves"} <= set(d)
    assert d["halves"] == [cmp.NONE, cmp.ABOVE] and d["decision"] == cmp.NONE
    assert cmp.Comparison.from_dict(d) == c
    empty = cmp.Comparison("A vs B", "Sharpe ratio", float("nan"), float("nan"), float("nan"))
    d = json.loads(json.dumps(empty.to_dict(), allow_nan=False))
    assert d["low"] is None and d["mde"] is None and d["decision"] == cmp.NO_DATA
    assert cmp.sentence(cmp.Comparison.from_dict(d)) == "Too little data to compare A and B on Sharpe ratio."


def test_table_and_render():
    comps = [cmp.Comparison("the overlay vs the base", "Sharpe ratio", 0.12, 0.02, 0.22,
                            halves=(cmp.ABOVE, cmp.NONE)),
             cmp.Comparison("A vs B", "max drawdown", -1.2, -3.4, 1.0, unit="points", digits=1)]
    df = cmp.table(comps)
    assert list(df.columns) == list(cmp.COLUMNS) and len(df) == 2
    assert df.loc[0, "Interval"] == "95% CI +0.02 to +0.22" and df.loc[0, "Decision"] == "the overlay better"
    assert df.loc[1, "Detectable (80% power)"].endswith(" points") and df.loc[1, "First half"] == ""
    md = cmp.render(comps).splitlines()
    assert md[0].startswith("| Comparison | Measure |") and len(md) == 4
    assert "<table" in cmp.render(df, "html") and "the overlay better" in cmp.render(df, "html")
    with pytest.raises(ValueError, match="fmt"):
        cmp.render(comps, "latex")


def test_bad_inputs_name_themselves():
    with pytest.raises(ValueError, match="level"):
        cmp.Comparison("a vs b", "x", 0.0, -1.0, 1.0, level=95)
    with pytest.raises(ValueError, match="above high"):
        cmp.Comparison("a vs b", "x", 0.0, 1.0, -1.0)
    with pytest.raises(ValueError, match="better must be"):
        cmp.Comparison("a vs b", "x", 0.0, -1.0, 1.0, better="up")
    with pytest.raises(ValueError, match="'maybe'"):
        cmp.Comparison("a vs b", "x", 0.0, -1.0, 1.0, halves=("maybe", cmp.NONE))


def test_halves_with_the_paired_bootstrap_of_helpers_evidence():
    from helpers.evidence import sharpe_diff_ci

    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2020-01-01", periods=400)
    a = pd.Series(rng.normal(0.002, 0.01, 400), index=dates)
    b = pd.Series(rng.normal(0.0, 0.01, 400), index=dates)
    halves = cmp.halves_intervals(lambda x, y: sharpe_diff_ci(x, y, reps=100, block=5.0), a, b)
    for h, (start, end) in zip(halves, cmp.split_halves(a)):
        whole = sharpe_diff_ci(a.loc[start:end], b.loc[start:end], reps=100, block=5.0)
        assert (h.estimate, h.low, h.high) == (whole.estimate, whole.low, whole.high)
    c = cmp.Comparison.from_interval(sharpe_diff_ci(a, b, reps=100, block=5.0), "a vs b", "Sharpe ratio",
                                     halves=tuple(cmp.decide(h.low, h.high) for h in halves))
    assert c.halves == cmp.halves_decisions(lambda x, y: sharpe_diff_ci(x, y, reps=100, block=5.0), a, b)


def test_holm_mde_is_at_the_level_holm_tests_at():
    # three comparisons with the same interval: the smallest p is tested at 0.05 / 3, so its detectable
    # effect is (z_{1 - 0.05/6} + z_0.8) se, larger than the unadjusted 2.80 se
    cs = [cmp.Comparison(f"a{i} vs b", "Sharpe ratio", 0.1, -0.1, 0.3, p_value=p, better="higher")
          for i, p in enumerate((0.01, 0.2, 0.5))]
    se = cmp.standard_error(-0.1, 0.3)
    first = cmp.holm_adjust(cs)[0]
    assert first.mde == pytest.approx((stats.norm.ppf(1 - 0.05 / 6) + stats.norm.ppf(0.8)) * se)
    assert first.mde > cs[0].mde
