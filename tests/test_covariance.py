"""Notebook 04: covariance estimators that respect different volatilities; weights against skfolio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.portfolio import (
    COV_ESTIMATORS,
    covariance,
    ledoit_wolf_cov,
    min_variance,
    risk_contributions,
    risk_parity,
    shrinkage_intensity,
    shrunk_correlation_cov,
)

VOLS = np.array([0.0002, 0.004, 0.009, 0.012, 0.015])  # daily: a T-bill fund, bonds, ..., commodities
NAMES = ["SHV", "IEF", "TLT", "SPY", "DBC"]


@pytest.fixture
def returns() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    corr = np.array([[1.0, 0.3, 0.2, 0.0, 0.0], [0.3, 1.0, 0.8, -0.3, -0.1], [0.2, 0.8, 1.0, -0.3, -0.1],
                     [0.0, -0.3, -0.3, 1.0, 0.4], [0.0, -0.1, -0.1, 0.4, 1.0]])
    z = rng.multivariate_normal(np.zeros(5), corr, size=252)
    return pd.DataFrame(z * VOLS, columns=NAMES, index=pd.bdate_range("2020-01-01", periods=252))


def lw_intensity(z: np.ndarray) -> float:
    """Ledoit-Wolf (2004) shrinkage towards mu I, written out from the paper (centred data)."""
    n, p = z.shape
    s = z.T @ z / n
    mu = np.trace(s) / p
    d2 = np.sum((s - mu * np.eye(p)) ** 2)
    b2 = sum(np.sum((np.outer(x, x) - s) ** 2) for x in z) / n**2
    return min(b2, d2) / d2


def oas_intensity(z: np.ndarray) -> float:
    """Chen et al. (2010) OAS intensity, scikit-learn's documented formula (centred data)."""
    n, p = z.shape
    s = z.T @ z / n
    mu = np.trace(s) / p
    alpha = np.mean(s**2)
    num = alpha + mu**2
    den = (n + 1) * (alpha - mu**2 / p)
    return 1.0 if den == 0 else min(num / den, 1.0)


@pytest.mark.parametrize("method, intensity", [("ledoit_wolf", lw_intensity), ("oas", oas_intensity)])
def test_correlation_shrinkage_by_the_published_formulas(returns, method, intensity):
    x = returns.to_numpy() - returns.to_numpy().mean(axis=0)
    z = x / x.std(axis=0)
    delta = intensity(z)
    assert 0 < delta < 1
    corr = np.corrcoef(x, rowvar=False)
    sd = returns.std(ddof=1).to_numpy()
    expected = ((1 - delta) * corr + delta * np.eye(5)) * np.outer(sd, sd)
    np.testing.assert_allclose(shrunk_correlation_cov(returns, method), expected, rtol=1e-6, atol=1e-14)


def test_shrinkage_intensity_by_the_published_formulas(returns):
    x = returns.to_numpy() - returns.to_numpy().mean(axis=0)
    z = x / x.std(axis=0)
    assert shrinkage_intensity(returns, "lw_correlation") == pytest.approx(lw_intensity(z), rel=1e-9)
    assert shrinkage_intensity(returns, "oas_correlation") == pytest.approx(oas_intensity(z), rel=1e-9)
    assert shrinkage_intensity(returns, "ledoit_wolf") == pytest.approx(lw_intensity(x), rel=1e-9)
    assert shrinkage_intensity(returns, "sample") == 0.0
    with pytest.raises(ValueError, match="cov_method"):
        shrinkage_intensity(returns, "identity")


def test_correlation_shrinkage_keeps_each_variance(returns):
    """The scaled identity pulls the T-bill fund's variance towards the others'; correlation shrinkage does not."""
    sample = returns.var(ddof=1)
    for name in ("lw_correlation", "oas_correlation", "sample"):
        np.testing.assert_allclose(np.diag(covariance(returns, name)), sample, rtol=1e-12)
    lw = ledoit_wolf_cov(returns)
    assert np.sqrt(lw.loc["SHV", "SHV"]) > 5 * np.sqrt(sample["SHV"])  # inflated
    assert min_variance(covariance(returns, "lw_correlation"))["SHV"] > 0.97
    assert min_variance(lw)["SHV"] < 0.9


def test_every_estimator_is_symmetric_positive_definite(returns):
    for name in COV_ESTIMATORS:
        c = covariance(returns, name).to_numpy()
        np.testing.assert_allclose(c, c.T)
        assert np.linalg.eigvalsh(c).min() > 0
    with pytest.raises(ValueError, match="cov_method"):
        covariance(returns, "identity")


def test_min_variance_and_risk_parity_match_skfolio(returns):
    skfolio = pytest.importorskip("skfolio")
    from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting

    # skfolio's interior-point solver works on the returns; scaled by 100 so its tolerances
    # are not reached by daily variances of 1e-8 (weights do not depend on the scale)
    x = returns.to_numpy() * 100
    cov = returns.cov()
    mv = MeanRisk(objective_function=ObjectiveFunction.MINIMIZE_RISK,
                  risk_measure=skfolio.RiskMeasure.VARIANCE).fit(x)
    np.testing.assert_allclose(min_variance(cov), mv.weights_, atol=2e-4)
    rb = RiskBudgeting(risk_measure=skfolio.RiskMeasure.VARIANCE).fit(x)
    np.testing.assert_allclose(risk_parity(cov), rb.weights_, rtol=2e-3, atol=1e-5)
    np.testing.assert_allclose(risk_contributions(rb.weights_, cov), 0.2, atol=1e-3)
