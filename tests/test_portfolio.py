"""Notebooks 04 and 05: covariance, risk parity, min variance (the overlay: tests/test_overlay.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.portfolio import (
    blended_weight_path,
    diagonal_shrinkage,
    inverse_volatility,
    ledoit_wolf_cov,
    min_variance,
    month_end_dates,
    risk_contributions,
    risk_parity,
    seed_min_variance,
    trailing_windows,
)

ASSETS = ["a", "b", "c", "d"]


def cov_from(vols, corr):
    v = np.asarray(vols)
    return pd.DataFrame(np.outer(v, v) * corr, index=ASSETS[: len(v)], columns=ASSETS[: len(v)])


@pytest.fixture
def cov():
    corr = np.array([[1, 0.6, 0.2, -0.1], [0.6, 1, 0.3, 0.0], [0.2, 0.3, 1, 0.4], [-0.1, 0.0, 0.4, 1]])
    return cov_from([0.01, 0.02, 0.005, 0.015], corr)


def test_risk_parity_has_equal_risk_contributions(cov):
    w = risk_parity(cov)
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(risk_contributions(w, cov), 0.25, atol=1e-6)


def test_risk_parity_is_inverse_vol_when_correlations_are_equal():
    vols = [0.01, 0.02, 0.04]
    corr = np.full((3, 3), 0.3) + 0.7 * np.eye(3)
    c = cov_from(vols, corr)
    expected = (1 / np.array(vols)) / (1 / np.array(vols)).sum()
    np.testing.assert_allclose(risk_parity(c), expected, atol=1e-7)
    np.testing.assert_allclose(inverse_volatility(c), expected)


def test_min_variance_matches_closed_form_when_unconstrained_is_long_only():
    corr = np.full((3, 3), 0.2) + 0.8 * np.eye(3)
    c = cov_from([0.01, 0.012, 0.015], corr)
    inv = np.linalg.inv(c.to_numpy()) @ np.ones(3)
    closed = inv / inv.sum()
    assert (closed > 0).all()
    np.testing.assert_allclose(min_variance(c), closed, atol=1e-6)
    np.testing.assert_allclose(min_variance(c, long_only=False), closed)


def test_long_only_min_variance_respects_constraints_and_beats_seed_clip(cov):
    w = min_variance(cov)
    assert (w >= -1e-12).all() and w.sum() == pytest.approx(1.0)
    var = lambda x: float(x @ cov.to_numpy() @ x)  # noqa: E731
    assert var(w.to_numpy()) <= var(seed_min_variance(cov).to_numpy()) + 1e-15
    # no feasible direction lowers variance: any small long-only move costs variance
    rng = np.random.default_rng(0)
    for _ in range(100):
        d = rng.normal(size=4)
        d -= d.mean()
        trial = np.clip(w.to_numpy() + 1e-3 * d, 0, None)
        assert var(trial / trial.sum()) >= var(w.to_numpy()) - 1e-12


def test_ledoit_wolf_by_the_published_formula():
    """Ledoit and Wolf (2004): (1 - d) S + d mu I, S the (1/n) sample covariance of centred returns,
    mu = tr(S) / p, d = min(b2, d2) / d2 written out from the paper, not from scikit-learn."""
    rng = np.random.default_rng(1)
    r = pd.DataFrame(rng.normal(0, 0.01, (300, 4)) * [0.2, 1.0, 1.5, 2.0], columns=ASSETS)
    x = r.to_numpy() - r.to_numpy().mean(axis=0)
    n, p = x.shape
    s = x.T @ x / n
    mu = np.trace(s) / p
    d2 = np.sum((s - mu * np.eye(p)) ** 2)
    b2 = sum(np.sum((np.outer(row, row) - s) ** 2) for row in x) / n**2
    d = min(b2, d2) / d2
    assert 0 < d < 1
    np.testing.assert_allclose(ledoit_wolf_cov(r), (1 - d) * s + d * mu * np.eye(p), rtol=1e-10)


def test_diagonal_shrinkage_by_hand():
    r = pd.DataFrame({"a": [0.01, -0.01, 0.02], "b": [0.02, 0.0, 0.01]})
    s = r.cov()
    out = diagonal_shrinkage(r, 0.3)
    assert out.loc["a", "b"] == pytest.approx(0.7 * s.loc["a", "b"])
    assert out.loc["a", "a"] == pytest.approx(s.loc["a", "a"])
    with pytest.raises(ValueError, match="shrink_alpha"):
        diagonal_shrinkage(r, 1.5)


def test_cov_lookback_longer_than_data_is_rejected():
    idx = pd.bdate_range("2020-01-01", periods=50)
    rets = pd.DataFrame(np.zeros((50, 2)), index=idx, columns=["a", "b"])
    with pytest.raises(ValueError, match="cov_lookback=252"):
        blended_weight_path(rets, idx[-2:], 252, 252, "fixed", 0.3, 0.3)


def test_month_end_dates_are_last_trading_days():
    idx = pd.bdate_range("2024-01-01", "2024-03-31")
    assert list(month_end_dates(idx)) == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29"),
                                          pd.Timestamp("2024-03-29")]
    with pytest.raises(ValueError, match="offset alias"):
        month_end_dates(idx, "monthly")


def test_blended_weights_at_d_ignore_returns_after_d():
    from helpers.testing import assert_no_lookahead

    rng = np.random.default_rng(8)
    idx = pd.bdate_range("2019-01-01", periods=260)
    rets = pd.DataFrame(rng.normal(0.0003, [0.004, 0.01, 0.02], (260, 3)), index=idx, columns=["a", "b", "c"])
    dates = month_end_dates(idx)
    assert_no_lookahead(lambda r: blended_weight_path(r, dates, 60, 60, "fixed", 0.3, 0.3), rets,
                        cutoffs=dates[3:9], rtol=1e-6, atol=1e-8)


def test_trailing_windows_are_the_label_slices_they_replace():
    """Same rows as ``returns.loc[:d].tail(n)`` (the naive reference), for dates on, between and before the index."""
    idx = pd.bdate_range("2020-01-01", periods=60)
    returns = pd.DataFrame(np.random.default_rng(1).normal(size=(60, 3)), index=idx, columns=list("abc"))
    dates = [idx[0] - pd.Timedelta(days=3), idx[5], idx[10] + pd.Timedelta(hours=12), pd.Timestamp("2020-01-18"),
             idx[-1], idx[-1] + pd.Timedelta(days=30)]
    for lookback in (1, 7, 100):
        got = list(trailing_windows(returns, dates, lookback))
        assert [d for d, _ in got] == dates
        for d, window in got:
            pd.testing.assert_frame_equal(window, returns.loc[:d].tail(lookback))
