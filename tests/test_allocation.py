"""Notebook 04's evaluation: min-variance path, estimator table, cost sweep, intervals, answer."""

from __future__ import annotations

from dataclasses import replace

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


REVIEW = {("signal-weighted", "equal weight"): T(-0.21, -0.57, 0.18, 0.3),
          ("signal-weighted", "min variance"): T(0.09, -0.6, 0.8, 0.9),
          ("signal-weighted", "inverse volatility"): T(-0.28, -0.67, 0.15, 0.2),
          ("sector rotation", "equal weight"): T(-0.32, -0.62, -0.03, 0.035),
          ("sector rotation", "min variance"): T(0.18, -0.41, 0.79, 0.6),
          ("sector rotation", "inverse volatility"): T(-0.25, -0.5, -0.01, 0.03)}


def test_holm_decides_what_the_unadjusted_interval_alone_would_not():
    """Review finding: -0.32 (95% CI -0.62 to -0.03) over six comparisons is no evidence after Holm."""
    from statsmodels.stats.multitest import multipletests

    rows = allocation._holm_comparisons(REVIEW, 0.05)
    expected = multipletests([t.pvalue for t in REVIEW.values()], method="holm")[1]  # an independent implementation
    np.testing.assert_allclose([c.p_adjusted for c in rows], expected)
    assert [c.what for c in rows][:2] == ["signal-weighted vs equal weight", "signal-weighted vs min variance"]
    assert rows[3].p_adjusted == pytest.approx(0.18)  # max(6 x 0.03, 5 x 0.035)
    assert all(c.decision == "no evidence" for c in rows)  # although two unadjusted intervals exclude zero
    assert rows[5].adjusted_level == pytest.approx(1 - 0.05 / 6)  # the smallest p-value's step
    # Holm rejects a p-value Bonferroni would not: 0.009 * 6 = 0.054 > 0.05, but it is first, and 0.01 * 5 = 0.05
    strong = dict(REVIEW) | {("sector rotation", "equal weight"): T(-0.32, -0.62, -0.03, 0.008),
                             ("sector rotation", "inverse volatility"): T(-0.25, -0.5, -0.01, 0.01)}
    rows = allocation._holm_comparisons(strong, 0.05)
    assert [c.decision for c in rows] == ["no evidence"] * 3 + ["below zero", "no evidence", "below zero"]
    assert allocation.verdict(rows) == "No: no ML strategy beats a benchmark"


def test_verdict_direction_and_headline():
    rows = allocation._holm_comparisons(REVIEW, 0.05)
    assert allocation.directions(rows) == ("all 4 gaps vs equal weight and inverse volatility are negative; "
                                           "both gaps vs min variance are positive")
    assert rows[allocation.deciding(rows)].what == "sector rotation vs inverse volatility"  # smallest p
    h = allocation.headline(rows)
    assert h == ("No: no ML strategy beats a benchmark on Sharpe (6 Holm-adjusted tests); all 4 gaps vs equal "
                 "weight and inverse volatility are negative; closest: sector rotation vs inverse volatility -0.25 "
                 "(95% CI -0.50 to -0.01, Holm-adjusted p 0.18).")
    # the verdict holds in both halves when no half has an ML strategy beating a benchmark
    assert allocation.headline([replace(c, halves=("no evidence", "below zero")) for c in rows]) == h
    split = [replace(c, halves=("no evidence", "above zero")) for c in rows]
    assert allocation.halves_verdicts(split) == ("No: no ML strategy beats a benchmark",
                                                 "Yes: signal-weighted and sector rotation beat every benchmark")
    assert allocation.headline(split).endswith("(95% CI -0.50 to -0.01, Holm-adjusted p 0.18). Not in both halves.")
    assert len(allocation.headline(split).split()) <= 40
    win = {("sector rotation", "equal weight"): T(0.5, 0.1, 0.9, 0.004),
           ("sector rotation", "min variance"): T(0.6, 0.2, 1.0, 0.002)}
    rows = allocation._holm_comparisons(win, 0.05)
    assert allocation.verdict(rows) == "Yes: sector rotation beats every benchmark"
    assert [c.p_adjusted for c in rows] == [pytest.approx(0.004)] * 2  # sorted: 2 x 0.002, then max(0.004, 0.004)
    mixed = {("sector rotation", "equal weight"): T(0.5, 0.1, 0.9, 0.001),
             ("sector rotation", "min variance"): T(-0.6, -1.0, -0.2, 0.002)}
    assert allocation.verdict(allocation._holm_comparisons(mixed, 0.05)).startswith("Only in part")


def test_pair_comparisons_keys_decisions_and_halves(rets):
    dates = rets.index[300::21]
    conv = CashConvention(cash_rate=rets["SHV"], cost_bps=5)
    w = {"ew": pd.DataFrame(1 / 3, index=dates, columns=["IEF", "SPY", "GLD"]),
         "spy": pd.DataFrame(1.0, index=dates, columns=["SPY"]),
         "gld": pd.DataFrame(1.0, index=dates, columns=["GLD"])}
    runs = allocation.run_all(rets, {k: v.reindex(columns=rets.columns, fill_value=0.0) for k, v in w.items()}, conv)
    rows = allocation.pair_comparisons(runs, ["spy", "gld"], ["ew"], reps=200)
    assert [c.what for c in rows] == ["spy vs ew", "gld vs ew"]
    d = rows[0].to_dict()
    assert {"what", "measure", "estimate", "low", "high", "level", "decision", "mde", "halves", "p_adjusted"} <= set(d)
    assert all(len(c.halves) == 2 and c.mde > 0 and c.p_adjusted >= c.p_value for c in rows)
    # the halves: the same Holm family on each half of the evaluated dates
    ex = {k: r.excess_returns.iloc[1:] for k, r in runs.items()}
    (a0, a1), (b0, b1) = allocation.cmp.split_halves(ex["spy"])
    first = allocation._holm_comparisons(allocation._family({k: v.loc[a0:a1] for k, v in ex.items()},
                                                            ["spy", "gld"], ["ew"], 0, 200), 0.05)
    assert [c.halves[0] for c in rows] == [c.decision for c in first]
    ic = allocation.ic_comparison(pd.Series(np.r_[np.full(20, 0.1), np.full(20, -0.02)] + np.tile([0.01, -0.01], 20),
                                            index=pd.bdate_range("2020-01-01", periods=40)))
    assert (ic.what, ic.decision, ic.halves) == ("ML forecasts", "above zero", ("above zero", "below zero"))


def test_conclusion_caveats_are_computed(rets):
    rows = allocation._holm_comparisons(REVIEW, 0.05)
    perf = pd.DataFrame({"volatility": [0.075, 0.032, 0.049]}, index=["equal weight", "min variance",
                                                                       "inverse volatility"])
    sk = pd.DataFrame({"hit rate": [0.59, 0.55, 0.50], "up share": [0.63, 0.50, 0.55]}, index=["SPY", "TLT", "GLD"])
    c = allocation.conclusion(rows, None, perf, CashConvention(cash_rate=0.02, cost_bps=5), 15.5, 186, 0.031, sk)
    text = " ".join(c["caveats"])
    assert "below 0.0083 (a 99.17% interval)" in text and "unadjusted 95% ones" in text
    assert "15.5 years (186 rebalances)" in text and "trades cost 5 bp per side" in text
    assert "min variance 3.2%, inverse volatility 4.9%, equal weight 7.5%" in text
    assert "average +0.031" in text and "SPY 0.59 vs 0.63, GLD 0.50 vs 0.55" in text
    assert c["deciding"] == 5 and c["verdict"].startswith("No") and c["question"] == allocation.QUESTION
    ic = allocation.cmp.Comparison("ML forecasts", "cross-sectional IC", 0.08, 0.01, 0.14, better=None,
                                   halves=("no evidence", "no evidence"))
    c = allocation.conclusion(rows, ic, perf, CashConvention(cash_rate=0.02, cost_bps=5), 15.5, 186)
    assert c["comparisons"][-1] is ic and len(c["comparisons"]) == 7
    assert any(x.startswith("Forecast skill: Cross-sectional IC of ML forecasts is above zero: +0.08")
               and "does not hold in both halves" in x for x in c["caveats"])


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


def test_weights_at_a_few_dates(rets):
    dates = rets.index[::100]
    t = {"x": pd.DataFrame(0.25, index=dates, columns=rets.columns),
         "y": pd.DataFrame(0.001, index=dates, columns=rets.columns)}
    table = allocation.weights_at(t, n_dates=3)
    assert table.shape == (6, 5)
    assert (table.loc["x", "cash"] == 0).all()
    assert (table.loc["y", "SPY"] == 0).all() and table.loc["y", "cash"].iloc[0] == pytest.approx(0.996)


@pytest.mark.parametrize("source", ["synthetic", "real"])
@pytest.mark.filterwarnings("ignore:series end on different dates")  # real files do; dropna() below cuts
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


@pytest.mark.parametrize("source", ["synthetic", "real"])
@pytest.mark.filterwarnings("ignore:series end on different dates")
def test_headline_within_40_words_with_an_interval_on_simulated_and_real_prices(source, request):
    """The study's conclusion end to end on both sources, a momentum signal standing in for the ML forecasts."""
    from helpers import signals

    folder = "synthetic" if source == "synthetic" else str(request.getfixturevalue("real_data"))
    assets = {"US Equities": ["SPY", "QQQ", "IWM"], "Fixed Income": ["TLT", "IEF", "SHV"],
              "Commodities": ["GLD", "DBC"], "Currencies": ["FXY", "UUP"]}
    prices, classes = signals.load_asset_classes(assets, source=folder)
    r = prices.dropna().pct_change().iloc[1:]
    conv = CashConvention(cash_rate=r["SHV"], cost_bps=5)
    sig = r.drop(columns="SHV").rolling(63).sum()
    dates = r.index[300::21]
    targets = signals.allocation_targets(r, sig, dates, classes, 252, cash_asset="SHV")
    runs = allocation.run_all(r, targets, conv)
    pairs = allocation.pair_comparisons(runs, signals.ML_STRATEGIES, ["equal weight", "min variance",
                                                                      "inverse volatility"], reps=200)
    c = allocation.conclusion(pairs, None, allocation.performance(runs), conv, 10.0, len(dates))
    assert len(c["headline"].split()) <= 40 and "(95% CI " in c["headline"]
    assert c["headline"].startswith(c["verdict"])
    assert all(p.halves is not None and p.p_adjusted is not None for p in c["comparisons"])
