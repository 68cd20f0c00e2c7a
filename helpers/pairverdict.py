"""Notebook 02's verdict: paired intervals for classifier scores and trading books, and the answer text.

Classification: on each pair's test rows, F1 (predictions at each model's validation
threshold) and ROC AUC (scores) of the LSTM minus a baseline, with the paired block bootstrap
of :func:`helpers.evidence.score_diff_ci`; "pooled" scores every pair's test rows together and
resamples *dates*: a stationary bootstrap of blocks of the union of test dates, taking every
pair's rows on each drawn date (:func:`date_resamples`), so blocks never straddle two pairs and
the same-day dependence between pairs is kept. Trading: the paired block-bootstrap interval of
the Sharpe ratio difference of two books' daily excess returns
(:func:`helpers.evidence.sharpe_diff_ci`) and each book's Sharpe ratio in excess of cash
(:func:`helpers.evidence.sharpe_ci`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from arch.bootstrap import StationaryBootstrap

from helpers import evidence
from helpers.evidence import Interval
from helpers.pairs import multiple_testing_note

NAN = Interval(float("nan"), float("nan"), float("nan"))


@dataclass
class Scored:
    """One model's test scores on a pair: scores (n,) and its validation-chosen threshold."""

    scores: np.ndarray
    threshold: float

    @property
    def predictions(self) -> np.ndarray:
        return (np.asarray(self.scores) > self.threshold).astype(float)


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank statistic, ties at their average rank (NaN with one class).

    The same number as :func:`helpers.evidence.roc_auc` and ``sklearn.metrics.roc_auc_score``.
    """
    return _auc_of_ranks(y_true, dense_ranks(score))


def dense_ranks(score: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... by increasing score, equal scores sharing one (ROC AUC depends on these only)."""
    return np.unique(np.asarray(score), return_inverse=True)[1].reshape(-1)


def _auc_of_ranks(y_true: np.ndarray, ranks: np.ndarray) -> float:
    """ROC AUC from dense ranks (:func:`dense_ranks`, possibly resampled): no sorting, so the
    bootstrap's thousands of resamples are cheap. Pairs (positive, negative) count 1 when the
    positive ranks higher, 1/2 when tied: sum over ranks of positives x (negatives below + half the
    negatives at that rank)."""
    y = np.asarray(y_true) > 0.5
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = np.asarray(ranks).astype(np.intp)
    size = int(r.max()) + 1
    pos, neg = np.bincount(r[y], minlength=size), np.bincount(r[~y], minlength=size)
    return float(pos @ (np.cumsum(neg) - neg / 2) / (n1 * n0))


METRICS = {"f1": evidence.f1, "roc_auc": roc_auc}


def date_resamples(dates: list[pd.Index], reps: int, seed: int, block: float) -> Iterator[np.ndarray]:
    """Row indices into the stacked rows (pair after pair, as listed) of ``reps`` bootstrap replicates.

    dates : per pair, the dates of its rows. Each replicate is a stationary bootstrap (mean block
    ``block`` days, arch) of the sorted union of dates; every pair's rows on each drawn date are
    taken, so a drawn date brings all pairs' rows of that day.
    """
    stacked = np.concatenate([np.asarray(d) for d in dates])
    union, pos = np.unique(stacked, return_inverse=True)
    order = np.argsort(pos, kind="stable")
    counts = np.bincount(pos, minlength=len(union))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bs = StationaryBootstrap(block, np.arange(len(union)), seed=np.random.default_rng(seed))
    for (drawn,), _ in bs.bootstrap(reps):
        c = counts[drawn]
        within = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
        yield order[np.repeat(starts[drawn], c) + within]


def pooled_score_diff_ci(dates: list[pd.Index], y: list[np.ndarray], a: list[np.ndarray], b: list[np.ndarray],
                         metric: str, reps: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """metric(y, a) - metric(y, b) on all pairs' rows together, with a percentile interval over
    :func:`date_resamples` (mean block length: the longest of the pairs' Politis-White blocks of labels)."""
    fn = METRICS[metric]
    yy, sa, sb = (np.concatenate([np.asarray(v, dtype=float) for v in x]) for x in (y, a, b))
    if metric == "roc_auc":  # the same AUCs from ranks, without sorting each resample
        fn, sa, sb = _auc_of_ranks, dense_ranks(sa), dense_ranks(sb)
    block = max(evidence.block_length(np.asarray(v, dtype=float)) if np.std(v) > 0 else 1.0 for v in y)

    def diff(rows):
        yr = yy[rows].astype(int)
        return float(fn(yr, sa[rows]) - fn(yr, sb[rows])) if len(np.unique(yr)) == 2 else float("nan")

    draws = np.array([diff(r) for r in date_resamples(dates, reps, seed, block)])
    draws = draws[np.isfinite(draws)]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(diff(np.arange(len(yy))), float(low), float(high), level, block)


def score_intervals(y: dict[str, np.ndarray], models: dict[str, dict[str, Scored]], a: str, b: str,
                    reps: int = 1000, seed: int = 0, dates: dict[str, pd.Index] | None = None) -> pd.DataFrame:
    """F1 and ROC AUC differences ``a - b`` per pair and pooled, with 95% intervals.

    y : {pair: labels (n,)}; models : {model: {pair: Scored}} on the same rows as y;
    dates : {pair: dates of those rows} for the pooled date bootstrap (None: row i of every pair
    is day i). Returns a frame indexed by pair (+ "pooled") with Interval objects in columns
    "F1", "ROC AUC".
    """
    names = list(y)
    dates = dates or {n: pd.RangeIndex(len(y[n])) for n in names}
    rows, parts = {}, {k: [] for k in ("y", "pa", "pb", "sa", "sb")}
    for name in names:
        ma, mb = models[a][name], models[b][name]
        yy, pa, pb, sa, sb = y[name], ma.predictions, mb.predictions, ma.scores, mb.scores
        for k, v in zip(parts, (yy, pa, pb, sa, sb)):
            parts[k].append(np.asarray(v, dtype=float))
        rows[name] = {"F1": evidence.score_diff_ci(yy, pa, pb, evidence.f1, reps=reps, seed=seed),
                      "ROC AUC": evidence.score_diff_ci(yy, dense_ranks(sa), dense_ranks(sb), _auc_of_ranks,
                                                        reps=reps, seed=seed)}  # AUC needs the ranks only
    d = [dates[n] for n in names]
    rows["pooled"] = {"F1": pooled_score_diff_ci(d, parts["y"], parts["pa"], parts["pb"], "f1", reps, seed),
                      "ROC AUC": pooled_score_diff_ci(d, parts["y"], parts["sa"], parts["sb"], "roc_auc", reps, seed)}
    return pd.DataFrame(rows).T


def interval_table(ci: pd.DataFrame, fmt: str = "+.3f") -> pd.DataFrame:
    """Intervals as printable strings: ``"+0.012 [-0.020, +0.041]"``."""
    return ci.map(lambda i: f"{i.estimate:{fmt}} [{i.low:{fmt}}, {i.high:{fmt}}]")


def sharpe_difference(excess_a: pd.Series, excess_b: pd.Series, reps: int = 1000, seed: int = 0) -> Interval:
    """Paired Sharpe difference a - b of two books; NaN when either never leaves cash (zero variance)."""
    if excess_a.std() < 1e-12 or excess_b.std() < 1e-12:
        return NAN
    return evidence.sharpe_diff_ci(excess_a, excess_b, reps=reps, seed=seed)


def _verb(i: Interval) -> str:
    if not (np.isfinite(i.low) and np.isfinite(i.high)):
        return "cannot be compared with"
    return "beats" if i.low > 0 else "trails" if i.high < 0 else "shows no evidence of differing from"


def usd(x: float, signed: bool = False) -> str:
    """Dollars with the sign in front: ``-$23,372`` (``+$1,000`` when ``signed``)."""
    sign = "-" if x < 0 else "+" if signed and x > 0 else ""
    return f"{sign}${abs(x):,.0f}"


def made(x: float) -> str:
    """``"made $1,000"`` or ``"lost $23,372"``."""
    return f"{'lost' if x < 0 else 'made'} {usd(abs(x))}"


BOOK_NAMES = {"LSTM": "the LSTM-filtered book", "|z| rule": "trading every |z| signal",
              "logistic": "the logistic filter"}


def cash_sentence(vs_cash: dict[str, Interval], before_costs: dict[str, float]) -> str:
    """Whether each book beats cash after costs (its excess Sharpe interval), and its P/L over cash
    before costs. vs_cash : {book: sharpe_ci of its daily excess returns}; before_costs :
    {book: P/L over cash in dollars with cost_bps = 0}."""
    verbs = {k: _verb(i) for k, i in vs_cash.items()}
    beat = [k for k, v in verbs.items() if v == "beats"]
    if beat:
        head = f"After costs, {', '.join(beat)} beat{'s' if len(beat) == 1 else ''} cash (Sharpe interval above zero)"
        rest = [k for k in verbs if k not in beat]
        head += f"; {', '.join(rest)} do{'es' if len(rest) == 1 else ''} not." if rest else "."
    elif all(v == "trails" for v in verbs.values()):
        head = "No book beats cash after costs: every book's Sharpe ratio in excess of cash has a 95% interval below zero."
    else:
        head = "No book beats cash after costs: no book's Sharpe ratio in excess of cash has a 95% interval above zero."
    before = ", ".join(f"{k} {usd(v, signed=True)}" for k, v in before_costs.items())
    tail = f" Before costs (cost_bps = 0) the books' P/L over cash was {before}"
    after_neg, before_pos = all(v == "trails" for v in verbs.values()), all(v > 0 for v in before_costs.values())
    tail += ": the trades' gross edge is smaller than their costs." if after_neg and before_pos else "."
    return head + tail


def answer_text(vs_zrule: pd.DataFrame, vs_logistic: pd.DataFrame, books: pd.DataFrame,
                sharpe_vs_zrule: Interval, sharpe_vs_logistic: Interval, traded: list[str],
                flagged: list[str], vs_cash: dict[str, Interval] | None = None,
                before_costs: dict[str, float] | None = None, not_comparable: list[str] = (),
                flagged_over_cash: float | None = None, coint_level: float = 0.05, period: str = "",
                tolerance: float = 0.15) -> str:
    """The computed answer: the LSTM against the |z| rule and logistic regression, as a classifier
    (pooled F1 and ROC AUC differences with intervals, per-pair counts over the pairs with
    comparable reversion rates) and as a trading filter (each book's P/L over cash and Sharpe in
    excess of cash with its interval, the same before costs, the Sharpe differences' intervals),
    the pairs not traded, then a plain verdict.

    vs_zrule, vs_logistic : from :func:`score_intervals`; books : rows "LSTM", "|z| rule",
    "logistic" with columns "over cash $" and "Sharpe" (book level, after costs); vs_cash :
    {book: Interval of its excess Sharpe}; before_costs : {book: P/L over cash $ at cost_bps = 0};
    not_comparable : pairs whose reversion rates differ by more than ``tolerance`` between splits
    (left out of the per-pair count); flagged_over_cash : P/L over cash $ of the flagged pairs
    traded on every |z| signal; period : the books' dates, e.g. "2020-01-02 to 2024-12-23".
    """
    pooled = vs_zrule.loc["pooled"]
    per_pair = vs_zrule.drop(index="pooled")["F1"]
    counted = per_pair.drop(index=[n for n in not_comparable if n in per_pair.index])
    counts = {v: sum(_verb(i) == v for i in counted) for v in ("beats", "trails")}
    if len(counted):
        count = (f" Pair by pair, on the {len(counted)} pair(s) whose reversion rates are comparable across "
                 f"splits, the LSTM's F1 beats the |z| rule in {counts['beats']}, trails it in {counts['trails']} "
                 f"and is indistinguishable in {len(counted) - counts['beats'] - counts['trails']}.")
    else:
        count = " No pair has comparable reversion rates across splits, so no pair-by-pair count is made."
    if len(counted) < len(per_pair):
        count += (f" Not comparable (reversion rates differ by more than {tolerance:.0%} between train, "
                  f"validation and test) and excluded from that count: {', '.join(per_pair.index.difference(counted.index, sort=False))}.")
    lines = [
        f"As a classifier, on the pooled test rows of {len(per_pair)} pairs: "
        + evidence.decide(pooled["F1"], "the LSTM", "the |z| rule", "F1", "+.3f") + " "
        + evidence.decide(pooled["ROC AUC"], "the LSTM", "the |z| rule", "ROC AUC", "+.3f") + " "
        + evidence.decide(vs_logistic.loc["pooled", "F1"], "the LSTM", "logistic regression", "F1", "+.3f") + " "
        + evidence.decide(vs_logistic.loc["pooled", "ROC AUC"], "the LSTM", "logistic regression", "ROC AUC",
                          "+.3f")
        + count]
    gate = f"Engle-Granger with constant and trend on training data, p < {coint_level:g}"
    if traded:
        single = " (a single pair: the book is that pair's result)" if len(traded) == 1 else ""
        ci = {k: f", 95% CI {evidence.fmt_ci(vs_cash[k])}" if vs_cash else "" for k in BOOK_NAMES}
        parts = [f"{BOOK_NAMES[k]} {made(books.loc[k, 'over cash $'])} over cash (Sharpe in excess of cash "
                 f"{books.loc[k, 'Sharpe']:.2f}{ci[k]})" for k in BOOK_NAMES]
        lines.append(
            f"As a trading filter after costs{f' ({period})' if period else ''}, in a book of the {len(traded)} "
            f"pair(s) that pass the cointegration test ({gate}: {', '.join(traded)}){single}: "
            f"{parts[0][:1].upper() + parts[0][1:]}; {parts[1]}; {parts[2]}. "
            + (cash_sentence(vs_cash, before_costs) + " " if vs_cash and before_costs else "")
            + evidence.decide(sharpe_vs_zrule, "the LSTM-filtered book", "the unfiltered |z| book") + " "
            + evidence.decide(sharpe_vs_logistic, "the LSTM-filtered book", "the logistic-filtered book"))
    else:
        lines.append(f"No pair passed the cointegration test ({gate}), so nothing was traded.")
    if flagged:
        line = (f"Not cointegrated (Engle-Granger with constant and trend on training data, p >= {coint_level:g}) "
                f"and not traded: {', '.join(flagged)}")
        if flagged_over_cash is not None:
            line += f"; traded on every |z| signal they would have {made(flagged_over_cash)} over cash after costs"
        lines.append(line + ".")
    n_tested = len(traded) + len(flagged)
    if n_tested:
        lines.append(multiple_testing_note(len(traded), n_tested, coint_level))
    cls = [_verb(pooled["F1"]), _verb(pooled["ROC AUC"]), _verb(vs_logistic.loc["pooled", "F1"]),
           _verb(vs_logistic.loc["pooled", "ROC AUC"])]
    trade = [_verb(sharpe_vs_zrule), _verb(sharpe_vs_logistic)]
    won_cls, won_trade = all(v == "beats" for v in cls), traded and all(v == "beats" for v in trade)
    if won_cls and won_trade:
        verdict = "Yes: the LSTM beats the simple rules out of sample, as a classifier and as a trading filter."
    else:
        cls_word = ("beats both simple rules" if won_cls else "trails a simple rule on at least one score"
                    if "trails" in cls else "does not beat both simple rules")
        trade_word = ("beats them after costs" if won_trade else "was not traded" if not traded
                      else "trails a simple rule after costs" if "trails" in trade
                      else "shows no evidence of a better Sharpe ratio after costs")
        head = ("Verdict: partly: the LSTM beats the simple rules as a classifier, not as a trading filter"
                if won_cls else "Verdict: no evidence that the LSTM beats the simple rules out of sample")
        verdict = f"{head}: as a classifier it {cls_word}; as a trading filter it {trade_word}."
    lines.append(verdict)
    return "\n".join(lines)
