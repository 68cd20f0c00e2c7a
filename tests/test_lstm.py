"""The batched LSTM trainer equals one-by-one training with torch.nn.LSTM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.lstm import Config, Task, predict_proba, train_many, train_one


def make_task(config, seed, n=37, features=3, data_seed=0):
    rng = np.random.default_rng(data_seed)
    X = rng.normal(size=(n, config.window_size, features))
    y = (X[:, -1, 0] + 0.3 * rng.normal(size=n) > 0).astype(float)
    return Task(config, X, y, seed, X_val=X[:9], y_val=y[:9])


def test_batched_equals_one_by_one_on_a_tiny_grid():
    configs = [Config(4, 0.01, 3, 3, 8, 1), Config(6, 0.005, 2, 2, 8, 1), Config(5, 0.02, 3, 4, 16, 1),
               Config(3, 0.01, 2, 2, 8, 2), Config(5, 0.003, 3, 3, 8, 2)]
    tasks = [make_task(c, seed=10 + i, data_seed=i) for i, c in enumerate(configs)]
    batched = train_many(tasks)
    for task, b in zip(tasks, batched):
        ref = train_one(task)
        np.testing.assert_allclose(b.train_losses, ref.train_losses, rtol=1e-9, atol=1e-12)
        for k, v in ref.lstm_state.items():
            np.testing.assert_allclose(b.lstm_state[k], v, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(predict_proba(b, task.X), predict_proba(ref, task.X), rtol=1e-8, atol=1e-10)
        assert b.val_loss == pytest.approx(ref.val_loss, rel=1e-8)


def test_independent_initialization_and_batch_size_is_used():
    c = Config(4, 0.01, 3, 2, 8, 1)
    a, b = train_many([make_task(c, seed=1), make_task(c, seed=2)])
    assert not np.allclose(a.lstm_state["weight_hh_l0"], b.lstm_state["weight_hh_l0"])
    small, large = train_many([make_task(c, seed=1), make_task(Config(4, 0.01, 3, 2, 32, 1), seed=1)])
    assert not np.allclose(small.lstm_state["weight_hh_l0"], large.lstm_state["weight_hh_l0"])


def test_training_does_not_depend_on_thread_count():
    c = Config(5, 0.01, 3, 2, 8, 1)
    torch.set_num_threads(2)
    a = train_many([make_task(c, seed=3)])[0]
    torch.set_num_threads(1)
    b = train_many([make_task(c, seed=3)])[0]
    np.testing.assert_array_equal(a.lstm_state["weight_ih_l0"], b.lstm_state["weight_ih_l0"])


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="window_size"):
        Config(4, 0.01, 0, 2, 8, 1)
    with pytest.raises(ValueError, match="learning_rate"):
        Config(4, -0.01, 3, 2, 8, 1)


def test_a_mixed_stack_still_equals_one_by_one():
    """Hidden sizes and windows padded and masked inside one stack (the general mechanism)."""
    from helpers.lstm import _train_group

    configs = [Config(4, 0.01, 3, 2, 8, 1), Config(6, 0.005, 2, 2, 8, 1), Config(3, 0.02, 3, 2, 8, 1)]
    tasks = [make_task(c, seed=20 + i, data_seed=i) for i, c in enumerate(configs)]
    for task, b in zip(tasks, _train_group(tasks, torch.float64, "cpu")):
        ref = train_one(task)
        np.testing.assert_allclose(b.train_losses, ref.train_losses, rtol=1e-9, atol=1e-12)
        for k, v in ref.lstm_state.items():
            np.testing.assert_allclose(b.lstm_state[k], v, rtol=1e-8, atol=1e-10)
