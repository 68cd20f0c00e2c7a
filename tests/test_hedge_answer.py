"""Notebook 03's capital (the basket plus the margin on the short, the rule notebook 01 uses),
its answer as data (comparisons, decisions, halves), computed caveats, and the headline's
length on the simulated market and on real prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import comparison as cmp
from helpers import hedge, hedge_study
from helpers.backtest import CashConvention
from helpers.metrics import per_period_rate

MARGIN = CashConvention(cash_rate=0.04, financing_spread=0.01, borrow_fee=0.005, cost_bps=0.0, short_margin=0.5)


def market(n=600, seed=3, k=3, alpha=0.0):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2019-01-01", periods=n)
    bench = pd.Series(rng.normal(0.0003, 0.01, n), index=idx, name="QQQ")
    rets = pd.DataFrame({f"S{i}": alpha + (1 + 0.3 * i) * bench + rng.normal(0, 0.01, n) for i in range(k)},
                        index=idx)
    return rets, bench


def test_capital_fractions_by_hand():
    assert hedge.capital_fractions(1.0, 1.2, MARGIN) == pytest.approx((1 / 1.6, 1.2 / 1.6))
    assert hedge.capital_fractions(0.0, -1.0, MARGIN) == pytest.approx((0.0, -1.0))  # long the benchmark alone
    assert hedge.capital_fractions(1.0, 0.0, MARGIN) == pytest.approx((1.0, 0.0))
    no_margin = CashConvention(0.04, 0.01, 0.005, 0.0)
    assert hedge.capital_fractions(1.0, 1.2, no_margin) == pytest.approx((1.0, 1.2))
    h = pd.Series([1.0, 2.0], index=pd.bdate_range("2024-01-01", periods=2))
    long, short = hedge.capital_fractions(1.0, h, MARGIN)
    np.testing.assert_allclose(long, [1 / 1.5, 1 / 2.0])
    np.testing.assert_allclose(short, [1 / 1.5, 2 / 2.0])


def test_hedged_book_return_on_capital_with_margin_by_hand():
    # one stock, hedge ratio 1.2, capital 1: basket 1/1.6 long, QQQ 1.2/1.6 short, cash the rest
    idx = pd.bdate_range("2024-01-01", periods=2)
    rets = pd.DataFrame({"A": [0.0, 0.02]}, index=idx)
    bench = pd.Series([0.0, 0.01], index=idx, name="QQQ")
    w = pd.DataFrame({"A": [1.0, 1.0]}, index=idx)
    res = hedge.run_book(rets, bench, w, idx, 1.0, 1.2, MARGIN, 1.0)
    long, short = 1 / 1.6, 1.2 / 1.6
    cash = 1 - long + short  # the short's proceeds plus the margin, both in cash
    expected = long * 0.02 - short * 0.01 + cash * per_period_rate(0.04) - short * per_period_rate(0.005)
    assert res.weights.iloc[0].tolist() == pytest.approx([long, -short])
    assert res.returns.iloc[1] == pytest.approx(expected, rel=1e-12)
    # without margin the same book is 100% basket: a larger return on a smaller capital
    free = hedge.run_book(rets, bench, w, idx, 1.0, 1.2, CashConvention(0.04, 0.01, 0.005, 0.0), 1.0)
    assert free.returns.iloc[1] == pytest.approx(0.02 - 1.2 * 0.01 + 1.2 * per_period_rate(0.04)
                                                 - 1.2 * per_period_rate(0.005), rel=1e-12)


def test_alpha_on_capital_shrinks_by_the_margin():
    rets, bench = market(alpha=0.0008)
    w = pd.DataFrame(1 / 3, index=rets.index, columns=rets.columns)
    zero = CashConvention(0.0, 0.0, 0.0, 0.0)
    half = CashConvention(0.0, 0.0, 0.0, 0.0, short_margin=0.5)
    a = {m: hedge_study.hedge_study(rets, bench, w, rets.index[300], 20, 60, 60, c) for m, c in ((0, zero), (1, half))}
    alpha = {m: hedge_study.alpha_interval(s.books["static hedge (out of sample)"].returns.iloc[1:], bench,
                                           s.books["static hedge (out of sample)"].cash).estimate
             for m, s in a.items()}
    h = a[1].betas["static (out of sample)"]
    assert alpha[1] == pytest.approx(alpha[0] / (1 + 0.5 * h), rel=1e-6)  # no cash, no costs: exact scaling


def _study(alpha=0.0, seed=3):
    rets, bench = market(seed=seed, alpha=alpha)
    w = pd.DataFrame(1 / 3, index=rets.index, columns=rets.columns)
    study = hedge_study.hedge_study(rets, bench, w, rets.index[200], 20, 60, 60, MARGIN)
    return study, bench


def test_comparisons_keys_decisions_and_halves():
    study, bench = _study(alpha=0.002)
    comps = hedge_study.comparisons(study, bench, reps=200)
    assert [c.what for c in comps] == ["dynamic hedged book", "unhedged basket", "dynamic hedge vs static hedge"]
    alpha = comps[0]
    assert alpha.unit == "% a year" and alpha.decision == cmp.ABOVE and alpha.halves == (cmp.ABOVE, cmp.ABOVE)
    book = study.books["dynamic hedge"]
    direct = hedge_study.alpha_interval(book.returns.iloc[1:], bench, book.cash)
    assert (alpha.estimate, alpha.low, alpha.high) == pytest.approx((100 * direct.estimate, 100 * direct.low,
                                                                     100 * direct.high))
    first, second = cmp.split_halves(book.returns.iloc[1:])
    half = hedge_study.alpha_interval(book.returns.iloc[1:].loc[first[0]:first[1]], bench, book.cash)
    assert alpha.halves[0] == cmp.decide(half.low, half.high)
    for c in comps:
        d = c.to_dict()
        assert all(k in d for k in ("what", "measure", "estimate", "low", "high", "level", "decision", "mde", "halves"))
        assert len(c.halves) == 2
    none = hedge_study.comparisons(*_study(alpha=0.0), reps=200)[0]
    assert none.decision == cmp.NONE and none.mde > 0


def test_headline_verdict_and_caveats_follow_the_results_and_the_convention():
    study, bench = _study(alpha=0.002)
    a = hedge_study.hedge_answer(study, bench, "dollar", reps=200)
    end = hedge_study.conclusion(study, bench, a, MARGIN, reps=200)
    assert end.verdict == "Alpha remains after hedging and costs" and end.deciding == 0
    assert "the dynamic hedge's alpha over QQQ on capital (with 50% short margin) is +" in end.headline
    assert len(end.headline.split()) <= cmp.MAX_HEADLINE_WORDS and "95% CI" in end.headline
    text = " ".join(end.caveats)
    assert "Capital includes 50% margin on the QQQ short" in text
    assert "constant 4.00% a year" in text and "flat 0 bp per side" in text and "0.50% a year borrow fee" in text
    assert "flat cash rate rather than" not in text
    assert end.question.startswith("How much of a volume-weighted Magnificent 7 basket is QQQ beta")
    assert hedge_study.question("SPY", ["AAPL", "MSFT"]).startswith("How much of a volume-weighted AAPL, MSFT basket")
    free = hedge_study.caveats(CashConvention(0.0, 0.0, 0.0, 0.0), study, "QQQ")
    assert any("short_margin = 0" in c for c in free)


def _notebook_conclusion(source):
    tickers, benchmark, start = ["AAPL", "MSFT", "AMZN", "NVDA", "GOOG", "META", "TSLA"], "QQQ", "2022-01-01"
    first = hedge.history_start(start, 30, 60, 252)
    ohlcv = hedge.load_common(tickers + [benchmark], start=start, source=source,
                              lookback=pd.Timestamp(start) - first)
    prices = ohlcv["Close"].dropna()
    volume = ohlcv["Volume"].loc[prices.index, tickers]
    returns = prices.pct_change(fill_method=None)
    conv = CashConvention.from_parameters("SHV", 0.01, 0.005, 5.0, source, short_margin=0.5)
    w = hedge.basket_weights(prices[tickers], volume, 30)
    study = hedge_study.hedge_study(returns[tickers], returns[benchmark], w, start, 30, 60, 252, conv)
    a = hedge_study.hedge_answer(study, returns[benchmark], "dollar", reps=100)
    compare = hedge_study.weighting_comparison(prices[tickers], volume, returns[benchmark], start, 30, conv, reps=100)
    return hedge_study.conclusion(study, returns[benchmark], a, conv, compare, reps=100,
                                  frame=ohlcv.loc[study.live[0]:])


def _check(end):
    assert len(end.headline.split()) <= cmp.MAX_HEADLINE_WORDS and "95% CI" in end.headline
    assert len(end.comparisons) == 4


def test_headline_on_the_simulated_market():
    end = _notebook_conclusion("synthetic")
    _check(end)
    assert end.caveats[0] == "The numbers describe simulated prices, not the real stocks."


@pytest.mark.filterwarnings("ignore:series end on different dates")
def test_headline_on_real_prices(real_data):
    end = _notebook_conclusion(str(real_data))
    _check(end)
    assert "simulated" not in " ".join(end.caveats)


def test_alpha_halves_are_decided_on_each_half():
    idx = pd.bdate_range("2020-01-01", periods=500)
    rng = np.random.default_rng(1)
    bench = pd.Series(rng.normal(0, 0.01, 500), index=idx, name="QQQ")
    alpha = np.where(np.arange(500) < 250, 0.003, -0.003)
    r = pd.Series(alpha + 0.5 * bench.to_numpy() + rng.normal(0, 0.005, 500), index=idx)
    cash = pd.Series(0.0, index=idx)
    assert hedge_study._alpha_halves(r, bench, cash, 5) == (cmp.ABOVE, cmp.BELOW)
