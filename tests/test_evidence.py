"""helpers.evidence against independent references: skfolio, closed forms, coverage by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from skfolio.measures import deflated_sharpe_ratio as sk_dsr
from skfolio.measures import expected_max_sharpe_ratio as sk_emax
from skfolio.measures import probabilistic_sharpe_ratio as sk_psr
from sklearn.metrics import f1_score, roc_auc_score

from helpers import evidence as ev


@pytest.fixture
def fat_tailed():
    rng = np.random.default_rng(3)
    return rng.standard_t(4, size=1500) * 0.01 + 0.0004


def test_psr_matches_skfolio(fat_tailed):
    for bench in (0.0, 0.02, -0.01):
        assert ev.probabilistic_sharpe_ratio(fat_tailed, bench) == pytest.approx(sk_psr(fat_tailed, bench),
                                                                                 rel=1e-10)


def test_psr_closed_form_for_a_two_point_sample():
    # A symmetric two-point sample has skew 0 and kurtosis 1, so the denominator
    # sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2) is exactly 1 and PSR = Phi(SR sqrt(T - 1)).
    x = np.array([-1.0, 1.0] * 500) * 0.01 + 0.001
    sr = x.mean() / x.std(ddof=1)
    expected = stats.norm.cdf(sr * np.sqrt(len(x) - 1))
    assert ev.probabilistic_sharpe_ratio(x) == pytest.approx(expected, rel=1e-12)


def test_dsr_and_expected_max_match_skfolio(fat_tailed):
    trials = np.random.default_rng(5).normal(0.01, 0.02, 40)
    assert ev.deflated_sharpe_ratio(fat_tailed, trials) == pytest.approx(sk_dsr(fat_tailed, trials), rel=1e-10)
    assert ev.expected_max_sharpe(trials) == pytest.approx(sk_emax(40, trials.std(ddof=1)), rel=1e-12)


def test_dsr_penalizes_more_trials(fat_tailed):
    few = np.random.default_rng(1).normal(0, 0.02, 5)
    many = np.random.default_rng(1).normal(0, 0.02, 500)
    assert ev.deflated_sharpe_ratio(fat_tailed, many) < ev.deflated_sharpe_ratio(fat_tailed, few)
    assert ev.deflated_sharpe_ratio(fat_tailed, few) < ev.probabilistic_sharpe_ratio(fat_tailed)


def test_sharpe_ci_point_estimate_and_seed(fat_tailed):
    ci = ev.sharpe_ci(fat_tailed, reps=300, seed=1)
    assert ci.estimate == pytest.approx(fat_tailed.mean() / fat_tailed.std(ddof=1) * np.sqrt(252), rel=1e-12)
    assert ci.low < ci.estimate < ci.high
    assert ev.sharpe_ci(fat_tailed, reps=300, seed=1) == ci  # reproducible


def test_sharpe_ci_width_matches_the_iid_standard_error():
    # For i.i.d. normal returns, se(SR_daily) = sqrt((1 + SR^2/2) / T) (Lo 2002); the 95% interval is ~ +-1.96 se.
    rng = np.random.default_rng(11)
    x = rng.normal(0.0005, 0.01, 4000)
    ci = ev.sharpe_ci(x, reps=2000, seed=0, block=1)
    sr = x.mean() / x.std(ddof=1)
    se_annual = np.sqrt((1 + sr**2 / 2) / len(x)) * np.sqrt(252)
    assert (ci.high - ci.low) / 2 == pytest.approx(1.96 * se_annual, rel=0.1)


@pytest.mark.parametrize("true_sharpe", [0.0, 1.0])
def test_sharpe_ci_covers_the_true_sharpe_about_95_percent(true_sharpe):
    # 200 simulated AR(1)-volatility series of known Sharpe; coverage within 95% +- 5 points
    # (binomial sd of the coverage with 200 draws is 1.5 points).
    rng = np.random.default_rng(7)
    n, covered = 1000, 0
    for _ in range(200):
        x = rng.normal(true_sharpe / np.sqrt(252) * 0.01, 0.01, n)
        ci = ev.sharpe_ci(x, reps=300, seed=int(rng.integers(1 << 31)))
        covered += ci.low <= true_sharpe <= ci.high
    assert 0.90 <= covered / 200 <= 0.99


def test_paired_difference_agrees_with_jobson_korkie_memmel():
    rng = np.random.default_rng(2)
    a = rng.normal(0.0006, 0.01, 3000)
    b = 0.7 * a + rng.normal(0.0, 0.007, 3000)
    boot = ev.sharpe_diff_ci(a, b, reps=2000, seed=0, block=1)
    jk = ev.jobson_korkie(a, b)
    assert boot.estimate == pytest.approx(jk.diff, rel=1e-10)
    assert (boot.high - boot.low) == pytest.approx(jk.interval().high - jk.interval().low, rel=0.12)
    # Memmel's variance by hand
    sa, sb = a.mean() / a.std(ddof=1), b.mean() / b.std(ddof=1)
    rho = np.corrcoef(a, b)[0, 1]
    se = np.sqrt((2 - 2 * rho + 0.5 * (sa**2 + sb**2 - 2 * sa * sb * rho**2)) / 3000) * np.sqrt(252)
    assert jk.se == pytest.approx(se, rel=1e-12)
    assert jk.pvalue == pytest.approx(2 * stats.norm.sf(abs(jk.diff / se)), rel=1e-9)


def test_paired_difference_of_identical_series_is_zero():
    x = np.random.default_rng(0).normal(0.001, 0.01, 500)
    ci = ev.sharpe_diff_ci(x, x, reps=100)
    assert ci.estimate == 0 and ci.low == 0 and ci.high == 0


def test_paired_difference_aligns_pandas_on_dates():
    idx = pd.bdate_range("2020-01-01", periods=300)
    rng = np.random.default_rng(4)
    a = pd.Series(rng.normal(0.001, 0.01, 300), idx)
    b = pd.Series(rng.normal(0.0, 0.01, 300), idx)
    shuffled = b.sample(frac=1.0, random_state=0)
    assert ev.sharpe_diff_ci(a, shuffled, reps=50).estimate == pytest.approx(
        ev.sharpe_diff_ci(a.to_numpy(), b.to_numpy(), reps=50).estimate)


def test_fast_scores_match_sklearn():
    rng = np.random.default_rng(9)
    y = (rng.random(400) < 0.3).astype(int)
    score = np.round(y * 0.4 + rng.random(400), 1)  # ties
    pred = (score > 0.6).astype(int)
    assert ev.roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), rel=1e-12)
    assert ev.f1(y, pred) == pytest.approx(f1_score(y, pred), rel=1e-12)
    assert ev.f1(np.zeros(5), np.zeros(5)) == f1_score(np.zeros(5), np.zeros(5), zero_division=0)


def test_score_diff_ci_detects_a_better_classifier_and_not_a_tie():
    rng = np.random.default_rng(6)
    y = (rng.random(1500) < 0.4).astype(int)
    good, bad = y * 0.8 + rng.random(1500), y * 0.2 + rng.random(1500)
    ci = ev.score_diff_ci(y, good, bad, "roc_auc", reps=300)
    assert ci.estimate == pytest.approx(roc_auc_score(y, good) - roc_auc_score(y, bad), rel=1e-12)
    assert ci.low > 0
    same = ev.score_diff_ci(y, good, good + 1e-9 * rng.random(1500), "roc_auc", reps=100)
    assert same.low <= 0 <= same.high


def test_decide_wording_follows_the_interval():
    assert ev.decide(ev.Interval(0.1, -0.1, 0.3), "A", "B").startswith("No evidence that A and B differ")
    assert ev.decide(ev.Interval(0.4, 0.1, 0.7), "a", "B").startswith("A beats B")
    assert ev.decide(ev.Interval(-0.4, -0.7, -0.1), "A", "B").startswith("A trails B")
    assert "+0.10 (95% CI -0.10 to +0.30)" in ev.decide(ev.Interval(0.1, -0.1, 0.3), "A", "B")


def test_autocorrelated_returns_get_blocks_and_a_wider_interval():
    # AR(1) with phi = 0.5: the variance of the mean is (1 + phi) / (1 - phi) = 3 times the i.i.d. one,
    # so an interval that respects the dependence is about sqrt(3) = 1.73 times wider.
    rng = np.random.default_rng(12)
    e = rng.normal(0, 0.01, 6000)
    x = np.empty_like(e)
    x[0] = e[0]
    for i in range(1, len(e)):
        x[i] = 0.5 * x[i - 1] + e[i]
    x += 0.0005
    auto = ev.sharpe_ci(x, reps=1000, seed=0)
    iid = ev.sharpe_ci(x, reps=1000, seed=0, block=1)
    assert auto.block > 3
    assert (auto.high - auto.low) / (iid.high - iid.low) == pytest.approx(np.sqrt(3), rel=0.2)
