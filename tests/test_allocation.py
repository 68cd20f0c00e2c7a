"""Notebook 04's evaluation: min-variance path, estimator table, cost sweep, intervals, answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import allocation
from helpers.backtest import CashConvention, run_backtest
from helpers.evidence import Interval
from helpers.testing import assert_no_lookahead


@pytest.fixture
def rets() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2018-01-01", periods=600)
    vols = np.array([0.0002, 0.004, 0.01, 0.013])
    corr = np.array([[1.0, 0.2, 0.0, 0.0], [0.2, 1.0, -0.2, 0.1], [0.0, -0.2, 1.0, 0.3], [0.0, 0.1, 0.3, 1.0]])
    z = rng.multivariate_normal(np.zeros(4), corr, size=len(idx)) * vols + np.array([0.00015, 0.0002, 0.0004, 0.0003])
    return pd.DataFrame(z, index=idx, columns=["SHV", "IEF", "SPY", "GLD"])


def test_min_variance_path_at_d_ignores_returns_after_d(rets):
    dates = rets.index[300::21]
    assert_no_lookahead(lambda r: allocation.min_variance_path(r, dates, 250, "lw_correlation"), rets,
                        cutoffs=dates[1:6], rtol=1e-6, atol=1e-8)


def test_estimator_table_shows_the_scaled_identity_misleading_min_variance(rets):
    dates = rets.index[300::21]
    conv = CashConvention(cash_rate=rets["SHV"], cost_bps=5)
    t = allocation.estimator_table(rets, dates, conv, ["sample", "ledoit_wolf", "lw_correlation"], 250)
    shv = t.loc["SHV realized", "realized vol"]
    assert shv == pytest.approx(rets.loc[dates[0]:, "SHV"].iloc[1:].std() * np.sqrt(252))
    # correlation shrinkage: near the least volatile asset and its own estimate; scaled identity: far above
    assert t.loc["Ledoit-Wolf on correlations", "realized vol"] < 1.1 * shv
    assert t.loc["Ledoit-Wolf on correlations", "SHV weight"] > 0.95
    assert t.loc["Ledoit-Wolf, scaled identity", "realized vol"] > 1.5 * shv
    assert t.loc["Ledoit-Wolf, scaled identity", "SHV vol, estimated"] > 5 * shv
    # what separates estimators that agree on the above: shrinkage intensity and weight turnover
    assert t.loc["sample", "shrinkage"] == 0.0
    assert 0 < t.loc["Ledoit-Wolf on correlations", "shrinkage"] < 1
    w, _ = allocation.min_variance_path(rets, dates, 250, "sample")
    turnover = np.mean([np.abs(w.iloc[i] - w.iloc[i - 1]).sum() / 2 for i in range(1, len(w))])
    assert t.loc["sample", "turnover"] == pytest.approx(turnover)
    text = allocation.estimator_sentence(t, "Ledoit-Wolf on correlations")
    assert f"{t.loc['Ledoit-Wolf on correlations', 'shrinkage']:.1%} on average" in text
    assert "close to the sample one" in text and "Ledoit-Wolf, scaled identity: SHV's volatility seen as" in text


def test_cost_sweep_zero_cost_is_gross_and_costs_lower_sharpe(rets):
    dates = rets.index[300::21]
    targets = {"alternating": pd.DataFrame([[0, 0.5, 0.5, 0] if i % 2 else [0, 0, 0.5, 0.5]
                                            for i in range(len(dates))], index=dates, columns=rets.columns,
                                           dtype=float)}
    conv = CashConvention(cash_rate=rets["SHV"], cost_bps=5)
    sweep = allocation.cost_sweep(rets, targets, conv, (0, 5, 20))
    gross = run_backtest(rets, targets["alternating"], CashConvention(cash_rate=rets["SHV"], cost_bps=0.0))
    excess = (gross.returns - rets["SHV"].loc[gross.returns.index]).iloc[1:]  # from the first day a return is earned
    assert sweep.loc["alternating", "0 bp"] == pytest.approx(excess.mean() / excess.std() * np.sqrt(252))
    assert sweep.loc["alternating", "0 bp"] > sweep.loc["alternating", "5 bp"] > sweep.loc["alternating", "20 bp"]
    perf = allocation.performance(allocation.run_all(rets, targets, conv))
    assert list(perf.columns) == ["sharpe", "volatility", "cagr", "max_drawdown", "turnover"]
    # half the book switches at each rebalance after the first: one-way turnover about 0.5 each time
    years = (len(gross.returns) - 1) / 252
    assert perf.loc["alternating", "turnover"] == pytest.approx(0.5 * (len(dates) - 1) / years, rel=0.05)


def T(est, low, high, p):  # noqa: N802 - a paired test in one line
    return allocation.PairedTest(Interval(est, low, high), p)


def test_answer_says_no_evidence_when_intervals_span_zero_and_a_difference_when_not():
    wide = {("signal-weighted", "equal weight"): T(0.1, -0.2, 0.4, 0.5),
            ("signal-weighted", "min variance"): T(0.3, -0.1, 0.7, 0.2)}
    text = allocation.answer_text(wide, 15.5, 5)
    assert "15.5 years" in text and "5 bp" in text and "2 comparisons" in text and "Holm-adjusted 5% level" in text
    assert text.count("No evidence that signal-weighted and") == 2
    assert "No: no ML strategy beats any" in text
    win = {("sector rotation", "equal weight"): T(0.5, 0.1, 0.9, 0.004),
           ("sector rotation", "min variance"): T(0.6, 0.2, 1.0, 0.002)}
    text = allocation.answer_text(win, 10, 5)
    assert "Sector rotation beats equal weight" in text and "Yes: sector rotation beats every benchmark." in text
    assert text.count("Holm-adjusted p = 0.004") == 2  # sorted: 2 x 0.002 = 0.004, then max(0.004, 1 x 0.004)
    mixed = {("sector rotation", "equal weight"): T(0.5, 0.1, 0.9, 0.001),
             ("sector rotation", "min variance"): T(-0.6, -1.0, -0.2, 0.002)}
    text = allocation.answer_text(mixed, 10, 5)
    assert "Only in part" in text and ". Sector rotation trails min variance." in text  # a sentence starts upper case


def test_holm_decides_what_the_unadjusted_interval_alone_would_not():
    """Review finding: -0.32 (95% CI -0.62 to -0.03) over six comparisons is no evidence after Holm."""
    from statsmodels.stats.multitest import multipletests

    p = {("sector rotation", "equal weight"): 0.035, ("sector rotation", "inverse volatility"): 0.03,
         ("sector rotation", "min variance"): 0.6, ("signal-weighted", "equal weight"): 0.3,
         ("signal-weighted", "inverse volatility"): 0.2, ("signal-weighted", "min variance"): 0.9}
    adj = allocation.holm(p)
    expected = multipletests(list(p.values()), method="holm")[1]  # an independent implementation
    np.testing.assert_allclose(list(adj.values()), expected)
    assert adj[("sector rotation", "inverse volatility")] == pytest.approx(0.18)  # 6 x 0.03
    assert adj[("sector rotation", "equal weight")] == pytest.approx(0.18)  # max(0.18, 5 x 0.035)
    ints = {("sector rotation", "equal weight"): Interval(-0.32, -0.62, -0.03),
            ("sector rotation", "inverse volatility"): Interval(-0.33, -0.61, -0.04)}
    tests = {k: allocation.PairedTest(ints.get(k, Interval(0.1, -0.3, 0.5)), v) for k, v in p.items()}
    text = allocation.answer_text(tests, 15.5, 5)
    assert "6 comparisons" in text
    assert ("No evidence that sector rotation and equal weight differ in Sharpe ratio: the difference is -0.32 "
            "(95% CI -0.62 to -0.03, unadjusted; Holm-adjusted p = 0.180); the unadjusted interval excludes zero, "
            "but not at the level adjusted for 6 comparisons.") in text
    assert "trails" not in text and "No: no ML strategy beats any" in text
    # Holm rejects a p-value Bonferroni would not: 0.009 * 6 = 0.054 > 0.05, but it is first, and 0.01 * 5 = 0.05
    strong = dict(p) | {("sector rotation", "equal weight"): 0.008, ("sector rotation", "inverse volatility"): 0.01}
    tests = {k: allocation.PairedTest(ints.get(k, Interval(0.1, -0.3, 0.5)), v) for k, v in strong.items()}
    text = allocation.answer_text(tests, 15.5, 5)
    assert "Sector rotation trails equal weight on Sharpe ratio" in text
    assert "Sector rotation trails inverse volatility on Sharpe ratio" in text
    assert "Sector rotation trails equal weight, inverse volatility." in text


def test_paired_test_p_value_agrees_with_the_interval(rets):
    """Same draws as evidence.sharpe_diff_ci: p < 0.05 exactly when the 95% interval excludes zero."""
    from helpers import evidence

    a, b = rets["SPY"] - rets["SHV"], rets["IEF"] - rets["SHV"]
    for x, y in [(a, b), (a + 0.002, b), (a, a * 0.5 + 0.0005)]:
        t = allocation.paired_sharpe_test(x, y, reps=400)
        ci = evidence.sharpe_diff_ci(x, y, reps=400)
        assert (t.interval.low, t.interval.high) == (ci.low, ci.high)
        assert (t.pvalue < 0.05) == ci.excludes_zero()
    assert allocation.paired_sharpe_test(a + 0.002, b, reps=400).pvalue < 0.01
    assert allocation.paired_sharpe_test(a, a, reps=200).pvalue == 1.0  # every draw is exactly 0


def test_skill_sentences_name_ranking_skill_and_hit_rates_below_always_up():
    sk = pd.DataFrame({"hit rate": [0.59, 0.55, 0.50], "up share": [0.63, 0.50, 0.55]}, index=["SPY", "TLT", "GLD"])
    s = allocation.skill_sentences(Interval(0.08, 0.01, 0.15), sk, 21)
    assert "+0.08 (95% CI +0.01 to +0.15), above zero, but this ranking skill does not reach" in s[0]
    assert "21-day" in s[0]
    assert s[1] == ("2 of 3 assets have a hit rate below the always-up rate (share of positive excess returns): "
                    "SPY 0.59 vs 0.63, GLD 0.50 vs 0.55.")
    assert "no evidence of ranking skill" in allocation.skill_sentences(Interval(0.02, -0.05, 0.09))[0]
    text = allocation.answer_text({("a", "b"): T(0.1, -0.2, 0.4, 0.5)}, 10, 5, ranking=Interval(0.08, 0.01, 0.15))
    assert text.splitlines()[-1].startswith("Ranking skill")


def test_weights_at_a_few_dates(rets):
    dates = rets.index[::100]
    t = {"x": pd.DataFrame(0.25, index=dates, columns=rets.columns),
         "y": pd.DataFrame(0.001, index=dates, columns=rets.columns)}
    table = allocation.weights_at(t, n_dates=3)
    assert table.shape == (6, 5)
    assert (table.loc["x", "cash"] == 0).all()
    assert (table.loc["y", "SPY"] == 0).all() and table.loc["y", "cash"].iloc[0] == pytest.approx(0.996)


@pytest.mark.parametrize("source", ["synthetic", "real"])
@pytest.mark.filterwarnings("ignore:series end on different dates:UserWarning")  # ragged ends dropped below
def test_min_variance_is_not_more_volatile_than_the_t_bill_fund(source, request):
    """Done-means of issue 19: with a near-cash asset, realized min-variance volatility <= that asset's."""
    from helpers.data import load_prices

    folder = "synthetic" if source == "synthetic" else str(request.getfixturevalue("real_data"))
    tickers = ["SPY", "QQQ", "IWM", "TLT", "IEF", "SHV", "GLD", "DBC", "FXY", "UUP"]
    prices = load_prices(tickers, source=folder).dropna()
    r = prices.pct_change().iloc[1:]
    dates = r.index[836::21]  # the notebook's first rebalance: features (60) + training window (756) + 21
    w, ex_ante = allocation.min_variance_path(r, dates, 756, "lw_correlation")
    res = run_backtest(r, w, CashConvention(cash_rate=r["SHV"], cost_bps=5))
    vol = allocation.performance({"mv": res}).loc["mv", "volatility"]
    live = r.loc[dates[0]:].iloc[1:]
    assert allocation.evaluated(res)[0].index.equals(live.index)
    assert live.index[-1] - live.index[0] > pd.Timedelta(days=3650)
    assert vol <= live.std().min() * np.sqrt(252)
