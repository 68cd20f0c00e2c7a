"""Notebook 02's dollar book and verdict: hand-computed trades, the shared engine as a cross-check,
no look-ahead in positions, per-trade edge and cost, and the comparisons, verdict and headline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from helpers import grid as G
from helpers import pairbook as B
from helpers import pairs as P
from helpers import pairverdict as V
from helpers.backtest import CashConvention, run_backtest
from helpers.comparison import Comparison
from helpers.data import load_prices
from helpers.evidence import Interval
from helpers.testing import assert_no_lookahead

FREE = CashConvention(cash_rate=0.0, financing_spread=0.0, borrow_fee=0.0, cost_bps=0.0)


def test_leg_weights_are_the_hedge_ratio_in_dollars():
    np.testing.assert_allclose(B.leg_weights(1.0), [0.5, -0.5])
    np.testing.assert_allclose(B.leg_weights(3.0), [0.25, -0.75])


def test_trades_never_overlap_and_bet_on_reversion():
    idx = pd.bdate_range("2021-01-04", periods=10)
    z = pd.Series([2.0, 2.0, 2.0, 0.0, -1.5, -3.0, 0.5, 2.0, 2.0, 2.0], index=idx)
    go = pd.Series(True, index=idx).mask(idx == idx[4], False)
    t = B.plan_trades(z, go, entry_z=1.0, holding_period=2)
    # day 0 opens (short the spread), closes day 2; day 3 no signal; day 4 blocked by the filter;
    # day 5 opens long, closes day 7; day 8 opens, closes on the last day (9)
    assert list(t["entry"]) == [idx[0], idx[5], idx[8]] and list(t["exit"]) == [idx[2], idx[7], idx[9]]
    assert list(t["side"]) == [-1, 1, -1]


def test_a_trade_by_hand_costs_on_the_notional_of_each_leg():
    idx = pd.bdate_range("2021-01-04", periods=3)
    prices = pd.DataFrame({"A": [100.0, 150.0, 200.0], "B": [50.0, 50.0, 40.0]}, index=idx)
    trades = pd.DataFrame({"entry": [idx[0]], "exit": [idx[2]], "side": [1], "z": [-2.0]})
    conv = CashConvention(cash_rate=0.0, financing_spread=0.0, borrow_fee=0.0, cost_bps=10.0)
    pb = B.run_pair(prices, trades, beta=1.0, notional=1000.0, capital=1000.0, convention=conv)
    # long the spread: $500 of A (5 shares) against -$500 of B (-10 shares)
    assert pb.trades["shares_a"].iat[0] == pytest.approx(5.0) and pb.trades["shares_b"].iat[0] == pytest.approx(-10.0)
    assert pb.trades["dollars_a"].iat[0] == pytest.approx(500.0) and pb.trades["dollars_b"].iat[0] == pytest.approx(-500.0)
    # entry trades $1000 of notional; exit trades 5 x 200 + 10 x 40 = $1400
    np.testing.assert_allclose(pb.daily["traded"], [1000.0, 0.0, 1400.0])
    np.testing.assert_allclose(pb.daily["costs"], [1.0, 0.0, 1.4])
    price_pnl = 5 * (200 - 100) - 10 * (40 - 50)
    assert pb.trades["pnl"].iat[0] == pytest.approx(price_pnl - 2.4)
    assert pb.daily["equity"].iat[-1] == pytest.approx(1000.0 + price_pnl - 2.4)
    np.testing.assert_allclose(pb.daily[["shares_a", "shares_b"]].iloc[-1], [0.0, 0.0])


@pytest.mark.parametrize("daily_cash", [False, True])
def test_one_pair_matches_the_shared_engine(daily_cash):
    rng = np.random.default_rng(3)
    idx = pd.bdate_range("2021-01-04", periods=40)
    prices = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.03, (40, 2)), axis=0)) * [80.0, 30.0], idx, ["A", "B"])
    beta, capital = 1.3, 10_000.0
    trades = pd.DataFrame({"entry": [idx[0]], "exit": [idx[25]], "side": [-1], "z": [1.5]})
    # a T-bill fund's daily return (as cash_rate="SHV" gives), covering only part of the dates: the rest
    # earn the fallback rate
    cash = pd.Series(rng.uniform(0, 4e-4, 30), index=idx[5:35]) if daily_cash else 0.03
    conv = CashConvention(cash_rate=cash, financing_spread=0.02, borrow_fee=0.04, cost_bps=20.0)
    pb = B.run_pair(prices, trades, beta, capital, capital, conv)
    targets = pd.DataFrame([-B.leg_weights(beta), [0.0, 0.0]], index=[idx[0], idx[25]], columns=["A", "B"])
    ref = run_backtest(prices.pct_change(), targets, conv, initial_capital=capital)
    np.testing.assert_allclose(pb.daily["equity"], ref.equity, rtol=1e-12)
    np.testing.assert_allclose(pb.daily["costs"], ref.costs, rtol=1e-12)
    np.testing.assert_allclose(pb.daily["borrow"], ref.borrow, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pb.daily["interest"], ref.interest, rtol=1e-12, atol=1e-12)
    if daily_cash:  # the cash leg after the trade earns exactly the series' return on those days
        d = idx[30]
        assert pb.daily["interest"].loc[d] == pytest.approx(pb.daily["cash"].shift().loc[d] * cash.loc[d], rel=1e-12)


def test_book_adds_pairs_and_reports_excess_dollars():
    idx = pd.bdate_range("2021-01-04", periods=30)
    prices = pd.DataFrame({"A": np.linspace(100, 110, 30), "B": np.linspace(50, 52, 30)}, index=idx)
    conv = CashConvention(cash_rate=0.02, financing_spread=0.01, borrow_fee=0.005, cost_bps=5.0)
    idle = B.run_pair(prices, B.plan_trades(pd.Series(0.0, idx), pd.Series(True, idx), 1.0, 5), 1.0, 1e5, 1e5, conv)
    busy = B.run_pair(prices, pd.DataFrame({"entry": [idx[2]], "exit": [idx[9]], "side": [1], "z": [-2.0]}),
                      1.0, 1e5, 1e5, conv)
    book = B.run_book({"idle": idle, "busy": busy}, idx, conv)
    np.testing.assert_allclose(book.equity, idle.daily["equity"] + busy.daily["equity"])
    table = B.book_summary(book)
    assert table.loc["idle", "trades"] == 0 and table.loc["idle", "over cash $"] == pytest.approx(0.0, abs=1e-6)
    assert table.loc["book", "costs $"] == pytest.approx(busy.daily["costs"].sum())
    assert table.loc["book", "over cash $"] == pytest.approx(table.loc["busy", "over cash $"], rel=1e-9)
    empty = B.run_book({}, idx, conv, cash_capital=1e5)
    assert B.book_summary(empty).loc["book", "over cash $"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("filt", ["|z| rule", "LSTM", "logistic"])
def test_positions_have_no_lookahead(filt):
    """Every book's positions, unfiltered or filtered by a fixed trained LSTM or the logistic regression
    (fitted on training rows, which the perturbation leaves alone), use prices up to the decision only."""
    prices = load_prices(["TLT", "SPTL"], start="2014-01-01", source="synthetic")
    split = dict(train_start="2015-01-01", train_end="2019-12-31", test_start="2020-01-02", test_end="2024-12-31",
                 validation_fraction=0.2, label_window=5, label_threshold=0.5)
    pair0 = P.prepare_pair(prices, "TLT", "SPTL", **split)
    cfg = G.expand({"hidden_size": [4], "learning_rate": [0.01], "window_size": [3], "epochs": [2],
                    "batch_size": [64], "num_layers": [1]})
    table, models = G.search({pair0.name: pair0}, cfg, seed=0, n_jobs=1)
    model, threshold = models[(pair0.name, 0)], float(table["threshold"].iat[0])  # fixed from here on

    def go_of(pair):
        if filt == "LSTM":
            return G.test_scores(pair, model) > threshold
        if filt == "logistic":
            scores, thr = P.baselines(pair)["logistic regression"]
            return pd.Series(scores > thr, index=pair.test)
        return pd.Series(True, index=pair.test)

    def positions(p):
        pair = P.prepare_pair(p, "TLT", "SPTL", **split)
        book = B.trade_book(p, {pair.name: pair}, {pair.name: go_of(pair)}, 1.0, 5, 1e5, CashConvention())
        return book.pairs[pair.name].daily[["shares_a", "shares_b"]]

    if filt != "|z| rule":  # the filter blocks some signals, so the test covers its decisions
        pair = P.prepare_pair(prices, "TLT", "SPTL", **split)
        assert 0 < go_of(pair).mean() < 1
    assert_no_lookahead(positions, prices[["TLT", "SPTL"]],
                        cutoffs=["2020-06-15", "2022-03-01", "2024-01-10"])


# --------------------------------------------------------------------------- verdict


def test_score_intervals_estimates_match_sklearn():
    rng = np.random.default_rng(0)
    y = {k: rng.integers(0, 2, 200).astype(float) for k in ("p1", "p2")}
    models = {m: {k: V.Scored(rng.uniform(size=200), 0.5) for k in y} for m in ("a", "b")}
    ci = V.score_intervals(y, models, "a", "b", reps=50)
    yy = np.concatenate(list(y.values()))
    sa = np.concatenate([models["a"][k].scores for k in y])
    sb = np.concatenate([models["b"][k].scores for k in y])
    f1 = f1_score(yy, sa > 0.5) - f1_score(yy, sb > 0.5)
    assert ci.loc["pooled", "F1"].estimate == pytest.approx(f1)
    assert ci.loc["pooled", "ROC AUC"].estimate == pytest.approx(roc_auc_score(yy, sa) - roc_auc_score(yy, sb))
    assert ci.loc["p1", "F1"].estimate == pytest.approx(f1_score(y["p1"], models["a"]["p1"].scores > 0.5)
                                                       - f1_score(y["p1"], models["b"]["p1"].scores > 0.5))


def test_pooled_bootstrap_resamples_dates_with_every_pairs_rows():
    d1 = pd.bdate_range("2021-01-04", periods=30)
    d2 = d1[5:]  # the second pair starts later
    rows_date = np.concatenate([d1, d2])
    rows_pair = np.array([0] * len(d1) + [1] * len(d2))
    for rows in V.date_resamples([d1, d2], reps=20, seed=1, block=4.0):
        drawn = pd.Series(1, index=pd.MultiIndex.from_arrays([rows_date[rows], rows_pair[rows]])).groupby(
            level=[0, 1]).sum().unstack(fill_value=0)
        both = drawn.index.isin(d2)
        assert (drawn.loc[both, 0] == drawn.loc[both, 1]).all()  # a drawn date brings both pairs' rows
        assert (drawn.loc[~both, 1] == 0).all()
        assert len(rows) == drawn.to_numpy().sum() and drawn[0].sum() == len(d1)  # one draw per union date
    # the same dates in every replicate of a seeded run, and blocks of consecutive dates
    first = next(V.date_resamples([d1, d2], reps=1, seed=1, block=10.0))
    again = next(V.date_resamples([d1, d2], reps=1, seed=1, block=10.0))
    np.testing.assert_array_equal(first, again)
    pos = d1.get_indexer(rows_date[first][rows_pair[first] == 0])
    assert np.mean(np.diff(pos) == 1) > 0.7


def test_money_words():
    assert V.usd(-23372.4) == "-$23,372" and V.usd(1000, signed=True) == "+$1,000" and V.usd(5) == "$5"
    assert V.made(-23372.4) == "lost $23,372" and V.made(1.0) == "made $1"


def test_trade_economics_of_a_hand_computed_trade():
    idx = pd.bdate_range("2021-01-04", periods=3)
    prices = pd.DataFrame({"A": [100.0, 150.0, 200.0], "B": [50.0, 50.0, 40.0]}, index=idx)
    trades = pd.DataFrame({"entry": [idx[0]], "exit": [idx[2]], "side": [1], "z": [-2.0]})
    fee = 0.0252
    conv = CashConvention(cash_rate=0.0, financing_spread=0.0, borrow_fee=fee, cost_bps=10.0)
    pb = B.run_pair(prices, trades, beta=1.0, notional=1000.0, capital=1000.0, convention=conv)
    book = B.run_book({"p": pb}, idx, conv)
    # long 5 A, short 10 B: price P/L 5 x 100 + 10 x 10 = $600 on $1,000 of gross notional;
    # costs 10 bp of $1,000 at entry and of $1,400 at exit; borrow on the $500 short for two days
    daily_fee = (1 + fee) ** (1 / 252) - 1
    borrow = 2 * 500 * daily_fee
    assert pb.trades["gross"].iat[0] == pytest.approx(600.0)
    assert pb.trades["costs"].iat[0] == pytest.approx(2.4)
    assert pb.trades["borrow"].iat[0] == pytest.approx(borrow)
    e = B.trade_economics(book)
    assert e["trades"] == 1 and e["notional_per_trade"] == pytest.approx(1000.0)
    assert e["edge_per_trade_bps"] == pytest.approx(6000.0)
    assert e["cost_per_trade_bps"] == pytest.approx((2.4 + borrow) / 1000 * 1e4)
    assert e["pnl_per_trade"] == pytest.approx(600.0 - 2.4 - borrow)
    empty = B.trade_economics(B.run_book({}, idx, conv, cash_capital=1000.0))
    assert empty["trades"] == 0 and np.isnan(empty["edge_per_trade_bps"])


def _cmp(est, low, high, what="LSTM vs |z| rule", measure="ROC AUC (pooled)", halves=None):
    return Comparison(what, measure, est, low, high, digits=3, halves=halves)


def test_verdict_picks_the_comparison_that_decides():
    same, up, down = (0.01, -0.02, 0.04), (0.05, 0.02, 0.08), (-0.05, -0.08, -0.02)
    no = [_cmp(*same), _cmp(*down), _cmp(*same), _cmp(*same), _cmp(*up), _cmp(*up)]
    words, k = V.verdict(no)
    assert words.startswith("No:") and k == 1  # the first score the LSTM trails
    words, k = V.verdict([_cmp(*same)] * 4)
    assert words.startswith("No:") and k == 0  # nothing trails: the first it does not beat
    words, k = V.verdict([_cmp(*up)] * 4 + [_cmp(*up), _cmp(*same)])
    assert words.startswith("Partly:") and k == 5
    words, k = V.verdict([_cmp(*up)] * 6)
    assert words.startswith("Yes:") and k == 4


def test_headline_carries_the_figure_halves_and_costs():
    econ = {"trades": 445, "edge_per_trade_bps": 0.4, "cost_per_trade_bps": 10.5}
    c = _cmp(-0.033, -0.054, -0.014, halves=("below zero", "no evidence"))
    text = V.headline("No: the LSTM does not beat the simple rules", c, econ)
    assert "LSTM minus |z| rule, ROC AUC (pooled): -0.033 (95% CI -0.054 to -0.014)" in text
    assert "Holds in the first half only." in text
    assert "Per LSTM trade: +0.4 bp gross edge vs 10.5 bp costs" in text and len(text.split()) <= 40
    both = V.headline("No", _cmp(-0.033, -0.054, -0.014, halves=("no evidence", "above zero")), econ)
    assert "Holds in neither half." in both
    held = V.headline("No: the LSTM does not beat the simple rules", _cmp(-0.033, -0.054, -0.014,
                                                                          halves=("below zero",) * 2), None)
    assert "half" not in held and "bp" not in held and "nothing traded" in held
    idle = V.headline("No", c, {"trades": 0, "edge_per_trade_bps": float("nan"), "cost_per_trade_bps": float("nan")})
    assert "let no trade through" in idle


def test_trades_less_splits_the_gap_into_count_and_per_trade():
    econ = {"LSTM": {"trades": 208, "pnl_per_trade": -98.0}, "|z| rule": {"trades": 300, "pnl_per_trade": -101.0}}
    because, text = V.trades_less(econ)
    # gap 208 x -98 - 300 x -101 = +9,916: (208 - 300) x -101 = +9,292 from trading less, 208 x 3 = +624 per trade
    assert because and "+$9,916" in text and "+$9,292 from trading less" in text and "+$624 from P/L per trade" in text
    assert "mostly because it trades less" in text
    econ["LSTM"] = {"trades": 290, "pnl_per_trade": -60.0}
    because, text = V.trades_less(econ)
    assert not because and "mostly because its trades are better" in text
    econ["LSTM"] = {"trades": 250, "pnl_per_trade": -200.0}
    because, text = V.trades_less(econ)
    assert not because and "from trading less" in text and "does worse, mostly because its trades are worse" in text


def test_book_story_states_edge_cost_and_the_sharpe_arithmetic():
    e = {"LSTM": {"trades": 208, "edge_per_trade_bps": 0.68, "cost_per_trade_bps": 10.49, "notional_per_trade": 1e5,
                  "sharpe_before_costs": 0.25, "sharpe_after_costs": -7.22, "costs_per_year": 0.0437,
                  "volatility": 0.006}}
    text = V.book_story(e, 5.0)
    assert "+0.7 bp" in text and "(+$7 on $100,000)" in text and "10.5 bp ($105: 5 bp per side" in text
    assert "+0.25 before costs and -7.22 after" in text and "4.4% of capital a year against a volatility of 0.6%" in text


def test_pair_count_leaves_incomparable_pairs_out():
    per_pair = pd.Series({"p1": Interval(0.19, 0.13, 0.25), "p3": Interval(-0.1, -0.2, -0.05)})
    text = V.pair_count_note(per_pair, ["p3"])
    assert "on the 1 pair(s)" in text and "beats the |z| rule in 1, trails it in 0" in text and "Left out" in text
    assert "beats the |z| rule in 1, trails it in 1" in V.pair_count_note(per_pair)
    assert "no pair-by-pair count" in V.pair_count_note(per_pair, ["p1", "p3"])


def test_score_comparisons_with_halves_on_small_data():
    rng = np.random.default_rng(0)
    dates = {n: pd.bdate_range("2021-01-04", periods=120) for n in ("p1", "p2")}
    y = {n: (rng.uniform(size=120) < 0.5).astype(float) for n in dates}
    # model "a" knows the label in the first half only; "b" is noise throughout
    a = {n: np.where(np.arange(120) < 60, y[n] * 0.8 + 0.1, rng.uniform(size=120)) for n in y}
    models = {"a": {n: V.Scored(a[n], 0.5) for n in y}, "b": {n: V.Scored(rng.uniform(size=120), 0.5) for n in y}}
    ci = V.score_intervals(y, models, "a", "b", reps=200, dates=dates)
    rows = V.score_comparisons(y, models, "a", "b", ci.loc["pooled"], dates, reps=200, names=("LSTM", "|z| rule"))
    assert [(c.what, c.measure) for c in rows] == [("LSTM vs |z| rule", "F1 (pooled)"),
                                                   ("LSTM vs |z| rule", "ROC AUC (pooled)")]
    for c in rows:
        assert c.decision == "above zero" and c.halves[0] == "above zero" and c.halves[1] != "above zero"
        assert c.holds_in_halves is False and c.mde > 0
        d = c.to_dict()
        assert {"what", "measure", "estimate", "low", "high", "level", "decision", "mde", "halves"} <= set(d)


def test_sharpe_comparison_decides_each_half():
    idx = pd.bdate_range("2021-01-04", periods=400)
    rng = np.random.default_rng(1)
    noise = pd.Series(rng.normal(0, 0.01, 400), idx)
    a = noise + np.where(np.arange(400) < 200, 0.004, -0.004)
    c = V.sharpe_comparison(a, noise, "LSTM book vs |z| book", "Sharpe ratio", reps=200)
    assert c.halves == ("above zero", "below zero") and c.holds_in_halves is False
    cash = V.sharpe_comparison(a, None, "LSTM book", "Sharpe ratio over cash", reps=200)
    assert cash.halves == ("above zero", "below zero")
    flat = V.sharpe_comparison(pd.Series(0.0, idx), noise, "LSTM book vs |z| book", "Sharpe ratio", reps=50)
    assert flat.decision == "too little data"
