"""Notebook 03: volume weights, betas, books through the engine, the original book, the answer.

Numerics are checked against hand-computed cases, closed forms, statsmodels, and the original project's own
backtest function copied verbatim.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from helpers import hedge, hedge_study
from helpers.backtest import CashConvention
from helpers.evidence import Interval
from helpers.metrics import beta, per_period_rate
from helpers.testing import assert_no_lookahead

IDX = pd.bdate_range("2024-01-01", periods=8)
FREE = CashConvention(0.0, 0.0, 0.0, 0.0)


def market(n=400, seed=3, k=3):
    """Prices and volumes of k stocks driven by a benchmark, with volumes that move."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2020-01-01", periods=n)
    bench = pd.Series(rng.normal(0.0003, 0.01, n), index=idx, name="QQQ")
    rets = pd.DataFrame({f"S{i}": (1 + 0.3 * i) * bench + rng.normal(0, 0.01, n) for i in range(k)}, index=idx)
    prices = pd.concat([(1 + rets).cumprod() * 50, (1 + bench).cumprod() * 100], axis=1)
    volume = pd.DataFrame(rng.lognormal(10, 0.5, (n, k)), index=idx, columns=rets.columns)
    return prices, volume


# --------------------------------------------------------------------------- weights


def test_volume_weights_sum_to_one_and_use_only_past_volume():
    vol = pd.DataFrame({"A": [1, 1, 1, 1, 1, 1, 1, 1.0], "B": [3, 3, 3, 3, 3, 3, 3, 3.0]}, index=IDX)
    w = hedge.volume_weights(vol, window=2)
    assert w.iloc[:2].isna().all().all()           # window of 2 + one-day lag
    np.testing.assert_allclose(w.dropna().sum(axis=1), 1.0)
    assert w["A"].dropna().iloc[0] == pytest.approx(0.25)
    bumped = vol.copy()
    bumped.iloc[5, 0] = 100.0                      # a change of volume on day t moves weights from t+1
    w2 = hedge.volume_weights(bumped, window=2)
    pd.testing.assert_frame_equal(w.iloc[:6], w2.iloc[:6])
    assert w2.iloc[6, 0] > w.iloc[6, 0]


def test_dollar_volume_weights_by_hand():
    prices = pd.DataFrame({"A": [10.0, 10, 10], "B": [1.0, 1, 1]}, index=IDX[:3])
    vol = pd.DataFrame({"A": [1.0, 1, 1], "B": [30.0, 30, 30]}, index=IDX[:3])
    dollar = hedge.basket_weights(prices, vol, window=1, weighting="dollar")
    shares = hedge.basket_weights(prices, vol, window=1, weighting="shares")
    np.testing.assert_allclose(dollar.iloc[1], [10 / 40, 30 / 40])   # $10 and $30 traded
    np.testing.assert_allclose(shares.iloc[1], [1 / 31, 30 / 31])
    with pytest.raises(ValueError, match="weighting"):
        hedge.liquidity(prices, vol, "value")


def test_weights_traded_at_t_use_volume_and_prices_through_t_minus_1():
    prices, volume = market(200)
    stocks = list(volume.columns)
    fn = lambda d: hedge.basket_weights(d["prices"][stocks], d["volume"], window=10)  # noqa: E731
    prev_day = lambda i: pd.DatetimeIndex(np.r_[i[:1] - pd.Timedelta(days=1), i[:-1]])  # noqa: E731
    assert_no_lookahead(fn, {"prices": prices, "volume": volume}, decided_at=prev_day)


def test_ticker_without_volume_is_named():
    vol = pd.DataFrame({"A": [1.0] * 8, "SHV": [np.nan] * 8}, index=IDX)
    with pytest.raises(ValueError, match="no volume data for SHV"):
        hedge.volume_weights(vol)


def test_basket_returns_weight_each_day():
    rets = pd.DataFrame({"A": [np.nan, 0.1, 0.1], "B": [np.nan, 0.0, -0.1]}, index=IDX[:3])
    w = pd.DataFrame({"A": [0.5, 0.25, 0.9], "B": [0.5, 0.75, 0.1]}, index=IDX[:3])
    np.testing.assert_allclose(hedge.basket_returns(rets, w), [0.05, 0.25 * 0.1 + 0.75 * -0.1])
    np.testing.assert_allclose(hedge.basket_returns(rets, w, lag=0), [0.025 + 0, 0.09 - 0.01])


# --------------------------------------------------------------------------- betas


def test_beta_is_cov_over_var_and_matches_statsmodels():
    x = pd.Series([0.01, -0.02, 0.015, 0.003, -0.007], index=IDX[:5])
    y = 0.0005 + 1.7 * x + pd.Series([0.001, -0.001, 0.0, 0.002, -0.002], index=IDX[:5])
    by_hand = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert beta(y.to_numpy(), x.to_numpy()) == pytest.approx(by_hand)
    fit = hedge.ols(y, x)
    ref = sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit()
    assert fit.params["x"] == pytest.approx(ref.params[1])
    assert hedge.rolling_beta(y, x, window=5).iloc[-1] == pytest.approx(by_hand)
    row = hedge.regression_row(hedge.ols(y, x, hac_lags=1))
    hac = sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit(cov_type="HAC", cov_kwds={"maxlags": 1})
    assert row["alpha lo"] == pytest.approx(252 * hac.conf_int(0.05)[0, 0])
    assert row["beta hi"] == pytest.approx(hac.conf_int(0.05)[1, 1])


def test_dynamic_and_static_betas_use_only_the_past():
    prices, volume = market(300)
    stocks = list(volume.columns)

    def betas(d):
        rets = d["prices"].pct_change(fill_method=None)
        basket = hedge.basket_returns(rets[stocks], hedge.basket_weights(d["prices"][stocks], d["volume"], 10))
        dates = rets.index[150::7]
        dyn = hedge.dynamic_beta(basket, rets["QQQ"], dates, window=40)
        static = pd.Series([hedge.static_beta_before(basket, rets["QQQ"], rets.index[150], 60)],
                           index=[rets.index[149]])
        return {"dynamic": dyn, "static": static}

    out = betas({"prices": prices, "volume": volume})
    assert out["dynamic"].notna().all()
    assert_no_lookahead(betas, {"prices": prices, "volume": volume},
                        cutoffs=[prices.index[149], prices.index[150 + 7 * 5], prices.index[150 + 7 * 12]])


def test_averaged_legs_regression_gives_beta_minus_one_over_two():
    """The original project's defect in closed form: OLS slope of (y - x) / 2 on x is (beta - 1) / 2."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.01, 500)
    y = 1.4 * x + rng.normal(0, 0.005, 500)
    slope = sm.OLS((y - x) / 2, sm.add_constant(x)).fit().params[1]
    assert slope == pytest.approx((beta(y, x) - 1) / 2)


# --------------------------------------------------------------------------- books through the engine


def test_basket_in_the_engine_earns_the_basket_return_and_pays_for_its_rebalancing():
    """Two stocks, daily weights; the traded notional and its cost worked out by hand."""
    idx = pd.bdate_range("2024-01-01", periods=3)
    rets = pd.DataFrame({"A": [0.0, 0.10, -0.05], "B": [0.0, 0.00, 0.02]}, index=idx)
    bench = pd.Series([0.0, 0.01, 0.01], index=idx, name="QQQ")
    w = pd.DataFrame({"A": [0.5, 0.25, 0.5], "B": [0.5, 0.75, 0.5]}, index=idx)
    conv = CashConvention(0.0, 0.0, 0.0, 10.0)
    res = hedge.run_book(rets, bench, w, idx, 1.0, 0.0, conv, initial_capital=100.0)
    # day 0: buy 50 A + 50 B (targets on the value before costs), 100 traded, cost 0.1 paid from cash
    # day 1: A 55, B 50, cash -0.1: value 104.9; targets 26.225 / 78.675; traded 28.775 + 28.675
    np.testing.assert_allclose(res.costs.to_numpy()[:2], [0.1, 0.001 * 57.45])
    np.testing.assert_allclose(res.traded.iloc[1], 57.45 / 104.9)
    assert res.costs.iloc[2] > 0.01  # weights back to 50/50: traded again
    # zero costs: the book's daily return is the basket's (weights decided at t earn t+1)
    free = hedge.run_book(rets, bench, w, idx, 1.0, 0.0, FREE, 1.0)
    np.testing.assert_allclose(free.returns.iloc[1:], hedge.basket_returns(rets, w))


def test_hedged_book_short_pays_borrow_and_cash_earns_the_rate():
    idx = pd.bdate_range("2024-01-01", periods=2)
    rets = pd.DataFrame({"A": [0.0, 0.02]}, index=idx)
    bench = pd.Series([0.0, 0.01], index=idx, name="QQQ")
    w = pd.DataFrame({"A": [1.0, 1.0]}, index=idx)
    conv = CashConvention(cash_rate=0.04, financing_spread=0.01, borrow_fee=0.005, cost_bps=0.0)
    res = hedge.run_book(rets, bench, w, idx, 1.0, 1.5, conv, 1.0)
    # day 0: long 1 of A, short 1.5 QQQ, cash 1 - 1 + 1.5 = 1.5
    assert res.weights.iloc[0].tolist() == pytest.approx([1.0, -1.5])
    expected = 1.5 * per_period_rate(0.04) - 1.5 * per_period_rate(0.005) + 0.02 - 1.5 * 0.01
    assert res.returns.iloc[1] == pytest.approx(expected)
    assert res.borrow.iloc[1] == pytest.approx(1.5 * per_period_rate(0.005))


def test_dynamic_hedge_of_a_pure_beta_basket_has_no_market_exposure():
    prices, volume = market(400)
    rets = prices.pct_change(fill_method=None)
    stocks = list(volume.columns)
    beta_only = pd.DataFrame({s: (1 + 0.3 * i) * rets["QQQ"] for i, s in enumerate(stocks)})
    w = pd.DataFrame(1 / 3, index=rets.index, columns=stocks)
    study = hedge_study.hedge_study(beta_only, rets["QQQ"], w, rets.index[100], 20, 60, 60, FREE)
    for name in ("dynamic hedge", "static hedge (out of sample)", "static hedge (in sample)"):
        r = study.books[name].returns.iloc[1:]
        assert abs(beta(r.to_numpy(), rets["QQQ"].loc[r.index].to_numpy())) < 1e-6, name
    assert study.betas["static (out of sample)"] == pytest.approx(1.3)


def test_bad_inputs_are_clear():
    prices, volume = market(100)
    rets = prices.pct_change(fill_method=None)
    w = pd.DataFrame(1 / 3, index=rets.index, columns=volume.columns)
    args = (rets[volume.columns], rets["QQQ"], w, rets.index[50])
    with pytest.raises(ValueError, match="rebalance_days=500"):
        hedge_study.hedge_study(*args, 500, 20, 20, CashConvention())
    with pytest.raises(ValueError, match="beta_window=80"):
        hedge_study.hedge_study(*args, 10, 80, 20, CashConvention())
    with pytest.raises(ValueError, match="static_window=70"):
        hedge_study.hedge_study(*args, 10, 20, 70, CashConvention())


def test_load_common_cuts_to_the_dates_every_ticker_has(tmp_path):
    from helpers.data import provenance

    (tmp_path / "AAPL.csv").write_text("Date,Close,Volume\n2024-01-02,1,10\n2024-01-03,2,11\n2024-01-04,3,12\n")
    (tmp_path / "QQQ.csv").write_text("Date,Close,Volume\n2024-01-02,5,10\n2024-01-03,6,11\n")
    with pytest.warns(UserWarning, match="different dates"):
        frame = hedge.load_common(["AAPL", "QQQ"], source=tmp_path)
    assert frame.index[-1] == pd.Timestamp("2024-01-03")
    prov = provenance(frame)
    assert prov.last_date == "2024-01-03" and any("different dates" in n for n in prov.notes)


def test_benchmark_missing_from_the_data_is_named(tmp_path):
    from helpers.data import UnknownTickerError, load_ohlcv

    (tmp_path / "AAPL.csv").write_text("Date,Close,Volume\n2024-01-02,1,10\n2024-01-03,2,11\n")
    with pytest.raises(UnknownTickerError, match="QQQ"):
        load_ohlcv(["AAPL", "QQQ"], source=tmp_path)


# --------------------------------------------------------------------------- the original book


def original_function(portfolio_size, rebalancing_days, benchmark_returns, long_returns, short_returns,
                  transaction_cost):
    """``hedged_portfolio_performance_dynamic_beta`` from the original project, verbatim (comments removed)."""
    portfolio_value = portfolio_size
    portfolio_values = [portfolio_value]
    betas = []
    initial_benchmark_returns = benchmark_returns[:rebalancing_days]
    initial_long_returns = long_returns[:rebalancing_days]
    X = sm.add_constant(initial_benchmark_returns)
    model = sm.OLS(initial_long_returns, X).fit()
    initial_beta = model.params[1]
    betas.append(initial_beta)
    long_ratio = 1 / (1 + initial_beta)
    short_ratio = initial_beta / (1 + initial_beta)
    long_allocation = portfolio_value * long_ratio
    short_allocation = portfolio_value * short_ratio
    for i in range(0, len(long_returns), rebalancing_days):
        long_period_returns = long_returns[i:i + rebalancing_days]
        short_period_returns = short_returns[i:i + rebalancing_days]
        benchmark_period_returns = benchmark_returns[i:i + rebalancing_days]
        portfolio_period_returns = (long_period_returns + short_period_returns) / 2
        if len(benchmark_period_returns) == rebalancing_days:
            X = sm.add_constant(benchmark_period_returns)
            model = sm.OLS(portfolio_period_returns, X).fit()
            beta = model.params[1]
            betas.append(beta)
            long_ratio = 1 / (1 + beta)
            short_ratio = beta / (1 + beta)
        else:
            long_ratio = long_allocation / portfolio_value
            short_ratio = short_allocation / portfolio_value
        long_cum_return = np.prod(1 + long_period_returns) - 1
        short_cum_return = np.prod(1 + short_period_returns) - 1
        long_allocation *= (1 + long_cum_return) * (1 - transaction_cost)
        short_allocation *= (1 + short_cum_return) * (1 - transaction_cost)
        portfolio_value = long_allocation + short_allocation
        portfolio_values.append(portfolio_value)
        long_allocation = portfolio_value * long_ratio
        short_allocation = portfolio_value * short_ratio
    return portfolio_values, betas


def test_original_book_matches_the_original_function():
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2022-01-03", periods=137)  # 4 full periods of 30 and a partial one
    bench = pd.Series(rng.normal(0.0005, 0.012, 137), index=idx)
    basket = 1.4 * bench + pd.Series(rng.normal(0.0003, 0.008, 137), index=idx)
    values, betas = original_function(1e6, 30, bench.to_numpy(), basket.to_numpy(), -bench.to_numpy(), 0.001)
    book = hedge.original_book(basket, bench, 30, 0.001, initial_capital=1e6)
    np.testing.assert_allclose(book.values.to_numpy(), values[1:], rtol=1e-12)
    np.testing.assert_allclose(book.betas.to_numpy(), betas, rtol=1e-12)
    equity = 1e6 * (1 + book.returns).cumprod()
    np.testing.assert_allclose(equity.loc[book.values.index], values[1:], rtol=1e-12)
    # within a period both legs drift: day 2's value by hand
    b = betas[0]
    day2 = 1e6 / (1 + b) * np.prod(1 + basket.iloc[:2]) + 1e6 * b / (1 + b) * np.prod(1 - bench.iloc[:2])
    assert equity.iloc[1] == pytest.approx(day2)
    assert book.short_ratio.iloc[1] == pytest.approx(betas[1] / (1 + betas[1]))


def test_original_book_with_the_basket_beta_is_beta_neutral():
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2022-01-03", periods=300)
    bench = pd.Series(rng.normal(0, 0.012, 300), index=idx)
    basket = 1.4 * bench
    original = hedge.original_book(basket, bench, 30, 0.0)
    fixed = hedge.original_book(basket, bench, 30, 0.0, beta_rule="basket")
    assert original.betas.iloc[1:].to_numpy() == pytest.approx(0.2)          # (1.4 - 1) / 2
    assert fixed.betas.to_numpy() == pytest.approx(1.4)
    # book beta of a daily-rebalanced 1/(1+b), b/(1+b) mix: (1.4 - b) / (1 + b); drift moves it a little
    original_beta = beta(original.returns.iloc[30:].to_numpy(), bench.iloc[30:].to_numpy())
    assert original_beta == pytest.approx(1.2 / 1.2, abs=0.05)
    assert abs(beta(fixed.returns.to_numpy(), bench.to_numpy())) < 0.05


# --------------------------------------------------------------------------- the answer


def answer(diff, alpha, r2=0.8, basket_alpha=None):
    return hedge_study.HedgeAnswer("QQQ", "dollar", 1.4, r2, basket_alpha or alpha, alpha, 0.9, 1.0, diff, 0.01, -0.02)


def test_beta_share_is_worded_from_r2():
    assert hedge_study.beta_share("QQQ", 0.81) == "mostly QQQ beta"
    assert hedge_study.beta_share("QQQ", 0.5) == "mostly QQQ beta"
    assert hedge_study.beta_share("QQQ", 0.3) == "less than half QQQ beta"


def test_records_pair_both_alphas():
    basket, hedged = Interval(0.151, -0.014, 0.316), Interval(0.144, -0.02, 0.308)
    a = answer(Interval(0.05, -0.14, 0.25), hedged, basket_alpha=basket)
    assert hedge_study.records(a) == {"alpha_annual": 0.151, "alpha_ci": [-0.014, 0.316],
                                "alpha_hedged_annual": 0.144, "alpha_hedged_ci": [-0.02, 0.308]}


def test_source_caveat_follows_the_data_source(tmp_path):
    from helpers.data import load_ohlcv

    sim = load_ohlcv(["AAPL", "QQQ"], start="2024-01-02", end="2024-02-01", source="synthetic")
    assert "simulated prices, not the real stocks" in hedge_study.source_caveat(sim)
    (tmp_path / "AAPL.csv").write_text("Date,Close,Volume\n2024-01-02,1,10\n2024-01-03,2,11\n")
    real = load_ohlcv(["AAPL"], source=tmp_path)
    text = hedge_study.source_caveat(real)
    assert "simulated" not in text and "Real prices, one stretch of history" in text and "2024-01-02 to 2024-01-03" in text


def test_notebook_lookahead_check_passes_on_honest_inputs():
    prices, volume = market(300)
    stocks = list(volume.columns)
    msg = hedge.check_no_lookahead(prices, volume, stocks, "QQQ", 10, "dollar", prices.index[150::7], 40)
    assert msg.startswith("look-ahead checks passed")


def test_lookahead_cutoffs_exist_for_short_test_periods():
    dates = pd.bdate_range("2024-01-01", periods=34)
    assert list(hedge.lookahead_cutoffs(dates)) == [dates[2], dates[17], dates[31]]
    assert list(hedge.lookahead_cutoffs(dates[:1])) == [dates[0]]
    assert list(hedge.lookahead_cutoffs(dates[:2])) == [dates[0], dates[1]]
    prices, volume = market(300)
    stocks = list(volume.columns)
    for n in (1, 2):  # fewer than three re-estimations: no IndexError
        msg = hedge.check_no_lookahead(prices, volume, stocks, "QQQ", 10, "dollar", prices.index[150:150 + n], 40)
        assert msg.startswith("look-ahead checks passed")


# --------------------------------------------------------------------------- parameters


def test_history_start_loads_enough_for_the_longest_window():
    """beta_window longer than static_window: the history loaded must cover it (holidays included)."""
    prices, volume = market(900)
    # drop about 9 weekdays a year as exchange holidays
    holidays = prices.index[::28]
    prices, volume = prices.drop(holidays), volume.drop(holidays)
    start = prices.index[700]
    first = hedge.history_start(start, volume_window=30, beta_window=300, static_window=252)
    p, v = prices.loc[first:], volume.loc[first:]
    rets = p.pct_change(fill_method=None)
    stocks = list(v.columns)
    w = hedge.basket_weights(p[stocks], v, 30)
    study = hedge_study.hedge_study(rets[stocks], rets["QQQ"], w, start, 30, 300, 252, FREE)
    assert study.betas["dynamic"].notna().all()
    # one weekday per 20 is a holiday here: 30 + 2 + 300 days need more than 332 + 20 weekdays
    assert len(pd.bdate_range(first, start)) - 1 >= 332 + 20


def test_windows_below_their_minimum_are_named():
    prices, volume = market(200)
    rets = prices.pct_change(fill_method=None)
    w = pd.DataFrame(1 / 3, index=rets.index, columns=volume.columns)
    args = (rets[volume.columns], rets["QQQ"], w, rets.index[100])
    with pytest.raises(ValueError, match="rebalance_days must be an integer of at least 1"):
        hedge_study.hedge_study(*args, 0, 20, 20, FREE)
    with pytest.raises(ValueError, match="beta_window must be an integer of at least 3"):
        hedge_study.hedge_study(*args, 5, 2, 20, FREE)
    with pytest.raises(ValueError, match="static_window must be an integer of at least 3"):
        hedge_study.hedge_study(*args, 5, 20, 2, FREE)
    # re-estimating the dynamic hedge every day is allowed
    daily = hedge_study.hedge_study(*args, 1, 20, 20, FREE)
    assert len(daily.betas["dynamic"]) == len(daily.live)
    basket, bench = rets[volume.columns].mean(axis=1).iloc[1:], rets["QQQ"].iloc[1:]
    for bad in (1, 2):
        with pytest.raises(ValueError, match="original_rebalance_days must be an integer of at least 3"):
            hedge.original_book(basket, bench, bad, 0.0)
        with pytest.raises(ValueError, match="original_rebalance_days"):
            hedge_study.original_table(basket, bench, bad, 0.001)


# --------------------------------------------------------------------------- the original project's table and weightings


def test_original_table_headline_beta_is_on_the_days_its_rule_governs():
    """Basket = 1.4 x bench: the averaged-leg rule gives b = 0.2 and a book beta (1.4 - 0.2) / 1.2 = 1."""
    rng = np.random.default_rng(2)
    idx = pd.bdate_range("2022-01-03", periods=600)
    bench = pd.Series(rng.normal(0.0004, 0.012, 600), index=idx, name="QQQ")
    basket = 1.4 * bench + pd.Series(rng.normal(0, 1e-4, 600), index=idx)
    table = hedge_study.original_table(basket, bench, 30, 0.0)
    row = table.loc["original book (averaged-leg beta), no costs"]
    assert row["realized beta (day 30 on)"] == pytest.approx(1.0, abs=0.05)
    # by hand: the first 30 days are hedged with the basket's own beta (neutral), the rest at b = 0.2
    r = hedge.original_book(basket, bench, 30, 0.0).returns
    assert row["realized beta (day 30 on)"] == pytest.approx(beta(r.iloc[30:].to_numpy(), bench.iloc[30:].to_numpy()))
    assert abs(beta(r.iloc[1:30].to_numpy(), bench.iloc[1:30].to_numpy())) < 0.05
    assert row["realized beta (all days)"] == pytest.approx(beta(r.iloc[1:].to_numpy(), bench.iloc[1:].to_numpy()))
    fixed = table.loc["same rule with the basket's beta, its costs"]
    assert abs(fixed["realized beta (day 30 on)"]) < 0.05


def test_weighting_comparison_pairs_the_sharpe_difference():
    prices, volume = market(300)
    stocks = list(volume.columns)
    conv = CashConvention(0.02, 0.01, 0.005, 5.0)
    rets = prices.pct_change(fill_method=None)
    cmp = hedge_study.weighting_comparison(prices[stocks], volume, rets["QQQ"], prices.index[100], 10, conv, reps=200)
    a, b = cmp.books["dollar"].excess_returns, cmp.books["shares"].excess_returns
    assert a.index.equals(b.index)                                # the same days
    sharpe = lambda x: x.mean() / x.std(ddof=1) * np.sqrt(252)  # noqa: E731
    assert cmp.sharpe_diff.estimate == pytest.approx(sharpe(a) - sharpe(b))
    t = cmp.table.loc["Sharpe"]
    assert cmp.sharpe_diff.estimate == pytest.approx(t["dollar volume"] - t["share volume"])
    assert cmp.sharpe_diff.low < cmp.sharpe_diff.estimate < cmp.sharpe_diff.high
    assert "dollar-volume weights" in cmp.decision() and "share-volume weights" in cmp.decision()
