"""Notebook 02: labels, look-ahead, sequence alignment, threshold selection, trading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import grid as G
from helpers import pairs as P
from helpers.data import UnknownTickerError, load_prices

LABELS = {"default": {"window": 3, "threshold": 0.05}}


def test_labels_on_a_hand_made_spread():
    s = pd.Series([1.0, 0.5, 0.2, 0.01, 0.3, 0.9, 1.0, 1.0])
    labels = P.reversion_labels(s, window=2, threshold=0.05, mean=0.0)
    # day 0 looks at days 1-2 (0.5, 0.2): no; day 1 at 2-3 (0.2, 0.01): yes; day 2: yes; day 3: (0.3, 0.9) no
    assert labels.iloc[:6].tolist() == [0, 1, 1, 0, 0, 0]
    assert labels.iloc[6:].isna().all()


@pytest.fixture(scope="module")
def prices():
    return load_prices(["TLT", "SPTL", "SHY", "VGSH"], start="2014-01-01", source="synthetic")


def prepared(prices, **kw):
    args = dict(label_params=LABELS, train_start="2015-01-01", train_end="2019-12-31",
                test_start="2020-01-02", test_end="2024-12-31", validation_fraction=0.2)
    args.update(kw)
    return P.prepare_pair(prices, "TLT", "SPTL", **args)


def test_no_feature_at_t_uses_data_after_t(prices):
    base = prepared(prices)
    t = pd.Timestamp("2021-06-01")
    changed = prices.copy()
    changed.loc[changed.index > t, "TLT"] *= 1.3
    other = prepared(changed)
    pd.testing.assert_frame_equal(base.features.loc[:t], other.features.loc[:t])
    assert not np.allclose(base.features.loc[t:].iloc[5:10], other.features.loc[t:].iloc[5:10])


def test_statistics_come_from_training_only(prices):
    base = prepared(prices)
    changed = prices.copy()
    changed.loc["2020-01-02":, "SPTL"] *= 2.0  # a shock in the test period only
    other = prepared(changed)
    pd.testing.assert_frame_equal(base.features.loc[:"2019-12-31"], other.features.loc[:"2019-12-31"])


def test_volatility_feature_is_finite_when_spread_crosses_zero(prices):
    pair = prepared(prices)
    assert (np.sign(pair.raw["spread"]).diff().abs() > 0).any()  # it does cross zero
    assert np.isfinite(pair.features["volatility"]).all()


def test_splits_are_time_ordered_and_purged(prices):
    pair = prepared(prices)
    assert pair.train.max() < pair.validation.min() < pair.test.min()
    gap = pair.features.index.get_indexer([pair.validation.min()])[0] - \
        pair.features.index.get_indexer([pair.train.max()])[0]
    assert gap > pair.window
    # no validation label looks past the end of the training period
    last_val = pair.features.index.get_indexer([pair.validation.max()])[0]
    assert pair.features.index[last_val + pair.window] <= pd.Timestamp("2019-12-31")


def test_sequences_align_with_labels():
    idx = pd.bdate_range("2020-01-01", periods=6)
    f = pd.DataFrame({"a": np.arange(6.0), "b": 10 + np.arange(6.0)}, index=idx)
    y = pd.Series([0, 1, 0, 1, 1, 0.0], index=idx)
    X, labels = P.sequences(f, y, idx[2:], window_size=3)
    assert X.shape == (4, 3, 2)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])  # rows ending at the label's date
    np.testing.assert_array_equal(labels, [0, 1, 1, 0])
    with pytest.raises(ValueError, match="window_size=9"):
        P.sequences(f, y, idx[:2], window_size=9)


def test_threshold_is_chosen_on_validation_only(prices, monkeypatch):
    pair = prepared(prices)
    seen = []
    real = P.best_threshold

    def spy(y, scores, grid=None):
        seen.append(len(y))
        return real(y, scores, grid)

    monkeypatch.setattr(G, "best_threshold", spy)
    cfg = G.expand({"hidden_size": [4], "learning_rate": [0.01], "window_size": [3], "epochs": [1],
                    "batch_size": [64], "num_layers": [1]})
    table, _ = G.search({pair.name: pair}, cfg, seed=0, n_jobs=1)
    assert seen == [len(pair.validation)]
    assert table["val F1"].between(0, 1).all()


def test_best_threshold_by_hand():
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.25, 0.4, 0.35, 0.8])  # 0.2: F1 2/3; 0.3: F1 0.8; 0.5: F1 2/3
    thr, f1 = P.best_threshold(y, scores, grid=np.array([0.2, 0.3, 0.5]))
    assert thr == 0.3 and f1 == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))


def test_trading_simulation_by_hand():
    idx = pd.bdate_range("2021-01-01", periods=5)
    raw = pd.DataFrame({"spread": [2.0, 1.5, 1.0, 0.5, 0.0], "z_score": [2.0, 0.5, 1.2, 0.1, 0.0]}, index=idx)
    probs = pd.Series([0.9, 0.9, 0.2, 0.9, 0.9], index=idx)
    equity, trades = P.simulate_trades(raw, probs, threshold=0.5, entry_z=1.0, holding_period=2,
                                       notional=100.0, transaction_cost=0.01)
    # only day 0 qualifies (prob 0.9 > 0.5, |z| 2 > 1): short the spread 2.0 -> 1.0, size 90
    assert len(trades) == 1
    assert trades["pnl"].iloc[0] == pytest.approx(1.0 * 90 - 2 * 0.01 * 90)
    assert equity.iloc[1] == 0.0 and equity.iloc[2] == pytest.approx(88.2)  # booked at exit


@pytest.mark.parametrize("kwargs, message", [
    ({"validation_fraction": 1.5}, "validation_fraction"),
    ({"label_params": {"default": {"window": 0, "threshold": 0.1}}}, "window must be >= 1"),
    ({"label_params": {"X_Y": {"window": 3, "threshold": 0.1}}}, "no entry"),
    ({"test_start": "2030-01-01"}, "no test days"),
])
def test_bad_parameters(prices, kwargs, message):
    with pytest.raises(ValueError, match=message):
        prepared(prices, **kwargs)


def test_empty_pair_and_unknown_ticker(prices):
    with pytest.raises(ValueError, match="no prices for GLD"):
        P.spread_series(prices, "TLT", "GLD", "2019-12-31")
    with pytest.raises(UnknownTickerError, match="XYZ"):
        load_prices(["TLT", "XYZ"], source="synthetic")
    with pytest.raises(ValueError, match="grid must be one of"):
        G.resolve_grid("huge", None)
