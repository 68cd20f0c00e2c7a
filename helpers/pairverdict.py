"""Notebook 02's verdict: paired intervals for classifier scores and trading books, and the answer text.

Classification: on each pair's test rows, F1 (predictions at each model's validation
threshold) and ROC AUC (scores) of the LSTM minus a baseline, with the paired block bootstrap
of :func:`helpers.evidence.score_diff_ci`; "pooled" stacks every pair's test rows (pair after
pair, each in time order). Trading: the paired block-bootstrap interval of the Sharpe ratio
difference of two books' daily excess returns (:func:`helpers.evidence.sharpe_diff_ci`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import evidence
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


def score_intervals(y: dict[str, np.ndarray], models: dict[str, dict[str, Scored]], a: str, b: str,
                    reps: int = 1000, seed: int = 0) -> pd.DataFrame:
    """F1 and ROC AUC differences ``a - b`` per pair and pooled, with 95% intervals.

    y : {pair: labels (n,)}; models : {model: {pair: Scored}} on the same rows as y.
    Returns a frame indexed by pair (+ "pooled") with Interval objects in columns "F1", "ROC AUC".
    """
    rows = {}
    names = list(y)
    stacked = {k: [] for k in ("y", "pa", "pb", "sa", "sb")}
    for name in [*names, "pooled"]:
        if name == "pooled":
            yy, pa, pb, sa, sb = (np.concatenate(stacked[k]) for k in ("y", "pa", "pb", "sa", "sb"))
        else:
            ma, mb = models[a][name], models[b][name]
            yy, pa, pb, sa, sb = y[name], ma.predictions, mb.predictions, ma.scores, mb.scores
            for k, v in zip(("y", "pa", "pb", "sa", "sb"), (yy, pa, pb, sa, sb)):
                stacked[k].append(np.asarray(v, dtype=float))
        rows[name] = {"F1": evidence.score_diff_ci(yy, pa, pb, "f1", reps=reps, seed=seed),
                      "ROC AUC": evidence.score_diff_ci(yy, sa, sb, "roc_auc", reps=reps, seed=seed)}
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


def answer_text(vs_zrule: pd.DataFrame, vs_logistic: pd.DataFrame, books: pd.DataFrame,
                sharpe_vs_zrule: Interval, sharpe_vs_logistic: Interval, traded: list[str],
                flagged: list[str]) -> str:
    """The computed answer: the LSTM against the |z| rule and logistic regression, as a classifier
    (pooled F1 and ROC AUC differences with intervals, per-pair counts) and as a trading filter
    (book P/L over cash, Sharpe and the Sharpe difference's interval), then a plain verdict.

    vs_zrule, vs_logistic : from :func:`score_intervals`; books : rows "LSTM", "|z| rule",
    "logistic" with columns "over cash $" and "Sharpe" (book level, after costs).
    """
    pooled = vs_zrule.loc["pooled"]
    per_pair = vs_zrule.drop(index="pooled")["F1"]
    counts = {v: sum(_verb(i) == v for i in per_pair) for v in ("beats", "trails")}
    lines = [
        f"As a classifier, on the pooled test rows of {len(per_pair)} pairs: "
        + evidence.decide(pooled["F1"], "the LSTM", "the |z| rule", "F1", "+.3f") + " "
        + evidence.decide(pooled["ROC AUC"], "the LSTM", "the |z| rule", "ROC AUC", "+.3f") + " "
        + evidence.decide(vs_logistic.loc["pooled", "F1"], "the LSTM", "logistic regression", "F1", "+.3f") + " "
        + evidence.decide(vs_logistic.loc["pooled", "ROC AUC"], "the LSTM", "logistic regression", "ROC AUC",
                          "+.3f")
        + f" Pair by pair, the LSTM's F1 beats the |z| rule in {counts['beats']}, trails it in "
        f"{counts['trails']} and is indistinguishable in {len(per_pair) - counts['beats'] - counts['trails']}."]
    if traded:
        lines.append(
            f"As a trading filter after costs, in a book of the {len(traded)} pair(s) that pass the training-"
            f"period cointegration test ({', '.join(traded)}): the LSTM-filtered book made "
            f"${books.loc['LSTM', 'over cash $']:,.0f} over cash (Sharpe {books.loc['LSTM', 'Sharpe']:.2f}), trading "
            f"every |z| signal ${books.loc['|z| rule', 'over cash $']:,.0f} (Sharpe "
            f"{books.loc['|z| rule', 'Sharpe']:.2f}), the logistic filter ${books.loc['logistic', 'over cash $']:,.0f} "
            f"(Sharpe {books.loc['logistic', 'Sharpe']:.2f}). "
            + evidence.decide(sharpe_vs_zrule, "the LSTM-filtered book", "the unfiltered |z| book") + " "
            + evidence.decide(sharpe_vs_logistic, "the LSTM-filtered book", "the logistic-filtered book"))
    else:
        lines.append("No pair passed the training-period cointegration test, so nothing was traded.")
    if flagged:
        lines.append(f"Flagged as not mean-reverting on training data and not traded: {', '.join(flagged)}.")
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
