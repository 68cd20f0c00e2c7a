"""Notebook 02's study: the chosen LSTMs and the simple rules on the test period, as classifiers and
as trading filters, in one call that returns one result.

:func:`run` takes the prepared pairs (:func:`helpers.pairs.prepare_pair`), the configuration
chosen per pair on validation (:func:`helpers.grid.choose`) and its trained model, and scores the
test period once: test metrics of the LSTM and the baselines, paired intervals of their F1 and
ROC AUC differences (:mod:`helpers.pairverdict`), the three trading books (every |z| signal, the
LSTM filter, the logistic filter) after costs and at zero cost, each book's gross edge and cost
per trade, the |z| book of the pairs that fail the cointegration gate (not traded, for
comparison), and the comparisons as :class:`helpers.comparison.Comparison` data with the
headline, verdict and caveats that :func:`helpers.reporting.conclude` shows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import grid as lstm_grid
from helpers import pairbook
from helpers import pairverdict as verdict
from helpers.backtest import CashConvention
from helpers.comparison import Comparison
from helpers.metrics import TRADING_DAYS
from helpers.pairs import PairData, baselines, multiple_testing_note

MODELS = {"|z| rule": "|z| rule", "logistic": "logistic regression"}  # verdict name: baselines() name
QUESTION = ("Can an LSTM predict whether a pair's spread reverts within days better than simple rules, "
            "out of sample, and does it pay as a trading filter after costs?")


@dataclass
class PairsStudy:
    """Everything notebook 02 shows after the grid search.

    test_probs : {pair: LSTM probabilities on the test dates (Series)}; reports : test metrics,
    rows (pair, model); y : {pair: test labels (n,)}; scored : {model: {pair: Scored}} for "LSTM",
    "|z| rule", "logistic"; vs_zrule, vs_logistic : F1 and ROC AUC differences with intervals per
    pair and pooled (:func:`helpers.pairverdict.score_intervals`); signals : {book: {pair: bool
    Series}}, the days each filter lets a |z| signal trade; books, zero_cost : {book: Book} after
    costs and with ``cost_bps = 0`` (pairs passing the gate); untraded : {"|z| rule": Book} of the
    flagged pairs, or {}; economics : per book, trades and the gross edge, cost and P/L per trade
    (:func:`helpers.pairbook.trade_economics`) with the Sharpe ratio over cash before and after
    costs; comparisons : LSTM vs |z| rule and vs logistic on pooled F1 and ROC AUC, then (when a
    pair traded) the LSTM book's Sharpe ratio minus each other book's and over cash;
    verdict, deciding, headline, caveats : what :func:`helpers.reporting.conclude` shows;
    trades_less : whether the LSTM book does better mostly because it trades less.
    """

    test_probs: dict[str, pd.Series]
    reports: pd.DataFrame
    y: dict[str, np.ndarray]
    scored: dict[str, dict[str, verdict.Scored]]
    vs_zrule: pd.DataFrame
    vs_logistic: pd.DataFrame
    signals: dict[str, dict[str, pd.Series]]
    books: dict[str, pairbook.Book]
    zero_cost: dict[str, pairbook.Book]
    untraded: dict[str, pairbook.Book]
    economics: pd.DataFrame
    comparisons: list[Comparison]
    verdict: str
    deciding: int
    headline: str
    caveats: list[str]
    trades_less: bool
    period: str
    question: str = QUESTION

    @property
    def summaries(self) -> dict[str, pd.DataFrame]:
        """Per book: per-pair and book rows of :func:`helpers.pairbook.book_summary`."""
        return {m: pairbook.book_summary(b) for m, b in self.books.items()}

    def economics_table(self) -> pd.DataFrame:
        """:attr:`economics` for reading: one row per book, short labels, rounded (bp, $, %)."""
        e = self.economics
        if e.empty:
            return e
        return pd.DataFrame({
            "trades": e["trades"].astype(int), "edge bp": e["edge_per_trade_bps"].astype(float).round(2),
            "cost bp": e["cost_per_trade_bps"].astype(float).round(2),
            "P/L per trade $": e["pnl_per_trade"].astype(float).round(0),
            "over cash $": e["over_cash"].astype(float).round(0),
            "Sharpe before costs": e["sharpe_before_costs"].astype(float).round(2),
            "Sharpe after": e["sharpe_after_costs"].astype(float).round(2),
            "costs % / yr": (100 * e["costs_per_year"].astype(float)).round(2),
            "volatility % / yr": (100 * e["volatility"].astype(float)).round(2)})

    @property
    def records(self) -> dict:
        """Key results for ``reporting.record``: per book trades, edge and cost per trade (bp),
        P/L per trade ($), Sharpe ratio over cash before and after costs, P/L over cash ($)."""
        e = self.economics
        per_book = lambda col: {m: e.loc[m, col] for m in e.index}  # noqa: E731
        return {"edge_per_trade_bps": per_book("edge_per_trade_bps"),
                "cost_per_trade_bps": per_book("cost_per_trade_bps"),
                "sharpe_before_costs": per_book("sharpe_before_costs"), "sharpe": per_book("sharpe_after_costs"),
                "trades": {m: int(v) for m, v in per_book("trades").items()},
                "pnl_per_trade": per_book("pnl_per_trade"), "over_cash": per_book("over_cash"),
                "lstm_better_mostly_by_trading_less": self.trades_less}

    def __str__(self) -> str:
        return "\n".join([self.headline, *(str(c) for c in self.comparisons), *self.caveats])

    def _repr_html_(self) -> str:
        return "<p>" + "</p><p>".join(str(self).splitlines()) + "</p>"


def classify(data: dict[str, PairData], chosen: pd.DataFrame, models: dict):
    """Test probabilities, metrics, labels and Scored models of the chosen LSTM and the baselines."""
    test_probs, reports, y = {}, {}, {}
    scored: dict[str, dict[str, verdict.Scored]] = {"LSTM": {}, **{k: {} for k in MODELS}}
    for name, pair in data.items():
        best = chosen.loc[name]
        test_probs[name] = lstm_grid.test_scores(pair, models[(name, int(best["config"]))])
        base = baselines(pair)
        reports[name] = lstm_grid.evaluate(pair, test_probs[name], best["threshold"], base)
        rows = pd.Index(pair.test).get_indexer(test_probs[name].index)
        y[name] = pair.labels.loc[test_probs[name].index].to_numpy()
        scored["LSTM"][name] = verdict.Scored(test_probs[name].to_numpy(), best["threshold"])
        for key, model in MODELS.items():
            scored[key][name] = verdict.Scored(base[model][0][rows], base[model][1])
    return test_probs, pd.concat(reports, names=["pair", "model"]), y, scored


def filters(test_probs: dict[str, pd.Series], scored: dict) -> dict[str, dict[str, pd.Series]]:
    """Per book and pair, the test days on which a |z| signal may trade: above the LSTM's or the
    logistic regression's validation threshold, or every day (the |z| rule)."""
    return {"LSTM": {n: pd.Series(scored["LSTM"][n].predictions > 0, p.index) for n, p in test_probs.items()},
            "|z| rule": {n: pd.Series(True, p.index) for n, p in test_probs.items()},
            "logistic": {n: pd.Series(scored["logistic"][n].predictions > 0, p.index) for n, p in test_probs.items()}}


def economics(books: dict[str, pairbook.Book], zero_cost: dict[str, pairbook.Book]) -> pd.DataFrame:
    """Rows per book: :func:`helpers.pairbook.trade_economics`, P/L over cash ($), the Sharpe
    ratio over cash after costs and with ``cost_bps = 0``, costs and borrow fees a year and the
    volatility of daily returns a year (fractions of capital)."""
    rows = {}
    for m, b in books.items():
        after, before = pairbook.book_summary(b).loc["book"], pairbook.book_summary(zero_cost[m]).loc["book"]
        years = len(b.equity) / TRADING_DAYS
        rows[m] = {**pairbook.trade_economics(b), "over_cash": float(after["over cash $"]),
                   "sharpe_before_costs": float(before["Sharpe"]), "sharpe_after_costs": float(after["Sharpe"]),
                   "costs_per_year": float((after["costs $"] + after["borrow $"]) / b.capital / years),
                   "volatility": float(b.returns.std() * np.sqrt(TRADING_DAYS))}
    return pd.DataFrame(rows).T


def run(prices: pd.DataFrame, data: dict[str, PairData], chosen: pd.DataFrame, models: dict,
        convention: CashConvention, entry_z: float, holding_period: int, notional: float,
        not_comparable: list[str] = (), coint_level: float = 0.05, reps: int = 1000) -> PairsStudy:
    """The test period scored once: classifiers, books, comparisons and the conclusion.

    prices : (dates, tickers) closes; data : {pair: PairData}; chosen : from
    :func:`helpers.grid.choose`; models : {(pair, config index): Trained}; entry_z, holding_period
    (days), notional (dollars per trade and per pair's capital): the book's rule;
    not_comparable : pairs left out of the per-pair count; reps : bootstrap resamples.
    """
    test_probs, reports, y, scored = classify(data, chosen, models)
    dates = {n: s.index for n, s in test_probs.items()}  # the pooled bootstrap resamples dates
    vs_z = verdict.score_intervals(y, scored, "LSTM", "|z| rule", reps=reps, dates=dates)
    vs_logit = verdict.score_intervals(y, scored, "LSTM", "logistic", reps=reps, dates=dates)
    comparisons = [*verdict.score_comparisons(y, scored, "LSTM", "|z| rule", vs_z.loc["pooled"], dates, reps),
                   *verdict.score_comparisons(y, scored, "LSTM", "logistic", vs_logit.loc["pooled"], dates, reps)]
    tradable = {n: p for n, p in data.items() if p.passes}
    flagged = [n for n in data if n not in tradable]
    go = filters(test_probs, scored)
    args = (entry_z, holding_period, notional)
    books = pairbook.trade_books(prices, tradable, go, *args, convention)
    free = pairbook.trade_books(prices, tradable, go, *args, dataclasses.replace(convention, cost_bps=0.0, borrow_fee=0.0))
    untraded = pairbook.trade_books(prices, {n: data[n] for n in flagged}, {"|z| rule": go["|z| rule"]}, *args,
                                    convention)
    econ = economics(books, free)
    if books:
        ex = {m: b.excess for m, b in books.items()}
        comparisons += [
            verdict.sharpe_comparison(ex["LSTM"], ex["|z| rule"], "LSTM book vs |z| book", "Sharpe ratio", reps),
            verdict.sharpe_comparison(ex["LSTM"], ex["logistic"], "LSTM book vs logistic book", "Sharpe ratio", reps),
            verdict.sharpe_comparison(ex["LSTM"], None, "LSTM book", "Sharpe ratio over cash", reps)]
    words, deciding = verdict.verdict(comparisons)
    head = verdict.headline(words, comparisons[deciding], econ.loc["LSTM"].to_dict() if books else None)
    period = pairbook.book_period(books["|z| rule"]) if books else ""
    less, caveats = False, []
    if books:
        less, note = verdict.trades_less(econ.to_dict("index"))
        caveats += [verdict.book_story(econ.to_dict("index"), convention.cost_bps), note]
    caveats += [_gate_note(list(tradable), flagged, untraded, coint_level, period),
                verdict.pair_count_note(vs_z.drop(index="pooled")["F1"], list(not_comparable)),
                "The LSTM's and the logistic regression's thresholds maximise validation F1, not P/L; trades "
                "execute at the close whose data decided them."]
    return PairsStudy(test_probs, reports, y, scored, vs_z, vs_logit, go, books, free, untraded, econ,
                      comparisons, words, deciding, head, caveats, less, period)


def _gate_note(traded: list[str], flagged: list[str], untraded: dict, coint_level: float, period: str) -> str:
    """Which pairs were traded (the cointegration gate), when, and what the others would have made."""
    gate = f"Engle-Granger with constant and trend on training data, p < {coint_level:g}"
    text = (f"Books trade {', '.join(traded)} ({gate}) from {period}." if traded else
            f"No pair passed the cointegration test ({gate}), so nothing was traded.")
    if flagged:
        text += f" Not traded: {', '.join(flagged)}"
        if untraded:
            over = pairbook.book_summary(untraded["|z| rule"]).loc["book", "over cash $"]
            text += f" (on every |z| signal they would have {verdict.made(over)} over cash)"
        text += "."
    return text + " " + multiple_testing_note(len(traded), len(traded) + len(flagged), coint_level)
