"""Notebook 02's study: the chosen LSTMs and the simple rules on the test period, as classifiers and
as trading filters, in one call that returns one result.

:func:`run` takes the prepared pairs (:func:`helpers.pairs.prepare_pair`), the configuration
chosen per pair on validation (:func:`helpers.grid.choose`) and its trained model, and scores the
test period once: test metrics of the LSTM and the baselines, paired intervals of their F1 and
ROC AUC differences (:mod:`helpers.pairverdict`), the three trading books (every |z| signal, the
LSTM filter, the logistic filter) after costs and at zero cost, the |z| book of the pairs that fail
the cointegration gate (not traded, for comparison), the books' Sharpe intervals, and the computed
answer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import evidence, pairbook
from helpers import grid as lstm_grid
from helpers import pairverdict as verdict
from helpers.backtest import CashConvention
from helpers.evidence import Interval
from helpers.pairs import PairData, baselines

MODELS = {"|z| rule": "|z| rule", "logistic": "logistic regression"}  # verdict name: baselines() name


@dataclass
class PairsStudy:
    """Everything notebook 02 shows after the grid search.

    test_probs : {pair: LSTM probabilities on the test dates (Series)}; reports : test metrics,
    rows (pair, model); y : {pair: test labels (n,)}; scored : {model: {pair: Scored}} for "LSTM",
    "|z| rule", "logistic"; vs_zrule, vs_logistic : F1 and ROC AUC differences with intervals
    (:func:`helpers.pairverdict.score_intervals`); signals : {book: {pair: bool Series}}, the
    days each filter lets a |z| signal trade; books, zero_cost : {book: Book} after costs and with
    ``cost_bps = 0`` (pairs passing the gate); untraded : {"|z| rule": Book} of the flagged pairs, or
    {}; book_rows : book-level summary rows per book (None when nothing traded);
    sharpe_vs_zrule, sharpe_vs_logistic : Sharpe differences of the LSTM book; vs_cash : {book:
    Interval of its Sharpe in excess of cash}; answer : the computed answer.
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
    book_rows: pd.DataFrame | None
    sharpe_vs_zrule: Interval
    sharpe_vs_logistic: Interval
    vs_cash: dict[str, Interval]
    answer: str

    @property
    def summaries(self) -> dict[str, pd.DataFrame]:
        """Per book: per-pair and book rows of :func:`helpers.pairbook.book_summary`."""
        return {m: pairbook.book_summary(b) for m, b in self.books.items()}

    @property
    def before_costs(self) -> dict[str, float]:
        """Per book: P/L over cash in dollars with ``cost_bps = 0``."""
        return {m: float(pairbook.book_summary(b).loc["book", "over cash $"]) for m, b in self.zero_cost.items()}

    def __str__(self) -> str:
        return self.answer

    def _repr_html_(self) -> str:
        return "<p>" + "</p><p>".join(self.answer.splitlines()) + "</p>"


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


def run(prices: pd.DataFrame, data: dict[str, PairData], chosen: pd.DataFrame, models: dict,
        convention: CashConvention, entry_z: float, holding_period: int, notional: float,
        not_comparable: list[str] = (), coint_level: float = 0.05) -> PairsStudy:
    """The test period scored once: classifiers, books and the answer (see the module docstring).

    prices : (dates, tickers) closes; data : {pair: PairData}; chosen : from
    :func:`helpers.grid.choose`; models : {(pair, config index): Trained}; entry_z, holding_period
    (days), notional (dollars per trade and per pair's capital): the book's rule;
    not_comparable : pairs left out of the per-pair count.
    """
    test_probs, reports, y, scored = classify(data, chosen, models)
    test_dates = {n: s.index for n, s in test_probs.items()}  # the pooled bootstrap resamples dates
    vs_z = verdict.score_intervals(y, scored, "LSTM", "|z| rule", dates=test_dates)
    vs_logit = verdict.score_intervals(y, scored, "LSTM", "logistic", dates=test_dates)
    tradable = {n: p for n, p in data.items() if p.passes}
    flagged = [n for n in data if n not in tradable]
    go = filters(test_probs, scored)
    books = pairbook.trade_books(prices, tradable, go, entry_z, holding_period, notional, convention)
    free = pairbook.trade_books(prices, tradable, go, entry_z, holding_period, notional,
                                dataclasses.replace(convention, cost_bps=0.0))
    untraded = pairbook.trade_books(prices, {n: data[n] for n in flagged}, {"|z| rule": go["|z| rule"]},
                                    entry_z, holding_period, notional, convention)
    summaries = {m: pairbook.book_summary(b) for m, b in books.items()}
    book_rows = pd.DataFrame({m: s.loc["book"] for m, s in summaries.items()}).T if summaries else None
    sharpe_z = verdict.sharpe_difference(books["LSTM"].excess, books["|z| rule"].excess) if books else verdict.NAN
    sharpe_l = verdict.sharpe_difference(books["LSTM"].excess, books["logistic"].excess) if books else verdict.NAN
    vs_cash = {m: evidence.sharpe_ci(b.excess) for m, b in books.items()}
    before_costs = {m: pairbook.book_summary(b).loc["book", "over cash $"] for m, b in free.items()}
    text = verdict.answer_text(
        vs_z, vs_logit, book_rows, sharpe_z, sharpe_l, list(tradable), flagged, vs_cash=vs_cash,
        before_costs=before_costs, not_comparable=list(not_comparable),
        flagged_over_cash=pairbook.book_summary(untraded["|z| rule"]).loc["book", "over cash $"] if untraded else None,
        coint_level=coint_level, period=pairbook.book_period(books["|z| rule"]) if books else "")
    return PairsStudy(test_probs, reports, y, scored, vs_z, vs_logit, go, books, free, untraded, book_rows,
                      sharpe_z, sharpe_l, vs_cash, text)
