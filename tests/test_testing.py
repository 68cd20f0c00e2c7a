"""The look-ahead guard itself: it passes past-only code and catches code that peeks ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.testing import assert_no_lookahead, perturb_after

PRICES = pd.DataFrame(np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, (200, 2)), axis=0)),
                      index=pd.bdate_range("2020-01-01", periods=200), columns=["a", "b"])


def test_past_only_rolling_statistics_pass():
    assert_no_lookahead(lambda p: p.pct_change().rolling(20).std(), PRICES)
    assert_no_lookahead(lambda p: {"ma": p.rolling(5).mean(), "ret": p["a"].pct_change()}, PRICES)


@pytest.mark.parametrize("peek", [
    lambda p: p.pct_change().shift(-1),                      # tomorrow's return
    lambda p: p.rolling(21, center=True).mean(),             # centred window
    lambda p: (p - p.mean()) / p.std(),                      # full-sample standardization
])
def test_code_that_peeks_ahead_fails(peek):
    with pytest.raises(AssertionError, match="look-ahead"):
        assert_no_lookahead(peek, PRICES)


def test_decided_at_shifts_the_rows_that_must_hold():
    earned = lambda p: p.pct_change()  # noqa: E731  row t+1 is earned by a decision at t
    assert_no_lookahead(earned, PRICES, decided_at=lambda i: i)
    with pytest.raises(AssertionError):
        # claiming row t was decided a day earlier makes day t's return a look-ahead
        assert_no_lookahead(earned, PRICES, decided_at=lambda i: i - pd.offsets.BDay(1))


def test_perturb_after_keeps_rows_through_t_and_prices_positive():
    t = PRICES.index[100]
    moved = perturb_after(PRICES, t)
    pd.testing.assert_frame_equal(moved.loc[:t], PRICES.loc[:t])
    assert (moved.loc[t:].iloc[1:] != PRICES.loc[t:].iloc[1:]).all().all()
    assert (moved > 0).all().all()
