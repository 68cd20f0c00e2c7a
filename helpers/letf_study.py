"""Notebook 01's study of the leveraged-ETF hedge: Monte Carlo windows, sensitivity grids, the
whole-history evidence, the decay's horizon and variance checks, and the computed answer.

The book and its accounting are :mod:`helpers.letf`; this module runs it over random windows of
every pair (:func:`run_study`) and over each pair's whole history (:func:`full_history`), and
turns the results into tables, intervals and words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers import accounting
from helpers import comparison as cmp
from helpers.backtest import CashConvention
from helpers.comparison import Conclusion
from helpers.evidence import Interval, block_length, sharpe_ci, statistic_ci
from helpers.evidence import mean_ci as evidence_mean_ci
from helpers.letf import (
    HedgeParams,
    HedgeTotals,
    InsufficientHistory,
    breakeven_fee,
    fund_multiple,
    ideal_path,
    sample_windows,
    simulate_hedge,
    simulate_windows,
    variance_drag,
)
from helpers.metrics import TRADING_DAYS, beta
from helpers.source import DataSource


@dataclass
class Study:
    """Everything notebook 01 computes from one Monte Carlo.

    ``windows``: one row per (window, band) with dates, gaps and the hedge at the convention;
    ``totals``: band -> (pair -> HedgeTotals); ``skipped``: pairs without enough history.
    """

    windows: pd.DataFrame
    totals: dict
    skipped: pd.DataFrame
    convention: CashConvention
    params: HedgeParams


def run_study(prices: pd.DataFrame, pairs: list[list[str]], n: int, min_years: int, leverage, seed: int,
              params: HedgeParams, convention: CashConvention, bands: list[float]) -> Study:
    """Monte Carlo of every pair over ``n`` random windows, each simulated at every re-hedge band.

    Windows are drawn from ``numpy.random.default_rng(seed)``, pair after pair (the same windows
    for every band). All pairs and bands run in one vectorized pass.
    """
    rng = np.random.default_rng(seed)
    bands = list(dict.fromkeys([*bands, params.exposure_threshold]))
    hist_u, hist_l, hist_c, meta, skipped = [], [], [], [], []
    offset = 0
    for underlying, fund in pairs:
        pair = prices[[underlying, fund]].dropna()
        try:
            if len(pair) < 2:
                raise InsufficientHistory(f"{underlying}/{fund} have no common history")
            windows = sample_windows(pair.index, n, min_years, rng)
        except InsufficientHistory as exc:
            skipped.append({"underlying": underlying, "leveraged": fund, "reason": str(exc)})
            continue
        hist_u.append(pair[underlying].to_numpy())
        hist_l.append(pair[fund].to_numpy())
        hist_c.append(convention.daily_cash(pair.index).to_numpy())
        meta.append((underlying, fund, pair, windows, offset))
        offset += len(pair)
    skipped = pd.DataFrame(skipped, columns=["underlying", "leveraged", "reason"])
    if not meta:
        raise InsufficientHistory("no pair has enough history: " + "; ".join(skipped["reason"]))
    rows, first, n_days, mult, thr = [], [], [], [], []
    for band in bands:
        for underlying, fund, _pair, windows, off in meta:
            for w in windows:
                rows.append((band, underlying, fund, w))
                first.append(off + w.first)
                n_days.append(w.last - w.first + 1)
                mult.append(fund_multiple(leverage, fund))
                thr.append(band)
    res = simulate_windows(np.concatenate(hist_u), np.concatenate(hist_l), np.concatenate(hist_c),
                           np.array(first), np.array(n_days), np.array(mult), np.array(thr), params, convention)
    frame = _window_frame(rows, res, meta, mult)
    totals: dict = {}
    start = 0
    for band in bands:
        totals[band] = {}
        for underlying, fund, _, windows, _ in meta:
            sl = slice(start, start + len(windows))
            totals[band][f"{underlying}/{fund}"] = HedgeTotals(
                **{k: v[sl] for k, v in vars(res).items() if k != "paths"})
            start += len(windows)
    return Study(frame, totals, skipped, convention, params)


def _window_frame(rows, res: HedgeTotals, meta, mult) -> pd.DataFrame:
    """One row per (band, window): dates, level and log gap, variance drag, and the hedge's results."""
    hist = {(u, f): pair for u, f, pair, _, _ in meta}
    recs = []
    for i, (band, u, f, w) in enumerate(rows):
        pair = hist[(u, f)]
        su, sl = pair[u].to_numpy()[w.first:w.last + 1], pair[f].to_numpy()[w.first:w.last + 1]
        ru = su[1:] / su[:-1] - 1.0
        b = mult[i]
        recs.append({"band": band, "underlying": u, "leveraged": f, "pair": f"{u}/{f}", "years": w.years,
                     "start": w.start, "end": w.end, "days": w.last - w.first + 1,
                     "gap": float(np.prod(1.0 + b * ru) - sl[-1] / sl[0]),
                     "log_gap": float(np.log(sl[-1] / sl[0]) - b * np.log(su[-1] / su[0])),
                     "theory": float(variance_drag(ru, b)), "realized_var": float(np.sum(ru**2))})
    frame = pd.DataFrame(recs)
    for name in ("pnl", "rehedges", "ann_return", "ann_excess", "sharpe", "max_drawdown"):
        frame[name] = getattr(res, name)
    frame["rehedges_per_year"] = res.rehedges / res.years
    return frame


def default_windows(study: Study) -> pd.DataFrame:
    """The Monte Carlo rows at the default re-hedge band."""
    return study.windows[study.windows["band"] == study.params.exposure_threshold].reset_index(drop=True)


def sensitivity(study: Study, borrow_fees: list[float], costs_bps: list[float], band: float | None = None) -> pd.DataFrame:
    """Mean P/L ($), share of windows with P/L > 0 and mean excess return on capital, for every
    pair x borrow fee x cost at one band (default: the study's): long format, one row per cell."""
    band = study.params.exposure_threshold if band is None else band
    recs = []
    for pair, tot in study.totals[band].items():
        pnl = tot.pnl_at(borrow_fees, costs_bps)
        exc = tot.excess_at(borrow_fees, costs_bps)
        for i, b in enumerate(borrow_fees):
            for j, k in enumerate(costs_bps):
                recs.append({"pair": pair, "borrow_fee": b, "cost_bps": k, "mean P/L ($)": pnl[:, i, j].mean(),
                             "P/L > 0": (pnl[:, i, j] > 0).mean(), "excess return on capital": exc[:, i, j].mean()})
    return pd.DataFrame(recs)


PNL_ZERO = "fee: mean P/L = 0 (ignores T-bill income)"
RETURN_CASH = "fee: mean return = cash"


def breakeven_table(study: Study) -> pd.DataFrame:
    """Per pair at the study's band and cost, over the Monte Carlo windows: the borrow fee at which
    the mean P/L per window is zero (``breakeven_borrow_fee_pnl_zero``), and the fee at which the
    mean over windows of the return on capital equals the cash rate."""
    rates = study.convention.daily_rates()
    rows = []
    for pair, t in study.totals[study.params.exposure_threshold].items():
        pnl_base = (t.mtm + t.carry - accounting.trading_cost(t.traded, rates)).mean()
        exc_base = ((t.ret_base - t.cash_sum - accounting.trading_cost(t.ret_traded, rates)) / t.steps).mean()
        rows.append({"pair": pair, PNL_ZERO: breakeven_fee(pnl_base, t.short_sum.mean()),
                     RETURN_CASH: breakeven_fee(exc_base, (t.ret_short / t.steps).mean())})
    return pd.DataFrame(rows, columns=["pair", PNL_ZERO, RETURN_CASH]
                        ).set_index("pair")


def band_table(study: Study) -> pd.DataFrame:
    """Per pair and re-hedge band at the study's convention, means over windows: re-hedges a year,
    P/L, share of windows with P/L > 0, excess return on capital, Sharpe (in excess of cash)."""
    g = study.windows.groupby(["pair", "band"], sort=False)
    out = g.agg(**{"re-hedges / yr": ("rehedges_per_year", "mean"), "mean P/L ($)": ("pnl", "mean"),
                   "P/L > 0": ("pnl", lambda s: (s > 0).mean()),
                   "mean excess return": ("ann_excess", "mean"), "mean Sharpe": ("sharpe", "mean")})
    return out


def capital_table(study: Study) -> pd.DataFrame:
    """Per pair at the default band, over the Monte Carlo windows: the return on capital
    (annualized, mean daily x 252) as a mean and 10th / 50th / 90th percentiles across windows,
    the mean excess over cash, the share of windows beating cash, and the median across windows
    of the Sharpe ratio (in excess of cash) and of the maximum drawdown."""
    w = default_windows(study)
    g = w.groupby("pair", sort=False)
    q = lambda p: ("ann_return", lambda s: s.quantile(p))  # noqa: E731
    return g.agg(**{"windows": ("pnl", "size"), "mean P/L ($)": ("pnl", "mean"),
                    "mean return": ("ann_return", "mean"), "p10 return": q(0.1), "median return": q(0.5),
                    "p90 return": q(0.9), "mean excess": ("ann_excess", "mean"),
                    "windows beating cash": ("ann_excess", lambda s: (s > 0).mean()),
                    "median Sharpe": ("sharpe", "median"), "median max drawdown": ("max_drawdown", "median")})


def band_grid(study: Study, borrow_fees: list[float], cost_bps: float) -> pd.DataFrame:
    """:func:`sensitivity` at every re-hedge band of the study for one cost: long format with a
    ``band`` column (the grid's band dimension)."""
    return pd.concat([sensitivity(study, borrow_fees, [cost_bps], band).assign(band=band)
                      for band in study.totals], ignore_index=True)


def full_history(prices: pd.DataFrame, pairs: list[list[str]], leverage, params: HedgeParams,
                 convention: CashConvention, min_days: int = 2 * TRADING_DAYS
                 ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The book run once over each pair's whole common history.

    Returns ``(history, dropped)``: ``history`` maps pair -> daily frame (dated, the opening day
    dropped) with ``returns`` (on capital), ``cash`` (the day's cash return) and ``short_weight``
    (yesterday's short notional / capital); ``dropped`` lists the pairs with fewer than
    ``min_days`` common days (columns pair, reason), which are not evaluated.
    """
    out, dropped = {}, []
    for underlying, fund in pairs:
        pair = prices[[underlying, fund]].dropna()
        name = f"{underlying}/{fund}"
        if len(pair) < min_days:
            dropped.append({"pair": name, "reason": f"{len(pair)} common days, fewer than {min_days}"})
            continue
        cash = convention.daily_cash(pair.index).to_numpy()
        res = simulate_windows(pair[underlying].to_numpy(), pair[fund].to_numpy(), cash, np.array([0]),
                               np.array([len(pair)]), fund_multiple(leverage, fund), params.exposure_threshold,
                               params, convention, keep_paths=True)
        out[name] = pd.DataFrame({"returns": res.paths["returns"][0], "cash": cash,
                                  "short_weight": res.paths["short_weight"][0]}, index=pair.index).iloc[1:]
    return out, pd.DataFrame(dropped, columns=["pair", "reason"])


def evidence_period(prices: pd.DataFrame, history: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``prices`` trimmed to the dates the evidence covers: from the earliest opening day (the
    day before a history's first return) to the latest last day over the evaluated pairs."""
    if not history:
        return prices.iloc[:0]
    starts, ends = [], []
    for d in history.values():
        i = prices.index.get_indexer([d.index[0]])[0]
        starts.append(prices.index[max(i - 1, 0)])
        ends.append(d.index[-1])
    return prices.loc[min(starts):max(ends)]


def mean_ci(x, reps: int = 1000, seed: int = 0, level: float = 0.95, scale: float = TRADING_DAYS) -> Interval:
    """``scale`` x mean of a daily series with a stationary block-bootstrap interval (blocks of
    consecutive days, Politis-White length; :func:`helpers.evidence.mean_ci`): the mean of an
    annualized excess return."""
    return evidence_mean_ci(x, reps, seed, level=level, scale=scale)


def calendar_year_ci(x: pd.Series, min_days: int = 200, level: float = 0.95) -> tuple[Interval, int]:
    """Mean over non-overlapping calendar years of each year's annualized mean (daily mean x 252)
    of a dated daily series, with a t-interval over the years: the cross-check of the block
    bootstrap that needs no block length. Only years with >= ``min_days`` days count.

    Returns ``(interval, n_years)``; the interval is NaN with fewer than 3 years.
    """
    x = pd.Series(x).dropna()
    g = x.groupby(x.index.year)
    years = (g.mean()[g.size() >= min_days] * TRADING_DAYS).to_numpy()
    n = len(years)
    if n < 3:
        return Interval(float(years.mean()) if n else float("nan"), float("nan"), float("nan"), level), n
    half = stats.t.ppf(0.5 + level / 2, n - 1) * years.std(ddof=1) / np.sqrt(n)
    return Interval(float(years.mean()), float(years.mean() - half), float(years.mean() + half), level), n


def breakeven_return_cash(d: pd.DataFrame, convention: CashConvention, reps: int = 1000, seed: int = 0,
                          level: float = 0.95) -> Interval:
    """Annual borrow fee at which the whole-history mean return on capital equals the cash rate,
    with a stationary block-bootstrap interval (days resampled in blocks, jointly).

    Positions and capital do not depend on the fee, so each day's excess return is linear in the
    daily borrow rate: e_t(b) = e_t(b0) - (b - b0) w_t with w_t = ``short_weight``. The break-even
    daily rate is b0 + mean(e) / mean(w), annualized by compounding (:func:`breakeven_fee`).
    """
    e = (d["returns"] - d["cash"]).to_numpy()
    w = d["short_weight"].to_numpy()
    ok = np.isfinite(e) & np.isfinite(w)
    e, w = e[ok], w[ok]
    if len(e) < 10:
        return Interval(float("nan"), float("nan"), float("nan"), level)
    db0 = convention.daily_borrow()
    fee = lambda e_, w_: breakeven_fee(e_.mean() + db0 * w_.mean(), w_.mean())  # noqa: E731
    data = np.column_stack([e, w])
    return statistic_ci(data, lambda d: fee(d[:, 0], d[:, 1]), reps, seed, block_length(e), level)


def evidence_table(history: dict[str, pd.DataFrame], convention: CashConvention, reps: int = 1000,
                   seed: int = 0) -> pd.DataFrame:
    """Per pair, from the whole-history daily returns on capital: years; annualized return on
    capital and its excess over cash, each with a 95% stationary block-bootstrap interval
    (``block`` = mean block length in days); the excess's t-interval over non-overlapping
    calendar years (``cal years`` of them); Sharpe over cash with its interval; max drawdown;
    and the borrow fee at which the return equals cash, with its interval."""
    rows = []
    for pair, d in history.items():
        excess = d["returns"] - d["cash"]
        ret = mean_ci(d["returns"].to_numpy(), reps, seed)
        ci = mean_ci(excess.to_numpy(), reps, seed)
        cal, n_years = calendar_year_ci(excess)
        sr = sharpe_ci(excess, reps=reps, seed=seed)
        fee = breakeven_return_cash(d, convention, reps, seed)
        equity = (1.0 + d["returns"]).cumprod()
        rows.append({"pair": pair, "years": len(d) / TRADING_DAYS,
                     "return on capital": ret.estimate, "return low": ret.low, "return high": ret.high,
                     "excess": ci.estimate, "excess low": ci.low, "excess high": ci.high, "block": ci.block,
                     "cal years": n_years, "cal low": cal.low, "cal high": cal.high,
                     "Sharpe": sr.estimate, "Sharpe low": sr.low, "Sharpe high": sr.high,
                     "max drawdown": float(np.minimum(equity / np.maximum(equity.cummax(), 1.0) - 1.0, 0.0).min()),
                     "fee (return = cash)": fee.estimate, "fee low": fee.low, "fee high": fee.high})
    return pd.DataFrame(rows).set_index("pair")


def model_checks(prices: pd.DataFrame, pairs: list[list[str]], leverage, horizon: pd.DataFrame,
                 beta_tol: float = 0.2) -> pd.DataFrame:
    """Per pair: is the fund the multiple the book is sized for?

    ``fitted beta``: OLS slope of the fund's daily returns on its underlying's over their common
    history; ``beta flag`` when it is more than ``beta_tol`` from the multiple (the book sized
    for the multiple is then not beta-neutral). ``slope flag`` when the 95% interval of the
    annual log gap's slope on realized variance (:func:`helpers.letf.horizon_table`) excludes the theory's
    -(b^2-b)/2.
    """
    rows = []
    for underlying, fund in pairs:
        name = f"{underlying}/{fund}"
        r = prices[[underlying, fund]].dropna().pct_change(fill_method=None).iloc[1:]
        b = fund_multiple(leverage, fund)
        fitted = beta(r[fund], r[underlying]) if len(r) > 2 else float("nan")
        h = horizon.loc[name] if name in horizon.index else None
        low, high = (h["slope low"], h["slope high"]) if h is not None else (np.nan, np.nan)
        theory = -(b**2 - b) / 2
        rows.append({"pair": name, "multiple": b, "fitted beta": fitted, "beta flag": bool(abs(fitted - b) > beta_tol),
                     "slope on var": h["slope on var"] if h is not None else np.nan, "slope low": low,
                     "slope high": high, "theory slope": theory,
                     "slope flag": bool(np.isfinite(low) and not low <= theory <= high)})
    return pd.DataFrame(rows).set_index("pair")


MEASURE = "excess return on capital over cash"


def question(params: HedgeParams) -> str:
    """The notebook's question, with the fund multiple the book is sized for."""
    return (f"Does a beta-neutral book, long the underlying and short its {params.leverage:g}x fund, earn more "
            "than cash on the capital it ties up, once borrow fees and trading costs are paid?")


def decision(boot: tuple[float, float], cal: tuple[float, float]) -> str:
    """The decision on a pair's excess over cash: the block bootstrap's (:func:`helpers.comparison.decide`)
    when the calendar-year interval reaches the same one, else ``NONE`` (the more conservative reading;
    a missing calendar-year interval never confirms a difference)."""
    b = cmp.decide(*boot)
    return b if b == cmp.decide(*cal) else cmp.NONE


def comparisons(evidence: pd.DataFrame, history: dict[str, pd.DataFrame] | None = None, reps: int = 1000,
                seed: int = 0) -> list[cmp.Comparison]:
    """One :class:`~helpers.comparison.Comparison` per pair: its whole-history excess return on
    capital over cash (percent a year, block-bootstrap 95% interval, :func:`decision`), and, when
    ``history`` is given, the same method's decisions on each half of the pair's history."""
    out = []
    for pair, r in evidence.iterrows():
        halves = None
        if history is not None and pair in history:
            ex = history[pair]["returns"] - history[pair]["cash"]
            halves = tuple(_half_decision(ex.loc[a:b], reps, seed) for a, b in cmp.split_halves(ex))
        boot, cal = (r["excess low"], r["excess high"]), (r["cal low"], r["cal high"])
        said = decision(boot, cal)
        measure = MEASURE
        if said != cmp.decide(*boot):
            measure += f" (calendar-year 95% CI {100 * cal[0]:+.2f} to {100 * cal[1]:+.2f} disagrees)"
        # the stricter two-interval rule detects no more than its wider interval does
        se = max(cmp.standard_error(100 * lo, 100 * hi) for lo, hi in (boot, cal) if np.isfinite(lo) and np.isfinite(hi))
        out.append(cmp.Comparison(f"{pair} book vs cash", measure, 100 * r["excess"], 100 * boot[0], 100 * boot[1],
                                  unit="% a year", digits=2, halves=halves, decision=said, se=se))
    return out


def _half_decision(excess: pd.Series, reps: int, seed: int) -> str:
    """:func:`decision` on a stretch of a pair's daily excess returns (the same method as the whole)."""
    boot = mean_ci(excess.to_numpy(), reps, seed)
    cal, _ = calendar_year_ci(excess)
    return decision((boot.low, boot.high), (cal.low, cal.high))


def _pair(c: cmp.Comparison) -> str:
    return c.what.split(" book vs ", 1)[0]


def verdict(comps: list[cmp.Comparison]) -> str:
    """A few words: how many pairs beat (or trail) cash."""
    n = len(comps)
    beats = sum(c.decision == cmp.ABOVE for c in comps)
    trails = sum(c.decision == cmp.BELOW for c in comps)
    if beats:
        return f"{beats} of {n} pairs beat cash"
    if trails == n:
        return "Every pair trails cash"
    return f"No pair beats cash ({trails} of {n} trail)" if trails else "No pair beats cash"


def deciding_index(comps: list[cmp.Comparison]) -> int:
    """The comparison whose figure decides the verdict: the best pair that beats cash, else the best pair."""
    beats = [i for i, c in enumerate(comps) if c.decision == cmp.ABOVE]
    pool = beats or range(len(comps))
    return max(pool, key=lambda i: comps[i].estimate if np.isfinite(comps[i].estimate) else -np.inf)


def halves_note(comps: list[cmp.Comparison]) -> str:
    """" Not in both halves: ..." when a count the verdict states (pairs that beat cash; pairs that
    trail it, whenever any does) differs on either half of the pairs' histories, else ""."""
    if not comps or any(c.halves is None for c in comps):
        return ""
    sides = [(cmp.ABOVE, "beat")] + ([(cmp.BELOW, "trail")] if any(c.decision == cmp.BELOW for c in comps) else [])
    parts = []
    for side, verb in sides:
        whole = sum(c.decision == side for c in comps)
        first, second = (sum(c.halves[h] == side for c in comps) for h in (0, 1))
        if not first == whole == second:
            parts.append(f"{first}, then {second}, of {len(comps)} {verb} cash")
    return f" Not in both halves ({'; '.join(parts)})." if parts else ""


def headline(comps: list[cmp.Comparison], convention: CashConvention) -> str:
    """At most 40 words: the verdict at the convention's fee and cost, the deciding pair's excess
    with its interval, whether the calendar-year interval overruled its bootstrap interval, and
    whether the verdict holds in both halves (:func:`halves_note`)."""
    c = comps[deciding_index(comps)]
    fig = cmp.format_interval(c.estimate, c.low, c.high, c.level, c.unit, c.digits)
    terms = f" at {convention.borrow_fee:.1%} borrow and {convention.cost_bps:g} bp costs"
    calendar = (f" Not counted: its calendar-year interval {'includes zero' if c.decision == cmp.NONE else 'disagrees'}."
                if c.decision != cmp.decide(c.low, c.high) else "")
    mde = (f" Could not detect less than {c.mde:.2f}{c.unit}."
           if c.decision == cmp.NONE and np.isfinite(c.mde) else "")
    halves = halves_note(comps)
    # the longest that fits: the terms are printed with the convention, the calendar years in the table
    for t, cal, m in ((terms, calendar, mde), ("", calendar, mde), (terms, calendar, ""), ("", calendar, ""),
                      ("", "", "")):
        text = f"{verdict(comps)}{t}. Best, {_pair(c)}: excess over cash {fig}.{cal}{m}{halves}"
        if len(text.split()) <= cmp.MAX_HEADLINE_WORDS:
            break
    return cmp.headline(text)


def caveats(convention: CashConvention, comps: list[cmp.Comparison], breakeven: pd.DataFrame,
            checks: pd.DataFrame | None = None, not_evaluated: dict[str, str] | None = None) -> list[str]:
    """The caveats computed from the convention, the comparisons, the break-even fees
    (:func:`breakeven_table`), the fund checks and the pairs left out."""
    n_pairs = len(comps)
    overruled = [_pair(c) for c in comps if c.decision != cmp.decide(c.low, c.high)]
    out = []
    if isinstance(convention.cash_rate, pd.Series) and len(convention.cash_rate.dropna()):
        s = convention.cash_rate.dropna()
        out.append(f"Cash is {convention.cash_rate.attrs.get('ticker', 'a T-bill fund')}'s daily return from "
                   f"{s.index[0].date()} ({convention.fallback_rate:.1%} a year before); a broker pays less than "
                   "T-bills on short proceeds.")
    else:
        out.append(f"Cash earns a constant {float(convention.cash_rate):.1%} a year, not the T-bill path.")
    out.append(f"Capital is the long leg plus {convention.short_margin:.0%} of the short notional; less margin "
               "scales the excess return up, more scales it down, and never changes its sign.")
    if n_pairs > 1:
        out.append(f"{n_pairs} pairs each at 95%: with no true difference, about {1 - 0.95**n_pairs:.0%} of runs "
                   "would call at least one; a call needs the calendar-year interval to agree"
                   + (f" (it does not for {', '.join(overruled)})." if overruled else "."))
    pnl = breakeven[PNL_ZERO].dropna()
    if len(pnl):
        out.append(f"The fee at which the mean P/L over the Monte Carlo windows is zero ({pnl.min():.1%} to "
                   f"{pnl.max():.1%}; breakeven_borrow_fee_pnl_zero) ignores what the capital would have earned "
                   "in T-bills: it is not the fee at which the book matches cash.")
    if checks is not None:
        bad = [p for p in checks.index if checks.loc[p, "beta flag"] or checks.loc[p, "slope flag"]]
        if bad:
            out.append("Not a clean daily-reset multiple of the size the book assumes (fund checks): "
                       f"{', '.join(bad)}; their books carry market beta.")
    if not_evaluated:
        out.append("Not evaluated: " + "; ".join(f"{p} ({why})" for p, why in not_evaluated.items()) + ".")
    return out


def conclusion(evidence: pd.DataFrame, history: dict[str, pd.DataFrame], convention: CashConvention,
               params: HedgeParams, breakeven: pd.DataFrame, checks: pd.DataFrame | None = None,
               not_evaluated: dict[str, str] | None = None, reps: int = 1000, seed: int = 0) -> Conclusion:
    """Notebook 01's :class:`Conclusion` from :func:`evidence_table` and the whole histories."""
    comps = comparisons(evidence, history, reps, seed)
    if not comps:
        raise InsufficientHistory("no pair has two years of common history to evaluate")
    return Conclusion(question(params), headline(comps, convention), verdict(comps), comps, deciding_index(comps),
                      caveats(convention, comps, breakeven, checks, not_evaluated))


def breakeven_records(evidence: pd.DataFrame, breakeven: pd.DataFrame) -> dict:
    """The recorded break-even fees, per pair: ``breakeven_borrow_fee`` (whole-history return
    equals cash), ``breakeven_borrow_fee_ci`` ([low, high], block bootstrap) and
    ``breakeven_borrow_fee_pnl_zero`` (mean P/L over the Monte Carlo windows is zero; it ignores
    what the capital would have earned in T-bills)."""
    return {"breakeven_borrow_fee": evidence["fee (return = cash)"].to_dict(),
            "breakeven_borrow_fee_ci": {p: [r["fee low"], r["fee high"]] for p, r in evidence.iterrows()},
            "breakeven_borrow_fee_pnl_zero": breakeven[PNL_ZERO].to_dict()}


def pair_summary(windows: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Per pair: windows, mean/median level gap, mean log gap, fitted daily beta of fund on underlying."""
    rows = []
    for (u, lv), g in windows.groupby(["underlying", "leveraged"], sort=False):
        r = prices[[u, lv]].pct_change(fill_method=None)
        rows.append({"pair": f"{u}/{lv}", "windows": len(g), "mean years": g["years"].mean(),
                     "mean gap": g["gap"].mean(), "median gap": g["gap"].median(),
                     "mean log gap": g["log_gap"].mean(), "fitted beta": beta(r[lv], r[u])})
    return pd.DataFrame(rows).set_index("pair")


def theory_note(source: str | DataSource) -> str:
    """What agreement with the variance-drag formula means on this data source (a
    :class:`~helpers.source.DataSource` or a provenance label such as ``"synthetic"``)."""
    if (source if isinstance(source, DataSource) else DataSource.from_label(source)).is_simulated:
        return ("On the simulated market each fund is built as a daily-reset multiple of its underlying "
                "(plus a fitted drag and noise), so agreement with the variance-drag formula checks the code, "
                "not the theory.")
    return ("On real prices this table is evidence: the funds' actual daily-reset mechanics, fees and "
            "tracking decide how closely the log gap follows the variance drag.")


def example_window(prices: pd.DataFrame, row: pd.Series, params: HedgeParams,
                   convention: CashConvention) -> pd.DataFrame:
    """Daily paths of one Monte Carlo window: growth of 1 in the underlying, the fund, the ideal
    multiple, and the book's cumulative P/L in dollars at the convention."""
    pair = prices[[row["underlying"], row["leveraged"]]].loc[row["start"]:row["end"]].dropna()
    u, lv = pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy()
    cash = convention.daily_cash(pair.index).to_numpy()
    res = simulate_hedge(u, lv, params, convention, cash=cash)
    ideal = np.concatenate([[1.0], ideal_path(u[1:] / u[:-1] - 1.0, params.leverage)])
    return pd.DataFrame({row["underlying"]: u / u[0], row["leveraged"]: lv / lv[0],
                         f"ideal {params.leverage:g}x": ideal, "hedge P/L ($)": np.cumsum(res.paths["pnl"][0])},
                        index=pair.index)


TITLES = {"excess return on capital": "excess return over cash / yr"}


def sensitivity_heatmaps(grid: pd.DataFrame):
    """Heatmaps of :func:`sensitivity`, borrow fee (rows) x cost in bp (columns), one column of
    panels per pair: the mean excess return on capital over cash (top: what the answer is about),
    the mean P/L in dollars (ignores what the capital would earn in T-bills) and the share of
    windows with P/L > 0. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    names = list(dict.fromkeys(grid["pair"]))
    panels = [("excess return on capital", "{:+.1%}", 0.0), ("mean P/L ($)", "{:,.0f}", 0.0), ("P/L > 0", "{:.2f}", 0.5)]
    fig, axes = plt.subplots(len(panels), len(names), figsize=(2.4 * len(names), 9.0), squeeze=False)
    for j, pair in enumerate(names):
        g = grid[grid["pair"] == pair]
        for i, (value, fmt, center) in enumerate(panels):
            t = g.pivot(index="borrow_fee", columns="cost_bps", values=value)
            v = t.to_numpy()
            span = max(np.nanmax(np.abs(v - center)), 1e-9)
            ax = axes[i, j]
            ax.imshow(v, cmap="RdYlGn", norm=TwoSlopeNorm(center, center - span, center + span), aspect="auto")
            for (r, c), x in np.ndenumerate(v):
                ax.text(c, r, fmt.format(x), ha="center", va="center", fontsize=6.5)
            ax.set_xticks(range(v.shape[1]), [f"{k:g}" for k in t.columns], fontsize=7)
            ax.set_yticks(range(v.shape[0]), [f"{b:.1%}" for b in t.index] if j == 0 else [], fontsize=7)
            ax.set_title(f"{pair}\n{TITLES.get(value, value)}", fontsize=8)
            ax.set_xlabel("cost (bp)", fontsize=7)
            if j == 0:
                ax.set_ylabel("borrow fee / yr", fontsize=7)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.94, bottom=0.06, wspace=0.15, hspace=0.45)
    return fig

