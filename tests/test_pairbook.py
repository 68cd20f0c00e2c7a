"""Notebook 02's dollar book and verdict: hand-computed trades, the shared engine as a cross-check,
no look-ahead in positions, and the computed answer's wording."""

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


def _answer(f1: Interval, sharpe: Interval, cash: Interval | None = None, traded=("p1",), **kw) -> str:
    ci = pd.DataFrame({"F1": [f1, f1, f1], "ROC AUC": [f1, f1, f1]}, index=["p1", "p3", "pooled"])
    books = pd.DataFrame({"over cash $": [1000.0, -500.0, 0.0], "Sharpe": [0.5, -0.2, 0.0]},
                         index=["LSTM", "|z| rule", "logistic"])
    cash = cash or Interval(-2.0, -3.0, -1.0)
    vs_cash = {k: cash for k in books.index}
    before = {"LSTM": 23407.0, "|z| rule": 26716.0, "logistic": 25308.0}
    return V.answer_text(ci, ci, books, sharpe, sharpe, list(traded), ["p2"], vs_cash=vs_cash, before_costs=before,
                         **kw)


def test_answer_compares_every_book_with_cash():
    text = _answer(Interval(0.01, -0.02, 0.04), Interval(0.1, -0.3, 0.5), flagged_over_cash=-15000.0,
                   period="2020-01-02 to 2024-12-23")
    assert "No book beats cash after costs: every book's Sharpe ratio in excess of cash has a 95% interval below zero" in text
    assert "Before costs (cost_bps = 0) the books' P/L over cash was LSTM +$23,407, |z| rule +$26,716" in text
    assert "gross edge is smaller than their costs" in text
    assert "trading every |z| signal lost $500 over cash" in text and "95% CI -3.00 to -1.00" in text
    assert "$-" not in text and "made $-" not in text
    assert "(2020-01-02 to 2024-12-23)" in text
    assert "would have lost $15,000 over cash" in text and "Not cointegrated (Engle-Granger with constant and trend" in text
    assert "1 of 2 pairs pass at the 5% level" in text
    assert "a single pair" in text and "a single pair" not in _answer(Interval(0.01, -0.02, 0.04),
                                                                      Interval(0.1, -0.3, 0.5), traded=("p1", "p3"))
    spans = _answer(Interval(0.01, -0.02, 0.04), Interval(0.1, -0.3, 0.5), cash=Interval(0.1, -0.5, 0.7))
    assert "no book's Sharpe ratio in excess of cash has a 95% interval above zero" in spans
    assert "gross edge" not in spans
    beats = _answer(Interval(0.01, -0.02, 0.04), Interval(0.1, -0.3, 0.5), cash=Interval(1.0, 0.5, 1.5))
    assert "After costs, LSTM, |z| rule, logistic beat cash" in beats


def test_answer_leaves_incomparable_pairs_out_of_the_count():
    text = _answer(Interval(0.19, 0.13, 0.25), Interval(0.1, -0.3, 0.5), not_comparable=["p3"])
    assert "on the 1 pair(s) whose reversion rates are comparable across splits, the LSTM's F1 beats the |z| rule in 1" in text
    assert "excluded from that count: p3" in text
    none = _answer(Interval(0.19, 0.13, 0.25), Interval(0.1, -0.3, 0.5), not_comparable=["p1", "p3"])
    assert "no pair-by-pair count is made" in none and "beats the |z| rule in" not in none
    full = _answer(Interval(0.19, 0.13, 0.25), Interval(0.1, -0.3, 0.5))
    assert "beats the |z| rule in 2" in full and "excluded" not in full


def test_answer_says_no_evidence_when_intervals_span_zero():
    text = _answer(Interval(0.01, -0.02, 0.04), Interval(0.1, -0.3, 0.5))
    assert "No evidence that the LSTM and the |z| rule differ in F1" in text
    assert "No evidence that the LSTM-filtered book and the unfiltered |z| book differ in Sharpe" in text
    assert "Verdict: no evidence that the LSTM beats" in text and "p2" in text


def test_answer_states_a_difference_when_intervals_exclude_zero():
    text = _answer(Interval(-0.05, -0.08, -0.02), Interval(-0.6, -0.9, -0.3))
    assert "The LSTM trails the |z| rule on F1" in text and "trails it in 2" in text
    assert "The LSTM-filtered book trails the unfiltered |z| book on Sharpe ratio" in text
    won = _answer(Interval(0.05, 0.02, 0.08), Interval(0.6, 0.3, 0.9))
    assert "Verdict: yes" in won.lower() or "Yes: the LSTM beats" in won
