"""The statistics layer checked where the notebooks call it, against independent references.

* one bootstrap: ``helpers.evidence.statistic_ci`` is arch's percentile interval; notebook 01's
  ``letf.mean_ci`` and break-even fee and notebook 05's max-drawdown gap go through it with the
  block length chosen from the data (closed forms for AR(1) series);
* HAC: notebook 03's alpha intervals (``hedge.hedge_answer`` -> ``basket_regression``,
  ``book_table``) are Newey-West intervals with the notebook's ``hac_lags``, computed by hand here;
* PSR / DSR: Bailey and Lopez de Prado's worked example, and notebook 05's deflated Sharpe
  (``overlay_study.sensitivity`` -> ``deflated_best`` / ``with_sensitivity``) against skfolio on
  per-period (daily) Sharpe ratios; annualized trial Sharpe ratios give a different answer;
* degrees of freedom of the t-intervals (notebook 01), the bootstrap p-value and Holm's
  adjustment (notebook 04), and the notebooks' own calls (they pass ``hac_lags``).

tests/mutants/statistics.toml lists the slips these tests catch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from arch.bootstrap import StationaryBootstrap
from scipy import stats
from skfolio.measures import deflated_sharpe_ratio as sk_dsr

from helpers import allocation, comparison, hedge_study, letf, letf_study
from helpers import evidence as ev
from helpers import overlay_study as st
from helpers.backtest import CashConvention, run_backtest
from helpers.overlay import OverlayParams

ROOT = Path(__file__).resolve().parent.parent
Z975 = stats.norm.ppf(0.975)


def ar1(n: int, phi: float, sd: float, seed: int) -> np.ndarray:
    """A stationary AR(1) path of length n with innovation sd ``sd``."""
    e = np.random.default_rng(seed).normal(0.0, sd, n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


# --------------------------------------------------------------------------- one bootstrap


@pytest.mark.parametrize("level", [0.90, 0.95])
def test_statistic_ci_is_archs_percentile_interval(level):
    x = ar1(800, 0.3, 0.01, 1) + 0.001
    arch_ci = StationaryBootstrap(6.0, x, seed=np.random.default_rng(3)).conf_int(
        lambda a: np.array([a.mean()]), reps=300, method="percentile", size=level).ravel()
    ci = ev.statistic_ci(x, lambda d: float(d[:, 0].mean()), reps=300, seed=3, block=6.0, level=level)
    np.testing.assert_allclose([ci.low, ci.high], arch_ci, rtol=1e-12)
    assert ci.estimate == pytest.approx(x.mean(), rel=1e-12) and ci.level == level
    assert f"{level:.0%} CI" in str(ci)


def test_letf_mean_ci_is_the_annualized_block_bootstrap_mean():
    # AR(1) excess returns, phi = 0.5: sd of the sample mean = sd_e / (1 - phi) / sqrt(n) (long-run variance),
    # sqrt(3) times what an i.i.d. interval assumes; the 95% interval is about +-1.96 of it, times 252.
    phi, sd, n = 0.5, 0.01, 6000
    x = ar1(n, phi, sd, 21) + 0.0002
    ci = letf_study.mean_ci(x, reps=1000, seed=0)
    assert ci.estimate == pytest.approx(x.mean() * 252, rel=1e-12)
    half = Z975 * sd / (1 - phi) / np.sqrt(n) * 252
    assert (ci.high - ci.low) / 2 == pytest.approx(half, rel=0.2)
    assert ci.block > 3
    assert ci == ev.mean_ci(x, reps=1000, seed=0, scale=252)


def test_breakeven_fee_interval_uses_blocks_of_days():
    n = 3000
    idx = pd.bdate_range("2010-01-01", periods=n)
    e = ar1(n, 0.5, 0.01, 22) + 0.0003
    d = pd.DataFrame({"returns": e + 0.0001, "cash": 0.0001, "short_weight": 0.5}, index=idx)
    conv = CashConvention(0.02, 0.0, 0.01, 0.0)
    block = letf_study.breakeven_return_cash(d, conv, reps=500, seed=1)
    assert block.block > 3
    db0 = conv.daily_borrow()
    iid = ev.statistic_ci(np.column_stack([e, np.full(n, 0.5)]),
                          lambda s: letf.breakeven_fee(s[:, 0].mean() + db0 * 0.5, 0.5),
                          reps=500, seed=1, block=1.0)
    # the fee is linear-ish in the mean excess return: AR(1) with phi = 0.5 widens the interval ~sqrt(3) times
    assert (block.high - block.low) / (iid.high - iid.low) > 1.4


def test_maxdd_gap_interval_uses_blocks_of_days():
    idx = pd.bdate_range("2010-01-01", periods=2000)
    a = pd.Series(ar1(2000, 0.5, 0.01, 23) + 0.0002, idx)
    b = pd.Series(ar1(2000, 0.5, 0.01, 24) + 0.0002, idx)
    ci = st.maxdd_diff_ci(a, b, reps=200)
    assert ci.block > 3 and ci.low < ci.estimate < ci.high


# --------------------------------------------------------------------------- degrees of freedom


def test_calendar_year_interval_is_a_student_t_interval_over_years():
    idx = pd.bdate_range("2011-01-01", "2019-12-31")
    x = pd.Series(np.random.default_rng(5).normal(0.0002, 0.01, len(idx)), idx)
    ci, n = letf_study.calendar_year_ci(x)
    years = (x.groupby(x.index.year).mean() * 252).to_numpy()
    low, high = stats.t.interval(0.95, len(years) - 1, loc=years.mean(), scale=stats.sem(years))
    assert n == len(years) == 9
    assert (ci.low, ci.high) == pytest.approx((low, high), rel=1e-10)


def test_horizon_table_intervals_match_scipy_and_statsmodels():
    rng = np.random.default_rng(8)
    var = rng.uniform(0.01, 0.09, 7)
    annual = pd.DataFrame({"pair": "SPY/SPXL", "year": range(2010, 2017), "realized_var": var,
                           "log_gap": -3 * var + rng.normal(0, 0.02, 7), "theory": -3 * var, "multiple": 3.0})
    row = letf.horizon_table(annual).loc["SPY/SPXL"]
    g = annual["log_gap"].to_numpy()
    low, high = stats.t.interval(0.95, 6, loc=g.mean(), scale=stats.sem(g))
    assert (row["low"], row["high"]) == pytest.approx((low, high), rel=1e-10)
    fit = sm.OLS(annual["log_gap"], sm.add_constant(annual["realized_var"])).fit()
    slope_low, slope_high = fit.conf_int(0.05).loc["realized_var"]
    assert (row["slope low"], row["slope high"]) == pytest.approx((slope_low, slope_high), rel=1e-9)


# --------------------------------------------------------------------------- HAC where notebook 03 uses it


def newey_west(y: np.ndarray, x: np.ndarray, lags: int) -> tuple[float, float, float]:
    """Alpha of y on [1, x] with its Newey-West (Bartlett kernel) and plain OLS standard errors, by hand."""
    X = np.column_stack([np.ones(len(x)), x])
    b = np.linalg.solve(X.T @ X, X.T @ y)
    g = X * (y - X @ b)[:, None]
    S = g.T @ g
    for lag in range(1, lags + 1):
        G = g[lag:].T @ g[:-lag]
        S += (1 - lag / (lags + 1)) * (G + G.T)
    inv = np.linalg.inv(X.T @ X)
    nw = np.sqrt((inv @ S @ inv)[0, 0])
    ols = np.sqrt(((y - X @ b) ** 2).sum() / (len(y) - 2) * inv[0, 0])
    return float(b[0]), float(nw), float(ols)


def one_asset_book(excess: pd.Series) -> object:
    """A fully invested, cost-free book (cash rate 0) earning ``excess`` after its first day."""
    targets = pd.DataFrame({"A": [1.0]}, index=excess.index[:1])
    return run_backtest(excess.to_frame("A"), targets, CashConvention(0.0, 0.0, 0.0, 0.0))


def test_notebook_03_alpha_intervals_are_newey_west_with_the_notebooks_lags():
    # Benchmark and residuals both AR(1) with phi = 0.7: the alpha's Newey-West standard error is about
    # twice the OLS one, so an interval without HAC (or with another lag count) is visibly different.
    n, lags = 1500, 10
    idx = pd.bdate_range("2015-01-01", periods=n)
    bench = pd.Series(ar1(n, 0.7, 0.01, 31), idx, name="QQQ")
    basket = 0.0004 + 1.2 * bench + ar1(n, 0.7, 0.005, 32)
    dynamic = 0.0002 + 0.05 * bench + ar1(n, 0.7, 0.004, 33)
    static = 0.0001 - 0.1 * bench + ar1(n, 0.7, 0.004, 34)
    books = {"static hedge (out of sample)": one_asset_book(static), "dynamic hedge": one_asset_book(dynamic)}
    study = hedge_study.HedgeStudy(books=books, basket=basket, betas={}, live=idx)
    a = hedge_study.hedge_answer(study, bench, "dollar", hac_lags=lags, reps=50)
    for got, y in ((a.alpha, basket), (a.hedged_alpha, dynamic)):
        alpha, nw, ols = newey_west(y.to_numpy()[1:], bench.to_numpy()[1:], lags)
        assert nw / ols > 1.5  # HAC matters here
        assert got.estimate == pytest.approx(alpha * 252, rel=1e-9)
        expected = ((alpha - Z975 * nw) * 252, (alpha + Z975 * nw) * 252)
        assert (got.low, got.high) == pytest.approx(expected, rel=1e-9)


def notebook_code(name: str) -> str:
    nb = json.loads(next((ROOT / "notebooks").glob(f"{name}*.ipynb")).read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_notebook_03_passes_hac_lags_to_every_regression_it_reports():
    code = notebook_code("03")
    pattern = r"hedge(?:_study)?\.(ols|book_table|hedge_answer|weighting_comparison)\(([^()]*(?:\([^()]*\)[^()]*)*)\)"
    calls = re.findall(pattern, code)
    reported = [(f, args) for f, args in calls if not (f == "ols" and "original_basket" in args)]  # beta only
    assert {f for f, _ in reported} == {"ols", "book_table", "hedge_answer", "weighting_comparison"}
    for f, args in reported:
        assert "hac_lags" in args, f"notebook 03 calls hedge.{f}({args}) without hac_lags"


# --------------------------------------------------------------------------- PSR / DSR in per-period units


def test_psr_and_dsr_reproduce_bailey_and_lopez_de_prados_worked_example():
    # "The Deflated Sharpe Ratio" (2014), numerical example: N = 100 trials whose annualized Sharpe
    # ratios have variance 1/2, best annualized SR 2.5 over T = 1250 days (250 a year), skew -3,
    # kurtosis 10: SR0 = 0.1132 per day and DSR = 0.9004.
    z = np.random.default_rng(0).standard_normal(100)
    trials = (z - z.mean()) / z.std(ddof=1) * np.sqrt(0.5 / 250)  # per-day trial Sharpe ratios
    sr0 = ev.expected_max_sharpe(trials)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert ev.psr_from_moments(2.5 / np.sqrt(250), 1250, -3.0, 10.0, sr0) == pytest.approx(0.9004, abs=5e-4)


@pytest.fixture(scope="module")
def sensitivity_grid():
    rng = np.random.default_rng(41)
    base = pd.Series(rng.normal(0.0006, 0.008, 1200), index=pd.bdate_range("2018-01-01", periods=1200))
    conv = CashConvention(0.02, 0.01, 0.005, 5.0)
    p = OverlayParams()
    cells = st.sensitivity_cells(p, {"target_vol": [0.08, 0.12, 0.2], "dd_threshold1": [0.05, 0.1]},
                                 {"lev_max": [1.5, 3.0], "vol_lookback": [20]})
    table, excess = st.sensitivity(base, cells, conv)
    return base, conv, table, excess


def test_sensitivity_reports_daily_sharpe_of_excess_returns(sensitivity_grid):
    _, _, table, excess = sensitivity_grid
    daily = excess.mean() / excess.std(ddof=1)
    np.testing.assert_allclose(table["daily Sharpe"], daily[table.index], rtol=1e-10)
    np.testing.assert_allclose(table["Sharpe"], daily[table.index] * np.sqrt(252), rtol=1e-10)


def test_notebook_05_deflated_sharpe_matches_skfolio_on_daily_trial_sharpes(sensitivity_grid):
    base, conv, table, excess = sensitivity_grid
    daily = (excess.mean() / excess.std(ddof=1))[table.index].to_numpy()
    best, _, dsr, n = st.deflated_best(table, excess)
    assert n == len(table) == 9
    assert dsr == pytest.approx(sk_dsr(excess[best].to_numpy(), daily), rel=1e-9)
    # the slip of issue 25: annualized trial Sharpe ratios inflate the expected maximum ~16 times
    annualized = ev.deflated_sharpe_ratio(excess[best], daily * np.sqrt(252))
    assert dsr > 0.9 and annualized < 0.5
    keys = ("vs_base", "vs_matched", "vol_effect", "brake_effect",
            "dd_vs_base", "dd_vs_matched", "dd_vol_effect", "dd_brake_effect")
    e = st.OverlayEvidence(sharpe={st.BASE: 0.0}, max_drawdown={}, avg_leverage=1.0,
                           **{k: ev.Interval(0.0, -1.0, 1.0) for k in keys})
    out = st.with_sensitivity(e, table, excess, conv.excess(base), reps=50)
    assert out.deflated_sharpe == dsr and out.n_trials == 9


# --------------------------------------------------------------------------- notebook 04: p-values and Holm


def test_paired_sharpe_pvalue_is_the_level_at_which_the_interval_touches_zero():
    idx = pd.bdate_range("2012-01-01", periods=1500)
    a = pd.Series(ar1(1500, 0.2, 0.01, 51) + 0.0006, idx)
    b = pd.Series(0.6 * a.to_numpy() + ar1(1500, 0.2, 0.008, 52) - 0.0002, idx)
    t = allocation.paired_sharpe_test(a, b, reps=1000, seed=0)
    assert 0.001 < t.pvalue < 0.5
    edge = ev.sharpe_diff_ci(a, b, reps=1000, seed=0, level=1 - t.pvalue)
    assert min(abs(edge.low), abs(edge.high)) < 0.01 * (edge.high - edge.low)
    assert (t.pvalue < 0.05) == t.interval.excludes_zero()


def test_allocations_paired_test_is_evidences_sharpe_diff_test():
    # notebook 04's p-values can come from helpers.evidence's one bootstrap: same draws, same numbers
    idx = pd.bdate_range("2012-01-01", periods=800)
    a = pd.Series(ar1(800, 0.2, 0.01, 53) + 0.0006, idx)
    b = pd.Series(0.5 * a.to_numpy() + ar1(800, 0.2, 0.008, 54), idx)
    t = allocation.paired_sharpe_test(a, b, reps=300, seed=2)
    interval, p = ev.sharpe_diff_test(a, b, reps=300, seed=2)
    assert interval == t.interval == ev.sharpe_diff_ci(a, b, reps=300, seed=2)
    assert p == t.pvalue


def test_holm_matches_statsmodels_where_the_step_down_maximum_binds():
    from statsmodels.stats.multitest import multipletests

    p = {"a": 0.01, "b": 0.011, "c": 0.04, "d": 0.012, "e": 0.5, "f": 0.0001}
    _, adjusted = comparison.holm(list(p.values()))
    expected = multipletests(list(p.values()), method="holm")[1]
    np.testing.assert_allclose(adjusted, expected, rtol=1e-12)


def test_variant_sharpe_interval_is_in_excess_of_cash():
    # a 30% cash rate: the excess Sharpe is far below the raw one; the interval must surround the excess one
    idx = pd.bdate_range("2016-01-01", periods=1000)
    base = pd.Series(np.random.default_rng(61).normal(0.0008, 0.01, 1000), index=idx)
    conv = CashConvention(0.3, 0.0, 0.0, 0.0)
    runs = st.ablation(base, OverlayParams(), conv)
    table = st.variant_table({st.BASE: runs[st.BASE]}, conv, reps=200)
    raw = base.mean() / base.std(ddof=1) * np.sqrt(252)
    row = table.loc[st.BASE]
    assert row["Sharpe CI low"] < row["Sharpe"] < row["Sharpe CI high"] < raw
