"""Notebook 02's verdict: paired intervals for classifier scores and trading books, as
:class:`helpers.comparison.Comparison` data, and the few computed sentences around them.

Classification: on each pair's test rows, F1 (predictions at each model's validation
threshold) and ROC AUC (scores) of the LSTM minus a baseline, with the paired block bootstrap
of :func:`helpers.evidence.score_diff_ci`; "pooled" scores every pair's test rows together and
resamples *dates*: a stationary bootstrap of blocks of the union of test dates, taking every
pair's rows on each drawn date (:func:`date_resamples`), so blocks never straddle two pairs and
the same-day dependence between pairs is kept. Trading: the paired block-bootstrap interval of
the Sharpe ratio difference of two books' daily excess returns
(:func:`helpers.evidence.sharpe_diff_ci`) and each book's Sharpe ratio in excess of cash
(:func:`helpers.evidence.sharpe_ci`). Every comparison is also decided on the first and second
half of the test dates (the same method on each half). Words come from :mod:`helpers.comparison`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from arch.bootstrap import StationaryBootstrap

from helpers import comparison as cmp
from helpers import evidence
from helpers.comparison import ABOVE, BELOW, Comparison
from helpers.evidence import Interval

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


def usd(x: float, signed: bool = False) -> str:
    """Dollars with the sign in front: ``-$23,372`` (``+$1,000`` when ``signed``)."""
    sign = "-" if x < 0 else "+" if signed and x > 0 else ""
    return f"{sign}${abs(x):,.0f}"


def made(x: float) -> str:
    """``"made $1,000"`` or ``"lost $23,372"``."""
    return f"{'lost' if x < 0 else 'made'} {usd(abs(x))}"


# ------------------------------------------------------------------------------ comparisons as data
SCORES = {"F1": ("predictions", "f1"), "ROC AUC": ("scores", "roc_auc")}


def pooled_halves(y: dict[str, np.ndarray], models: dict[str, dict[str, Scored]], a: str, b: str,
                  dates: dict[str, pd.Index], score: str, reps: int = 1000, seed: int = 0) -> tuple[str, str]:
    """Decisions of :func:`pooled_score_diff_ci` (``a - b`` on ``score``, "F1" or "ROC AUC") on the
    first and the second half of the union of the pairs' test dates (:func:`helpers.comparison.split_halves`)."""
    attr, metric = SCORES[score]
    names = list(y)
    union = pd.DatetimeIndex(np.concatenate([np.asarray(dates[n]) for n in names]))
    out = []
    for start, end in cmp.split_halves(union):
        keep = {n: np.asarray((pd.DatetimeIndex(dates[n]) >= start) & (pd.DatetimeIndex(dates[n]) <= end))
                for n in names}
        use = [n for n in names if keep[n].any()]
        i = pooled_score_diff_ci([pd.Index(dates[n])[keep[n]] for n in use], [np.asarray(y[n])[keep[n]] for n in use],
                                 [np.asarray(getattr(models[a][n], attr))[keep[n]] for n in use],
                                 [np.asarray(getattr(models[b][n], attr))[keep[n]] for n in use], metric, reps, seed)
        out.append(cmp.decide(i.low, i.high))
    return tuple(out)


def score_comparisons(y: dict[str, np.ndarray], models: dict[str, dict[str, Scored]], a: str, b: str,
                      pooled: pd.Series, dates: dict[str, pd.Index], reps: int = 1000, seed: int = 0,
                      names: tuple[str, str] | None = None) -> list[Comparison]:
    """F1 and ROC AUC of ``a`` minus ``b`` on the pooled test rows, with their halves.

    pooled : the "pooled" row of :func:`score_intervals` (Intervals under "F1" and "ROC AUC");
    names : how the two models read in words (default ``a``, ``b``).
    """
    na, nb = names or (a, b)
    return [Comparison.from_interval(pooled[s], f"{na} vs {nb}", f"{s} (pooled)", digits=3,
                                     halves=pooled_halves(y, models, a, b, dates, s, reps, seed))
            for s in SCORES]


def sharpe_comparison(excess_a: pd.Series, excess_b: pd.Series | None, what: str, measure: str,
                      reps: int = 1000, seed: int = 0) -> Comparison:
    """The Sharpe ratio difference of two books' daily excess returns (``excess_b`` None: the Sharpe
    ratio of ``excess_a`` against zero, i.e. against cash), with the decisions on each half of their dates."""
    if excess_b is None:
        def func(x):
            return NAN if x.std() < 1e-12 else evidence.sharpe_ci(x, reps=reps, seed=seed)
        data = (excess_a,)
    else:
        def func(x, z):
            return sharpe_difference(x, z, reps, seed)
        data = (excess_a, excess_b)
    return Comparison.from_interval(func(*data), what, measure, halves=cmp.halves_decisions(func, *data))


# ----------------------------------------------------------------------------------------- words
BOOKS = ("LSTM", "|z| rule", "logistic")


def verdict(comparisons: list[Comparison], n_classifier: int = 4) -> tuple[str, int]:
    """The verdict in a few words and the index of the comparison that decides it.

    The first ``n_classifier`` comparisons score the LSTM against the simple rules as a classifier,
    the next two its book against theirs (absent when nothing traded). Yes when the LSTM beats every
    rule on every score and book; partly when only as a classifier; no otherwise. The deciding
    comparison is the first that the LSTM trails (else the first it does not beat) among the
    classifier scores, then among the books; with a yes, the book against the |z| rule's.
    """
    cls, trade = comparisons[:n_classifier], comparisons[n_classifier:n_classifier + 2]

    def weakest(rows: list[Comparison], offset: int) -> int:
        for worse in (lambda c: c.decision == BELOW, lambda c: c.decision != ABOVE):
            hit = next((k for k, c in enumerate(rows) if worse(c)), None)
            if hit is not None:
                return offset + hit
        return offset

    if any(c.decision != ABOVE for c in cls):
        return "No: the LSTM does not beat the simple rules", weakest(cls, 0)
    if not trade or any(c.decision != ABOVE for c in trade):
        return "Partly: the LSTM classifies better but does not trade better", \
            weakest(trade, n_classifier) if trade else 0
    return "Yes: the LSTM beats the simple rules as a classifier and as a filter", n_classifier


def headline(verdict_words: str, deciding: Comparison, economics: dict | None = None) -> str:
    """At most 40 words: the verdict, the deciding figure with its interval, whether it holds in
    both halves, and the LSTM book's gross edge against its costs per trade (``economics`` from
    :func:`helpers.pairbook.trade_economics`; None: no pair passed the gate, nothing traded)."""
    c = deciding
    figure = f"{c.what.replace(' vs ', ' minus ')}, {c.measure}: " + cmp.format_interval(
        c.estimate, c.low, c.high, c.level, c.unit, c.digits)
    parts = [f"{verdict_words}. {figure}."]
    if c.holds_in_halves is False:
        held = [k for k, h in enumerate(c.halves) if h == c.decision]
        parts.append(f"Holds in the {('first', 'second')[held[0]]} half only." if held else "Holds in neither half.")
    if economics is None:
        parts.append("No pair passed the cointegration test: nothing traded.")
    elif economics["trades"]:
        parts.append(f"Per LSTM trade: {economics['edge_per_trade_bps']:+.1f} bp gross edge vs "
                     f"{economics['cost_per_trade_bps']:.1f} bp costs.")
    else:
        parts.append("The LSTM filter let no trade through.")
    text = " ".join(parts)
    if len(text.split()) > cmp.MAX_HEADLINE_WORDS:  # keep verdict and figure; drop the rest
        text = " ".join(parts[:2]) if len(" ".join(parts[:2]).split()) <= cmp.MAX_HEADLINE_WORDS else parts[0]
    return cmp.headline(text)


def book_story(economics: dict, cost_bps: float, book: str = "LSTM") -> str:
    """What a trade of ``book`` earns before costs against what it pays, and why its Sharpe ratio
    over cash after costs is so far below zero: costs a year against the book's volatility.

    economics : {book: row of :func:`helpers.pairs_study.economics`} with "trades",
    "edge_per_trade_bps", "cost_per_trade_bps", "notional_per_trade", "sharpe_before_costs",
    "sharpe_after_costs", "costs_per_year" and "volatility" (fractions of capital a year).
    """
    e = economics[book]
    if not e["trades"]:
        return f"The {book} book made no trade."
    n = e["notional_per_trade"]
    return (f"Per trade, the {book} book earns {e['edge_per_trade_bps']:+.1f} bp of its gross notional before costs "
            f"({usd(e['edge_per_trade_bps'] * n / 1e4, signed=True)} on {usd(n)}) and pays "
            f"{e['cost_per_trade_bps']:.1f} bp ({usd(e['cost_per_trade_bps'] * n / 1e4)}: {cost_bps:g} bp per side "
            f"on each leg, plus borrow fees). Its Sharpe ratio over cash is {e['sharpe_before_costs']:+.2f} before costs "
            f"and {e['sharpe_after_costs']:+.2f} after: costs take {e['costs_per_year']:.1%} of capital a year "
            f"against a volatility of {e['volatility']:.1%} a year.")


def trades_less(economics: dict, book: str = "LSTM", other: str = "|z| rule") -> tuple[bool, str]:
    """Whether ``book`` does better than ``other`` mostly because it trades less.

    The gap in total trade P/L, n_a p_a - n_b p_b (n trades, p mean P/L per trade after costs),
    splits into (n_a - n_b) p_b, from the number of trades, and n_a (p_a - p_b), from P/L per
    trade. True when the gap is positive and its first part is the larger. Returns ``(that, a
    sentence with both parts)``; ``economics`` : {book: {"trades", "pnl_per_trade"}}.
    """
    (na, pa), (nb, pb) = ((int(economics[k]["trades"]), economics[k]["pnl_per_trade"]) for k in (book, other))
    pa = 0.0 if na == 0 else pa
    gap, count, quality = na * pa - nb * pb, (na - nb) * pb, na * (pa - pb)
    because = gap > 0 and count > quality
    text = (f"Trade P/L after costs, {book} minus {other}: {usd(gap, True)} ({usd(na * pa, True)} over "
            f"{na} trades vs {usd(nb * pb, True)} over {nb}): {usd(count, True)} from trading "
            f"{'less' if na < nb else 'more' if na > nb else 'as often'}, {usd(quality, True)} from P/L per trade "
            f"({usd(pa, True)} vs {usd(pb, True)}).")
    if because:
        text += f" The {book} book does better mostly because it trades less."
    elif gap > 0:
        text += f" The {book} book does better mostly because its trades are better."
    elif gap < 0:
        text += (f" The {book} book does worse, mostly because its trades are worse." if quality <= count else
                 f" The {book} book does worse, mostly because of how often it trades.")
    return because, text


def pair_count_note(per_pair: pd.Series, not_comparable: list[str] = (), tolerance: float = 0.15) -> str:
    """Pair by pair, how often the LSTM's F1 beats and trails the |z| rule, over the pairs whose
    reversion rates are comparable across splits (``per_pair`` : {pair: Interval})."""
    counted = per_pair.drop(index=[n for n in not_comparable if n in per_pair.index])
    if not len(counted):
        return "No pair has comparable reversion rates across splits, so no pair-by-pair count is made."
    dec = [cmp.decide(i.low, i.high) for i in counted]
    text = (f"Pair by pair, on the {len(counted)} pair(s) whose reversion rates are comparable across splits, the "
            f"LSTM's F1 beats the |z| rule in {dec.count(ABOVE)}, trails it in {dec.count(BELOW)} and is "
            f"indistinguishable in {len(dec) - dec.count(ABOVE) - dec.count(BELOW)}.")
    if len(counted) < len(per_pair):
        text += (f" Left out (reversion rates differ by more than {tolerance:.0%} between splits): "
                 f"{', '.join(per_pair.index.difference(counted.index, sort=False))}.")
    return text
