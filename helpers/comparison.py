"""Comparisons as data, and the one place where they become words.

A :class:`Comparison` is one answer to "is a different from b?": the estimate of
``measure(a) - measure(b)`` with its confidence interval, the decision that interval supports,
the smallest effect the test could have detected, and the decision on each half of the period.

* Maths (numbers in, numbers or decision codes out): :func:`decide`, :func:`standard_error`,
  :func:`min_detectable_effect`, :func:`split_halves`, :func:`halves_intervals`,
  :func:`halves_decisions`, :func:`holm`, :func:`holm_decisions`, :func:`holm_adjust`.
* Words (everything a reader sees): :func:`format_interval`, :func:`sentence`, :func:`table`,
  :func:`render`, :func:`headline`.

References
----------
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6, 65-70.
Cohen, J. (1988). Statistical power analysis for the behavioral sciences, 2nd ed.: the minimum
detectable effect of a two-sided z-test is (z_{1-alpha/2} + z_{power}) times the standard error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ABOVE, BELOW, NONE = "above zero", "below zero", "no evidence"
SAME, NO_DATA = "about the same", "too little data"
DECISIONS = (ABOVE, BELOW, NONE, SAME, NO_DATA)
ALPHA, POWER = 0.05, 0.80


# ----------------------------------------------------------------------------------------- maths
def decide(low: float, high: float, margin: float | None = None) -> str:
    """The decision an interval for a difference supports, at the interval's own level.

    Parameters
    ----------
    low, high : float  bounds of the interval for ``a - b`` (a 90% interval decides at the 10% level)
    margin : float     optional equivalence margin, in the units of the interval: when the whole
                       interval lies within ``[-margin, +margin]`` the decision is ``SAME``

    Returns
    -------
    str : one of ``DECISIONS``: ``SAME`` (within the margin), else ``ABOVE`` (low > 0), ``BELOW``
    (high < 0), ``NONE`` (the interval includes zero), ``NO_DATA`` (a bound is NaN or infinite).
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return NO_DATA
    if margin is not None and -margin <= low and high <= margin:
        return SAME
    return ABOVE if low > 0 else BELOW if high < 0 else NONE


def standard_error(low: float, high: float, level: float = 0.95) -> float:
    """Standard error implied by a two-sided interval: half-width / z_{(1+level)/2} (normal approximation)."""
    return float((high - low) / (2 * stats.norm.ppf((1 + level) / 2)))


def min_detectable_effect(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true difference a two-sided level-``alpha`` z-test detects with probability ``power``.

    ``(z_{1-alpha/2} + z_{power}) * se``, in the units of ``se`` (2.80 se at the defaults).
    """
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def split_halves(data) -> tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """The first and second half of the dates of ``data``, as two inclusive ``(start, end)`` ranges.

    Parameters
    ----------
    data : DatetimeIndex, Series or DataFrame (n_rows, ...)  its distinct dates are split by count:
           the first half holds ``n // 2`` of the ``n`` dates, the second the rest
    """
    index = data if isinstance(data, pd.Index) else data.index
    dates = pd.DatetimeIndex(index).unique().sort_values()
    if len(dates) < 2:
        raise ValueError(f"split_halves needs at least 2 distinct dates, got {len(dates)}")
    mid = len(dates) // 2
    return (dates[0], dates[mid - 1]), (dates[mid], dates[-1])


def halves_intervals(func: Callable, *data) -> tuple:
    """``func`` evaluated on the first and on the second half of the dates of ``data``.

    Parameters
    ----------
    func : callable(*data) -> Interval   the same method as on the whole period
    *data : Series or DataFrame          one or more, all sliced by the dates of the first
    """
    first, second = split_halves(data[0])
    return tuple(func(*(d.loc[start:end] for d in data)) for start, end in (first, second))


def halves_decisions(func: Callable, *data, margin: float | None = None) -> tuple[str, str]:
    """:func:`decide` on each interval of :func:`halves_intervals`: ``(first, second)``."""
    return tuple(decide(i.low, i.high, margin) for i in halves_intervals(func, *data))


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjustment of m p-values.

    Returns
    -------
    reject : bool array (m,)      True where the adjusted p-value is <= ``alpha``
    adjusted : float array (m,)   max over k <= rank of min(1, (m - k) p_(k)), in the input order
    """
    p = np.asarray(p_values, dtype=float)
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    order = np.argsort(p, kind="stable")
    steps = np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(steps)
    return adjusted <= alpha, adjusted


def holm_decisions(estimates: Sequence[float], p_values: Sequence[float], alpha: float = ALPHA) -> list[str]:
    """Decisions at a family-wise level ``alpha``: the estimate's side where Holm rejects, else ``NONE``."""
    reject, _ = holm(p_values, alpha)
    return [(ABOVE if e > 0 else BELOW) if r else NONE for e, r in zip(estimates, reject)]


# ------------------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class Comparison:
    """One comparison: ``measure(a) - measure(b)`` with its interval and what it supports.

    Attributes
    ----------
    what : str          ``"a vs b"`` (e.g. "overlay vs base"), or one name when compared with zero
    measure : str       the quantity compared (e.g. "Sharpe ratio")
    estimate, low, high : float   the difference and its interval, in ``unit``
    level : float       confidence level of the interval (0.95)
    unit : str          "" (a ratio), "% a year", "points", ...
    decision : str      one of ``DECISIONS``; None computes it with :func:`decide`
    mde : float         minimum detectable effect (80% power, 5% two-sided), in ``unit``; None
                        computes it from ``se``, or from the interval when ``se`` is None
    se : float          bootstrap standard error of the estimate, in ``unit`` (optional)
    halves : (str, str) decisions on the first and second half of the period, or None
    p_value : float     two-sided p-value (optional; needed by :func:`holm_adjust`)
    p_adjusted : float  Holm-adjusted p-value, when the decision is Holm's
    adjusted_level : float   confidence level of Holm's step for this comparison, 1 - alpha / (m - rank)
    margin : float      equivalence margin of :func:`decide`, in ``unit`` (optional)
    better : str        "higher" or "lower": which side of ``measure`` is better (a positive
                        difference then reads "a beats b" or "a trails b"); None: neither
    digits : int        decimals shown
    """

    what: str
    measure: str
    estimate: float
    low: float
    high: float
    level: float = 0.95
    unit: str = ""
    decision: str | None = None
    mde: float | None = None
    se: float | None = None
    halves: tuple[str, str] | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    adjusted_level: float | None = None
    margin: float | None = None
    better: str | None = "higher"
    digits: int = 2

    def __post_init__(self):
        if not 0 < self.level < 1:
            raise ValueError(f"level must lie in (0, 1), got {self.level!r}")
        for name in ("estimate", "low", "high"):
            object.__setattr__(self, name, _num(getattr(self, name)))
        if self.low > self.high:
            raise ValueError(f"{self.what}: low {self.low!r} is above high {self.high!r}")
        if self.decision is None:
            object.__setattr__(self, "decision", decide(self.low, self.high, self.margin))
        if self.mde is None:
            se = standard_error(self.low, self.high, self.level) if self.se is None else self.se
            object.__setattr__(self, "mde", min_detectable_effect(se))
        if self.halves is not None:
            object.__setattr__(self, "halves", tuple(self.halves))
        for d in (self.decision, *(self.halves or ())):
            if d not in DECISIONS:
                raise ValueError(f"{self.what}: decision {d!r} is not one of {DECISIONS}")
        if self.better not in ("higher", "lower", None):
            raise ValueError(f"{self.what}: better must be 'higher', 'lower' or None, got {self.better!r}")
        if self.decision == SAME and self.margin is None:
            raise ValueError(f"{self.what}: decision {SAME!r} needs the equivalence margin")
        if self.halves is not None and len(self.halves) != 2:
            raise ValueError(f"{self.what}: halves needs 2 decisions, got {len(self.halves)}")

    @classmethod
    def from_interval(cls, interval, what: str, measure: str, **kwargs) -> Comparison:
        """From any object with ``estimate``, ``low``, ``high`` and ``level`` (``evidence.Interval``)."""
        return cls(what, measure, interval.estimate, interval.low, interval.high,
                   getattr(interval, "level", 0.95), **kwargs)

    @classmethod
    def from_dict(cls, d: dict) -> Comparison:
        """Inverse of :meth:`to_dict` (None -> NaN for the interval)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in fields}
        for k in ("estimate", "low", "high", "mde"):
            kw[k] = float("nan") if kw.get(k) is None else kw[k]
        return cls(**kw)

    @property
    def holds_in_halves(self) -> bool | None:
        """True when both halves reach the whole period's decision; None when halves are unknown."""
        return None if self.halves is None else all(h == self.decision for h in self.halves)

    def to_dict(self) -> dict:
        """JSON-safe record: NaN and infinities become None, ``halves`` a list."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["halves"] = list(self.halves) if self.halves is not None else None
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}

    def __str__(self) -> str:
        return sentence(self)


def _num(x) -> float:
    return float("nan") if x is None else float(x)


def holm_adjust(comparisons: Sequence[Comparison], alpha: float = ALPHA) -> list[Comparison]:
    """The comparisons with Holm's family-wise decisions, adjusted p-values and step levels; each
    minimum detectable effect at the level Holm tests it at (alpha / (m - rank)), not at 5%."""
    missing = [c.what for c in comparisons if c.p_value is None]
    if missing:
        raise ValueError(f"holm_adjust needs a p_value on every comparison; missing on {missing}")
    p = [c.p_value for c in comparisons]
    decisions = holm_decisions([c.estimate for c in comparisons], p, alpha)
    _, adjusted = holm(p, alpha)
    rank = np.empty(len(p), dtype=int)
    rank[np.argsort(p, kind="stable")] = np.arange(len(p))
    out = []
    for c, d, a, r in zip(comparisons, decisions, adjusted, rank):
        step = alpha / (len(p) - r)  # the level Holm tests this comparison at
        se = standard_error(c.low, c.high, c.level) if c.se is None else c.se
        out.append(dataclasses.replace(c, decision=d, p_adjusted=float(a), adjusted_level=1 - step,
                                       mde=min_detectable_effect(se, alpha=step)))
    return out


# ----------------------------------------------------------------------------------------- words
def _level(level: float) -> str:
    return f"{level * 100:g}%"


def _value(x: float, unit: str, digits: int, sign: str = "+") -> str:
    gap = "" if unit.startswith("%") or not unit else " "
    return f"{x:{sign}.{digits}f}{gap}{unit}"


def format_interval(estimate: float, low: float, high: float, level: float = 0.95, unit: str = "",
                    digits: int = 2) -> str:
    """``"+0.12 (95% CI +0.02 to +0.22)"``, with the interval's own level (``"90% CI"`` at 0.9)."""
    return f"{_value(estimate, unit, digits)} ({_ci(low, high, level, unit, digits)})"


def _ci(low: float, high: float, level: float, unit: str, digits: int) -> str:
    return f"{_level(level)} CI {_value(low, '', digits)} to {_value(high, unit, digits)}"


def _names(c: Comparison, a: str | None, b: str | None) -> tuple[str, str | None]:
    parts = c.what.split(" vs ", 1)
    return a or parts[0], b if b is not None else (parts[1] if len(parts) == 2 else None)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _words(c: Comparison, decision: str, a: str | None = None, b: str | None = None) -> str:
    """A decision in a few words: "the overlay higher", "no evidence", "about the same"."""
    a, b = _names(c, a, b)
    if decision not in (ABOVE, BELOW) or b is None:
        return decision
    up = decision == ABOVE
    if c.better in ("higher", "lower"):  # say which side is better, whatever the sign convention
        return f"{a} {'better' if up == (c.better == 'higher') else 'worse'}"
    return f"{a} {'higher' if up else 'lower'}"


def sentence(c: Comparison, a: str | None = None, b: str | None = None) -> str:
    """One sentence on ``c`` for an answer: the decision, the estimate with its interval, the
    minimum detectable effect when there is no evidence, and the halves when they disagree.

    ``a`` and ``b`` name the two sides (``measure(a) - measure(b)``); by default they are read
    from ``c.what`` ("a vs b"); with one name only, the comparison is with zero.
    """
    a, b = _names(c, a, b)
    est = format_interval(c.estimate, c.low, c.high, c.level, c.unit, c.digits)
    if c.p_adjusted is not None:
        est = est[:-1] + f", unadjusted; Holm-adjusted p = {c.p_adjusted:.3f})"
    m = c.measure
    if c.decision == NO_DATA:
        return f"Too little data to compare {a} and {b} on {m}." if b else f"Too little data to estimate {m}."
    if c.decision in (ABOVE, BELOW):
        up = c.decision == ABOVE
        if not b:
            text = f"{_cap(m)} of {a} is {'above' if up else 'below'} zero: {est}."
        elif c.better is None:
            text = f"{_cap(a)} has a {'higher' if up else 'lower'} {m} than {b}: {est}."
        else:
            text = f"{_cap(a)} {'beats' if up == (c.better == 'higher') else 'trails'} {b} on {m}: {est}."
    elif c.decision == SAME:
        text = (f"{_cap(a)} and {b} are about the same on {m}: {est}, within "
                f"{_value(c.margin, c.unit, c.digits, '')} of zero." if b else
                f"{_cap(m)} of {a} is about zero: {est}.")
    else:
        head = (f"No evidence that {a} and {b} differ in {m}" if b else
                f"No evidence that {m} of {a} differs from zero")
        text = (f"{head}: {est}; the test could not detect a difference smaller than "
                f"{_value(c.mde, c.unit, c.digits, '')}.")
    if c.holds_in_halves is False:
        text += (f" It does not hold in both halves (first: {_words(c, c.halves[0], a, b)}, "
                 f"second: {_words(c, c.halves[1], a, b)}).")
    return text


COLUMNS = ("Comparison", "Measure", "Difference", "Interval", "Decision", "Detectable (80% power)",
           "First half", "Second half")


def table(comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """The comparisons as a table of text, one row each, with human column labels (``COLUMNS``)."""
    rows = []
    for c in comparisons:
        halves = [_words(c, h) for h in c.halves] if c.halves is not None else ["", ""]
        said = _words(c, c.decision)
        if c.decision != decide(c.low, c.high, c.margin):  # a stricter rule than this interval decided
            said += (f" (Holm-adjusted p {c.p_adjusted:.2f})" if c.p_adjusted is not None and math.isfinite(c.p_adjusted)
                     else " (by the stricter rule)")
        rows.append([c.what, c.measure, _value(c.estimate, c.unit, c.digits),
                     _ci(c.low, c.high, c.level, c.unit, c.digits),
                     said, _value(c.mde, c.unit, c.digits, ""), *halves])
    return pd.DataFrame(rows, columns=list(COLUMNS))


def render(comparisons: Sequence[Comparison] | pd.DataFrame, fmt: str = "markdown") -> str:
    """:func:`table` as a markdown pipe table (``fmt="markdown"``) or an HTML table (``fmt="html"``)."""
    df = comparisons if isinstance(comparisons, pd.DataFrame) else table(comparisons)
    if fmt == "html":
        return df.to_html(index=False, border=0, classes="comparisons", na_rep="")
    if fmt != "markdown":
        raise ValueError(f"fmt must be 'markdown' or 'html', got {fmt!r}")
    cell = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


MAX_HEADLINE_WORDS = 40


def headline(text: str, limit: int = MAX_HEADLINE_WORDS) -> str:
    """``text`` unchanged when it has at most ``limit`` words (split on whitespace); else ValueError."""
    n = len(text.split())
    if n > limit:
        raise ValueError(f"headline has {n} words, more than {limit}: {text[:60]!r}...")
    return text


@dataclass(frozen=True)
class Conclusion:
    """What a notebook ends with: the arguments of :func:`helpers.reporting.conclude`.

    Attributes
    ----------
    question : str            the notebook's question
    headline : str            the verdict and the figure that decides it (<= 40 words)
    verdict : str             a few words, for the README's summary table
    comparisons : list of Comparison
    deciding : int            index in ``comparisons`` of the deciding comparison
    caveats : list of str     one sentence each, computed from conventions and parameters
    """

    question: str
    headline: str
    verdict: str
    comparisons: list
    deciding: int
    caveats: list
