"""Notebook 03's study: the hedged books over the test period, their evidence (alphas with HAC
intervals, realized betas, paired Sharpe intervals), the weighting comparison, the original
project's book beside the same rule with the basket's beta, and the computed answer.

The basket, the betas and the books through the shared engine are :mod:`helpers.hedge`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import comparison as cmp
from helpers import evidence, metrics
from helpers.backtest import BacktestResult, CashConvention, rebalance_dates
from helpers.comparison import Conclusion
from helpers.data import source_of
from helpers.hedge import (
    WEIGHTINGS,
    basket_returns,
    basket_weights,
    check_window,
    dynamic_beta,
    ols,
    original_book,
    regression_row,
    run_book,
    static_beta_before,
)
from helpers.metrics import TRADING_DAYS
from helpers.reporting import source_label

MOSTLY_R2 = 0.5  # "mostly benchmark beta" when the benchmark explains at least half the daily variance


@dataclass
class HedgeStudy:
    """The books of notebook 03 and what they were sized with.

    books : name -> BacktestResult, on the test period (first day = first trade)
    basket : Series   the basket's daily returns before costs (full loaded history)
    betas : dict      "static (out of sample)", "static (in sample)" floats and "dynamic" (Series by date)
    live : DatetimeIndex  the test period's trading days
    """

    books: dict
    basket: pd.Series
    betas: dict
    live: pd.DatetimeIndex


def hedge_study(stock_returns: pd.DataFrame, bench: pd.Series, weights: pd.DataFrame, start,
                rebalance_days: int, beta_window: int, static_window: int, convention: CashConvention,
                initial_capital: float = 1.0) -> HedgeStudy:
    """Benchmark, unhedged basket, and three hedges of the basket through one engine.

    * static (out of sample): beta on the ``static_window`` days before ``start``, held throughout;
    * static (in sample): beta on the test period itself (knows the future; a yardstick only);
    * dynamic: beta on the trailing ``beta_window`` days, re-estimated every ``rebalance_days``.

    Every book trades at the close of the first trading day >= ``start`` and daily after.
    ``rebalance_days`` is at least 1; ``beta_window`` and ``static_window`` at least 3 (an OLS
    slope with an error estimate needs three points).
    """
    check_window("rebalance_days", rebalance_days, 1)
    check_window("beta_window", beta_window, 3)
    check_window("static_window", static_window, 3)
    basket = basket_returns(stock_returns, weights)
    bench = bench.rename(bench.name or "bench")
    both = pd.concat([basket, bench], axis=1, sort=True).dropna()
    live = both.index[both.index >= pd.Timestamp(start)]
    if len(live) < 2:
        raise ValueError(f"no returns after start {start}")
    if rebalance_days >= len(live):
        raise ValueError(f"rebalance_days={rebalance_days} is not shorter than the {len(live)} trading days "
                         f"of data after {live[0].date()}")
    first = both.index.get_loc(live[0])
    if first + 1 < beta_window:
        raise ValueError(f"beta_window={beta_window} needs {beta_window} days before {live[0].date()}; "
                         f"only {first + 1} are loaded")
    oos = static_beta_before(basket, bench, live[0], static_window)
    ins = metrics.beta(both.loc[live[1:], "basket"].to_numpy(), both.loc[live[1:], bench.name].to_numpy())
    dyn = dynamic_beta(basket, bench, rebalance_dates(live, rebalance_days), beta_window)
    run = lambda long, short: run_book(stock_returns, bench, weights, live, long, short,  # noqa: E731
                                       convention, initial_capital)
    books = {
        bench.name: run(0.0, -1.0),  # long the benchmark alone
        "unhedged basket": run(1.0, 0.0),
        "static hedge (out of sample)": run(1.0, oos),
        "static hedge (in sample)": run(1.0, ins),
        "dynamic hedge": run(1.0, dyn),
    }
    return HedgeStudy(books, basket, {"static (out of sample)": oos, "static (in sample)": ins, "dynamic": dyn},
                      live)


# --------------------------------------------------------------------------- evidence and the answer


def book_table(books: dict[str, BacktestResult], bench: pd.Series, hac_lags: int = 5,
               reps: int = 1000) -> pd.DataFrame:
    """One row per book: performance, Sharpe with its bootstrap interval, realized beta and alpha.

    Sharpe is in excess of each book's own cash rate (all days, stationary block bootstrap, 95 %).
    Realized beta and alpha (annualized, after costs and carry) come from an OLS of the book's daily
    excess returns on the benchmark's excess returns from the day after the first trade, with
    Newey-West (``hac_lags``) intervals. ``costs / yr`` and ``borrow / yr`` are fractions of equity.
    """
    rows = {}
    for name, res in books.items():
        years = len(res.returns) / TRADING_DAYS
        prev = res.equity.shift(1, fill_value=res.equity.iloc[0] + res.costs.iloc[0])
        s = evidence.sharpe_ci(res.excess_returns, reps=reps)
        x = (bench - res.cash).reindex(res.returns.index).iloc[1:]
        reg = regression_row(ols(res.excess_returns.iloc[1:], x, hac_lags))
        rows[name] = {"CAGR": metrics.cagr(res.returns), "Volatility": metrics.annualized_volatility(res.returns),
                      "Sharpe": s.estimate, "Sharpe lo": s.low, "Sharpe hi": s.high,
                      "Max drawdown": metrics.max_drawdown(res.returns),
                      "beta": reg["beta"], "beta lo": reg["beta lo"], "beta hi": reg["beta hi"],
                      "alpha": reg["alpha (ann.)"], "alpha lo": reg["alpha lo"], "alpha hi": reg["alpha hi"],
                      "turnover / yr": float(res.traded.sum() / 2 / years),
                      "costs / yr": float((res.costs / prev).sum() / years),
                      "borrow / yr": float((res.borrow / prev).sum() / years)}
    return pd.DataFrame(rows).T


@dataclass(frozen=True)
class HedgeAnswer:
    """What the Answer of notebook 03 is built from (annual fractions; Sharpe ratios annualized).

    basket_beta, basket_r2 : the basket's OLS beta and R^2 on the benchmark (test period)
    alpha : Interval   the unhedged basket's alpha over the benchmark, before costs (Newey-West 95 %;
                       recorded as ``alpha_annual`` / ``alpha_ci``)
    hedged_alpha : Interval  the dynamic hedged book's alpha after costs, borrow and carry
                       (recorded as ``alpha_hedged_annual`` / ``alpha_hedged_ci``)
    sharpe_static, sharpe_dynamic : Sharpe of the out-of-sample static and the dynamic hedge
    sharpe_diff : Interval  paired bootstrap of dynamic minus static Sharpe
    beta_static, beta_dynamic : realized betas of the two hedged books
    """

    benchmark: str
    weighting: str
    basket_beta: float
    basket_r2: float
    alpha: evidence.Interval
    hedged_alpha: evidence.Interval
    sharpe_static: float
    sharpe_dynamic: float
    sharpe_diff: evidence.Interval
    beta_static: float
    beta_dynamic: float


def beta_share(benchmark: str, r2: float) -> str:
    """``"mostly QQQ beta"`` when the benchmark explains at least :data:`MOSTLY_R2` of the variance."""
    return f"mostly {benchmark} beta" if r2 >= MOSTLY_R2 else f"less than half {benchmark} beta"


MAGNIFICENT_7 = frozenset({"AAPL", "MSFT", "AMZN", "NVDA", "GOOG", "META", "TSLA"})


def question(benchmark: str, tickers: list[str] | None = None) -> str:
    """The notebook's question, naming the basket ("Magnificent 7" for those seven tickers)."""
    name = ("Magnificent 7" if tickers is None or set(tickers) == MAGNIFICENT_7 else
            f"{', '.join(tickers)}")
    return (f"How much of a volume-weighted {name} basket is {benchmark} beta, does alpha remain after "
            f"hedging that beta and paying costs, and does re-estimating the hedge ratio beat a static hedge?")


def alpha_interval(returns: pd.Series, bench: pd.Series, cash: pd.Series, hac_lags: int = 5) -> evidence.Interval:
    """Annualized alpha of daily ``returns`` over ``bench``, both in excess of ``cash`` (OLS,
    Newey-West ``hac_lags`` 95% interval), on the dates of ``returns``."""
    days = returns.index
    row = regression_row(ols(returns - cash.reindex(days), bench.reindex(days) - cash.reindex(days), hac_lags))
    return evidence.Interval(row["alpha (ann.)"], row["alpha lo"], row["alpha hi"])


def _alpha_halves(returns: pd.Series, bench: pd.Series, cash: pd.Series, hac_lags: int) -> tuple[str, str]:
    return cmp.halves_decisions(lambda r: alpha_interval(r, bench, cash, hac_lags), returns)


def _pct(i: evidence.Interval, what: str, measure: str, **kw) -> cmp.Comparison:
    return cmp.Comparison(what, measure, 100 * i.estimate, 100 * i.low, 100 * i.high, unit="% a year", digits=1, **kw)


def comparisons(study: HedgeStudy, bench: pd.Series, weighting: WeightingComparison | None = None,
                hac_lags: int = 5, reps: int = 1000) -> list[cmp.Comparison]:
    """Notebook 03's comparisons, the deciding one first:

    0. the dynamic hedged book's alpha over the benchmark after costs, borrow and carry, per unit of
       its capital (percent a year, Newey-West interval);
    1. the unhedged basket's alpha before costs (``alpha_annual``);
    2. dynamic minus out-of-sample static hedge, Sharpe ratio (paired block bootstrap);
    3. with ``weighting``: dollar- minus share-volume weights, Sharpe ratio of the unhedged basket.

    Each is also decided on the two halves of its period (same method, dates split in two).
    """
    dyn, static = study.books["dynamic hedge"], study.books["static hedge (out of sample)"]
    ret = dyn.returns.iloc[1:]
    cash = dyn.cash
    basket = study.basket.reindex(study.live[1:])
    diff = lambda a, b: evidence.sharpe_diff_ci(a, b, reps=reps)  # noqa: E731
    out = [
        _pct(alpha_interval(ret, bench, cash, hac_lags), "dynamic hedged book", "alpha after costs on capital",
             halves=_alpha_halves(ret, bench, cash, hac_lags)),
        _pct(alpha_interval(basket, bench, cash, hac_lags), "unhedged basket", "alpha before costs",
             halves=_alpha_halves(basket, bench, cash, hac_lags)),
        cmp.Comparison.from_interval(diff(dyn.excess_returns, static.excess_returns),
                                     "dynamic hedge vs static hedge", "Sharpe ratio",
                                     halves=cmp.halves_decisions(diff, dyn.excess_returns, static.excess_returns)),
    ]
    if weighting is not None:
        a, b = (weighting.books[k].excess_returns for k in ("dollar", "shares"))
        out.append(cmp.Comparison.from_interval(weighting.sharpe_diff, "dollar volume vs share volume",
                                                "Sharpe ratio, unhedged", halves=cmp.halves_decisions(diff, a, b)))
    return out


VERDICTS = {cmp.ABOVE: "Alpha remains after hedging and costs", cmp.BELOW: "The hedged book trails its beta",
            cmp.NONE: "No evidence of alpha after hedging and costs", cmp.NO_DATA: "Too little data for alpha"}


def headline(comps: list[cmp.Comparison], a: HedgeAnswer, convention: CashConvention) -> str:
    """At most 40 words: the basket's share of benchmark beta, the verdict on the hedged book's
    alpha per unit of capital with its interval, and whether it holds in both halves."""
    c = comps[0]
    fig = cmp.format_interval(c.estimate, c.low, c.high, c.level, c.unit, c.digits)
    margin = f" (with {convention.short_margin:.0%} short margin)" if convention.short_margin else ""
    text = f"{VERDICTS[c.decision]}: the dynamic hedge's alpha over {a.benchmark} on capital{margin} is {fig}."
    if c.decision == cmp.NONE and np.isfinite(c.mde):
        text += f" Could not detect less than {c.mde:.1f}% a year."
    if c.holds_in_halves is False:
        text += f" Not in both halves (first: {c.halves[0]}; second: {c.halves[1]})."
    lead = f"The basket is {beta_share(a.benchmark, a.basket_r2)} (beta {a.basket_beta:.2f}, R\u00b2 {a.basket_r2:.0%}). "
    return cmp.headline(lead + text if len((lead + text).split()) <= cmp.MAX_HEADLINE_WORDS else text)


def caveats(convention: CashConvention, study: HedgeStudy, benchmark: str, frame=None) -> list[str]:
    """The caveats computed from the convention, the test period and the data source of ``frame``."""
    years = len(study.live) / TRADING_DAYS
    out = ["The numbers describe simulated prices, not the real stocks."] if (
        frame is not None and source_of(frame).is_simulated) else []
    out += [f"One test period of {years:.1f} years: intervals are wide, and they measure sampling noise within it, "
           "not how another period would go.",
           f"Costs are a flat {convention.cost_bps:g} bp per side of the notional traded (no market impact); the "
           f"short pays a flat {convention.borrow_fee:.2%} a year borrow fee."]
    if isinstance(convention.cash_rate, pd.Series):
        out.append(f"Cash is {convention.cash_rate.attrs.get('ticker', 'a T-bill fund')}'s daily return (T-bills); "
                   "a broker pays less on short proceeds.")
    else:
        out.append(f"Cash earns a constant {float(convention.cash_rate):.2%} a year, not the T-bill path.")
    if convention.short_margin:
        out.append(f"Capital includes {convention.short_margin:.0%} margin on the {benchmark} short (Reg T: 50%); "
                   "with less margin the same book's alpha per unit of capital is larger in size.")
    else:
        out.append("Capital is the basket alone (short_margin = 0): no margin is posted on the short, which "
                   "overstates the return per unit of capital a broker would allow.")
    return out


def conclusion(study: HedgeStudy, bench: pd.Series, a: HedgeAnswer, convention: CashConvention,
               weighting: WeightingComparison | None = None, hac_lags: int = 5, reps: int = 1000,
               frame=None, tickers: list[str] | None = None) -> Conclusion:
    """Notebook 03's :class:`Conclusion`: question, headline, verdict, comparisons (the hedged
    alpha deciding) and caveats computed from the convention and ``frame``'s data source."""
    comps = comparisons(study, bench, weighting, hac_lags, reps)
    return Conclusion(question(a.benchmark, tickers), headline(comps, a, convention), VERDICTS[comps[0].decision],
                      comps, 0, caveats(convention, study, a.benchmark, frame))


def basket_regression(study: HedgeStudy, bench: pd.Series, cash: pd.Series, hac_lags: int = 5) -> dict:
    """:func:`regression_row` of the basket's excess returns (before costs) on the benchmark's, test period.

    From the day after the first trade; ``cash`` is the daily cash return (e.g. a book's ``.cash``).
    """
    days = study.live[1:]
    c = cash.reindex(days)
    return regression_row(ols(study.basket.reindex(days) - c, bench.reindex(days) - c, hac_lags))


def hedge_answer(study: HedgeStudy, bench: pd.Series, weighting: str, hac_lags: int = 5,
                 reps: int = 1000) -> HedgeAnswer:
    """:class:`HedgeAnswer` from a :func:`hedge_study` (basket regression on the test period)."""
    static, dynamic = study.books["static hedge (out of sample)"], study.books["dynamic hedge"]
    row = basket_regression(study, bench, dynamic.cash, hac_lags)
    table = book_table({"static": static, "dynamic": dynamic}, bench, hac_lags, reps)
    diff = evidence.sharpe_diff_ci(dynamic.excess_returns, static.excess_returns, reps=reps)
    d = table.loc["dynamic"]
    return HedgeAnswer(
        benchmark=str(bench.name), weighting=weighting, basket_beta=row["beta"], basket_r2=row["R^2"],
        alpha=evidence.Interval(row["alpha (ann.)"], row["alpha lo"], row["alpha hi"]),
        hedged_alpha=evidence.Interval(d["alpha"], d["alpha lo"], d["alpha hi"]),
        sharpe_static=float(table.loc["static", "Sharpe"]), sharpe_dynamic=float(d["Sharpe"]),
        sharpe_diff=diff, beta_static=float(table.loc["static", "beta"]), beta_dynamic=float(d["beta"]))


def records(a: HedgeAnswer) -> dict:
    """The recorded alpha keys: the unhedged basket's before costs and the dynamic hedged book's after costs."""
    return {"alpha_annual": a.alpha.estimate, "alpha_ci": [a.alpha.low, a.alpha.high],
            "alpha_hedged_annual": a.hedged_alpha.estimate,
            "alpha_hedged_ci": [a.hedged_alpha.low, a.hedged_alpha.high]}


def source_caveat(frame) -> str:
    """The Caveats' line on the data source of a loaded frame (its provenance)."""
    if source_of(frame).is_simulated:
        return f"Data: {source_label(frame)}. The numbers describe simulated prices, not the real stocks."
    return (f"Data: {source_label(frame)}. Real prices, one stretch of history: the intervals above "
            "measure sampling noise within it, not how another period would go.")


# --------------------------------------------------------------------------- tables for the notebook


@dataclass
class WeightingComparison:
    """Dollar- against share-volume weights, unhedged, on the same test days.

    table : DataFrame  one column per weighting (see :func:`weighting_comparison`)
    sharpe_diff : Interval  paired stationary block bootstrap of Sharpe(dollar) - Sharpe(shares)
    books : dict       weighting -> BacktestResult of the unhedged basket
    """

    table: pd.DataFrame
    sharpe_diff: evidence.Interval
    books: dict

    def decision(self) -> str:
        """One sentence on the Sharpe difference (:func:`helpers.comparison.sentence`)."""
        return cmp.sentence(cmp.Comparison.from_interval(self.sharpe_diff, "dollar-volume weights vs share-volume "
                                                         "weights", "Sharpe ratio"))


def weighting_comparison(prices: pd.DataFrame, volume: pd.DataFrame, bench: pd.Series, start, window: int,
                         convention: CashConvention, hac_lags: int = 5, reps: int = 1000) -> WeightingComparison:
    """Dollar-volume against share-volume weights on the test period, one column each.

    Rows: each stock's average weight, then the basket's beta and alpha on the benchmark (excess
    returns, OLS), and the unhedged basket through the engine (CAGR, Sharpe, one-way turnover).
    Both books trade on the same days (those on which both weightings have weights), so the
    paired interval of their Sharpe difference compares the same days' excess returns.
    """
    stock_returns = prices.pct_change(fill_method=None)
    weights = {k: basket_weights(prices, volume, window, k) for k in WEIGHTINGS}
    baskets = {k: basket_returns(stock_returns, w) for k, w in weights.items()}
    live = baskets["dollar"].index.intersection(baskets["shares"].index).intersection(bench.dropna().index)
    live = live[live >= pd.Timestamp(start)]
    if len(live) < 3:
        raise ValueError(f"fewer than 3 trading days with weights after start {start}")
    cols, books = {}, {}
    for weighting in WEIGHTINGS:
        w, basket = weights[weighting], baskets[weighting]
        book = books[weighting] = run_book(stock_returns, bench, w, live, 1.0, 0.0, convention)
        cash = book.cash
        reg = regression_row(ols(basket.loc[live[1:]] - cash, bench.loc[live[1:]] - cash, hac_lags))
        col = w.loc[live].mean().sort_values(ascending=False).rename(lambda t: f"weight {t}").to_dict()
        col.update({"basket beta": reg["beta"], "basket alpha (ann.)": reg["alpha (ann.)"],
                    "CAGR": metrics.cagr(book.returns), "Sharpe": metrics.sharpe_ratio(book.returns, cash),
                    "turnover / yr": book.summary()["Turnover / yr"]})
        cols[{"dollar": "dollar volume", "shares": "share volume"}[weighting]] = col
    out = pd.DataFrame(cols)
    rows = sorted([r for r in out.index if r.startswith("weight ")], key=lambda r: -out.loc[r].iloc[0])
    table = out.loc[rows + [r for r in out.index if not r.startswith("weight ")]]
    diff = evidence.sharpe_diff_ci(books["dollar"].excess_returns, books["shares"].excess_returns, reps=reps)
    return WeightingComparison(table, diff, books)


def original_table(basket: pd.Series, bench: pd.Series, original_rebalance_days: int, original_cost: float,
               cash_rate: float | pd.Series = 0.0) -> pd.DataFrame:
    """The original book as built (with and without its costs) beside the same rule with the basket's beta.

    Columns: realized beta to the benchmark (daily OLS) from the first rebalance on (day
    ``original_rebalance_days``, 0-based: the days its hedge-ratio rule governs) and over all days
    (the first period is hedged with the basket's own beta fitted on that period, in sample,
    so it pulls the all-days beta towards 0), CAGR, volatility, Sharpe in excess of ``cash_rate``,
    max drawdown, the mean hedge ratio ``b`` and short fraction ``b / (1 + b)`` held, and the cost
    drag (annualized log growth lost to costs). The original project's costs are ``original_cost`` of the whole
    book at every rebalance: ``original_cost x 252 / original_rebalance_days`` a year.
    """
    rebalance_days = check_window("original_rebalance_days", original_rebalance_days, 3)
    variants = {"original book (averaged-leg beta), no costs": ("original", 0.0),
                "original book, its costs": ("original", original_cost),
                "same rule with the basket's beta, its costs": ("basket", original_cost)}
    books = {k: original_book(basket, bench, rebalance_days, tc, rule) for k, (rule, tc) in variants.items()}
    free = {rule: original_book(basket, bench, rebalance_days, 0.0, rule) for rule in ("original", "basket")}
    rows = {}
    for name, book in books.items():
        r = book.returns
        cash = CashConvention(cash_rate, 0.0, 0.0, 0.0).daily_cash(r.index)
        rule, tc = variants[name]
        years = len(r) / TRADING_DAYS
        drag = (np.log1p(free[rule].returns).sum() - np.log1p(r).sum()) / years
        rows[name] = {f"realized beta (day {rebalance_days} on)": ols(r.iloc[rebalance_days:], bench).params["x"],
                      "realized beta (all days)": ols(r.iloc[1:], bench).params["x"], "CAGR": metrics.cagr(r),
                      "Volatility": metrics.annualized_volatility(r), "Sharpe": metrics.sharpe_ratio(r, cash),
                      "Max drawdown": metrics.max_drawdown(r), "mean hedge ratio b": book.betas.iloc[1:].mean(),
                      "mean short fraction": book.short_ratio.iloc[1:].mean(), "cost drag / yr": drag}
    return pd.DataFrame(rows).T

