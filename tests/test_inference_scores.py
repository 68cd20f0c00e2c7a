"""Notebook 02's classifier comparison (helpers.pairverdict.score_intervals) against scikit-learn:
F1 on the validation-thresholded predictions, ROC AUC on the scores, per pair and pooled, with
the pooled interval resampling blocks of dates (tests/mutants/statistics.toml)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from helpers.pairverdict import Scored, score_intervals


def persistent_pair(rng, n: int, phi: float = 0.9):
    """Persistent labels 1[s > 0] and two models' scores s + noise (sd 0.7 and 1.5)."""
    s = np.empty(n)
    s[0] = rng.standard_normal()
    for t in range(1, n):
        s[t] = phi * s[t - 1] + np.sqrt(1 - phi**2) * rng.standard_normal()
    return (s > 0).astype(int), s + 0.7 * rng.standard_normal(n), s + 1.5 * rng.standard_normal(n)


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(71)
    y, models, dates = {}, {"lstm": {}, "zrule": {}}, {}
    for k, name in enumerate(["AAA/BBB", "CCC/DDD"]):
        y[name], a, b = persistent_pair(rng, 600)
        models["lstm"][name], models["zrule"][name] = Scored(a, 0.1), Scored(b, -0.2)
        dates[name] = pd.bdate_range("2020-01-01", periods=700)[k * 100:][:600]  # overlapping test periods
    return y, models, dates, score_intervals(y, models, "lstm", "zrule", reps=200, dates=dates)


def test_f1_on_predictions_and_auc_on_scores_per_pair_and_pooled(scored):
    y, models, _, ci = scored
    a, b = models["lstm"], models["zrule"]
    for name in y:
        assert ci.loc[name, "F1"].estimate == pytest.approx(
            f1_score(y[name], a[name].predictions) - f1_score(y[name], b[name].predictions), rel=1e-12)
        assert ci.loc[name, "ROC AUC"].estimate == pytest.approx(
            roc_auc_score(y[name], a[name].scores) - roc_auc_score(y[name], b[name].scores), rel=1e-12)
    yy = np.concatenate(list(y.values()))
    cat = {m: {k: np.concatenate([getattr(models[m][n], k) for n in y]) for k in ("scores", "predictions")}
           for m in models}
    assert ci.loc["pooled", "F1"].estimate == pytest.approx(
        f1_score(yy, cat["lstm"]["predictions"]) - f1_score(yy, cat["zrule"]["predictions"]), rel=1e-12)
    assert ci.loc["pooled", "ROC AUC"].estimate == pytest.approx(
        roc_auc_score(yy, cat["lstm"]["scores"]) - roc_auc_score(yy, cat["zrule"]["scores"]), rel=1e-12)


def test_persistent_labels_are_resampled_in_blocks(scored):
    *_, ci = scored
    for name in ci.index:
        for metric in ("F1", "ROC AUC"):
            assert ci.loc[name, metric].block > 3, (name, metric)
            assert ci.loc[name, metric].low < ci.loc[name, metric].estimate < ci.loc[name, metric].high
