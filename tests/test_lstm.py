"""The batched LSTM trainer equals one-by-one training with torch.nn.LSTM."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from helpers.lstm import Config, Task, predict_proba, train_many, train_one


def _no_compiler() -> bool:
    import os
    import shutil

    return not (os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang"))


# without any C compiler the kernels cannot exist (the trainer then uses torch steps); with one,
# a failing build must fail these tests rather than skip them
needs_c = pytest.mark.skipif(_no_compiler(), reason="no C compiler on this machine")


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


@pytest.mark.parametrize("use_c", [pytest.param(True, marks=needs_c), False], ids=["C kernels", "torch steps"])
def test_one_group_of_different_data_rates_and_epochs_equals_one_by_one(use_c):
    """One stack: same shape, but each configuration with its own data length, rate, epochs and seed."""
    from helpers.lstm import _train_group

    configs = [Config(5, 0.01, 3, 3, 8, 2), Config(5, 0.003, 3, 2, 8, 2), Config(5, 0.02, 3, 4, 8, 2)]
    tasks = [make_task(c, seed=20 + i, n=30 + 7 * i, data_seed=i) for i, c in enumerate(configs)]
    for task, b in zip(tasks, _train_group(tasks, torch.float64, "cpu", use_c=use_c)):
        ref = train_one(task)
        assert len(b.train_losses) == task.config.epochs
        np.testing.assert_allclose(b.train_losses, ref.train_losses, rtol=1e-9, atol=1e-12)
        for k, v in ref.lstm_state.items():
            np.testing.assert_allclose(b.lstm_state[k], v, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(b.head_state["weight"], ref.head_state["weight"], rtol=1e-8, atol=1e-10)


@needs_c
def test_float32_c_kernels_match_nn_lstm_closely():
    """The float32 kernels use their own exp; after training they stay within float32 noise of nn.LSTM."""
    from helpers.lstm import _train_group

    c = Config(8, 0.01, 4, 3, 16, 2)
    task = make_task(c, seed=5, n=64)
    ours = _train_group([task], torch.float32, "cpu", use_c=True)[0]
    ref = train_one(task, dtype=torch.float32)
    np.testing.assert_allclose(ours.train_losses, ref.train_losses, rtol=1e-5)
    for k, v in ref.lstm_state.items():
        np.testing.assert_allclose(ours.lstm_state[k], v, rtol=1e-4, atol=1e-5)


@needs_c
def test_fast_exp_is_within_two_ulp_of_exp():
    from helpers import ckernels

    lib = ckernels.load()
    x = np.linspace(-87, 88, 200_001, dtype=np.float32)
    y = np.empty_like(x)
    lib.exp_array_f32(x.ctypes.data, y.ctypes.data, len(x))
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(y - exact) / exact) < 2 * np.finfo(np.float32).eps


def test_without_a_compiler_the_trainer_falls_back_to_torch(monkeypatch, tmp_path):
    from helpers import ckernels
    from helpers.lstm import _steps, _TorchSteps

    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("QN_CACHE_DIR", str(tmp_path))
    ckernels.load.cache_clear()
    try:
        with pytest.warns(UserWarning, match="could not build the LSTM C kernels"):
            assert isinstance(_steps(torch.float32, "cpu"), _TorchSteps)
        with pytest.raises(RuntimeError, match="not available"):
            _steps(torch.float32, "cpu", use_c=True)
    finally:
        ckernels.load.cache_clear()


def test_a_group_must_share_one_shape():
    from helpers.lstm import _train_group

    tasks = [make_task(Config(4, 0.01, 3, 2, 8, 1), seed=1), make_task(Config(5, 0.01, 3, 2, 8, 1), seed=2)]
    with pytest.raises(ValueError, match="one \\(hidden, window"):
        _train_group(tasks, torch.float64, "cpu")


@pytest.mark.parametrize("use_c", [pytest.param(True, marks=needs_c), False], ids=["C kernels", "torch steps"])
def test_resumed_training_equals_training_in_one_go(use_c):
    """Successive halving continues survivors: 2 epochs, then 2 more, then 1, is 5 epochs in one go."""
    from helpers.lstm import _train_group

    configs = [Config(4, 0.01, 3, 5, 8, 2), Config(4, 0.003, 3, 5, 8, 2), Config(4, 0.02, 3, 5, 8, 2)]
    tasks = [make_task(c, seed=20 + i, n=30 + 7 * i, data_seed=i) for i, c in enumerate(configs)]
    once = _train_group(tasks, torch.float64, "cpu", use_c=use_c)
    staged = None
    for epochs in (2, 4, 5):
        rung = [dataclasses.replace(t, config=dataclasses.replace(t.config, epochs=epochs),
                                    resume=staged[i] if staged else None) for i, t in enumerate(tasks)]
        staged = _train_group(rung[:2] if epochs == 5 else rung, torch.float64, "cpu", use_c=use_c,
                              keep_state=True)  # the last rung trains a smaller group
    for a, b, t in zip(once, staged, tasks):
        assert b.steps == a.steps == 5 * -(-len(t.X) // t.config.batch_size)
        np.testing.assert_allclose(b.train_losses, a.train_losses, rtol=1e-12)
        for k, v in a.lstm_state.items():
            np.testing.assert_allclose(b.lstm_state[k], v, rtol=1e-12, atol=1e-14)
        assert b.val_loss == pytest.approx(a.val_loss, rel=1e-12)


def test_resuming_needs_the_adam_state_and_whole_epochs():
    c = Config(4, 0.01, 3, 2, 8, 1)
    t = make_task(c, seed=1)
    without_state = train_many([t])[0]
    with pytest.raises(ValueError, match="Adam state"):
        train_many([dataclasses.replace(t, config=dataclasses.replace(c, epochs=3), resume=without_state)])
    kept = train_many([t], keep_state=True)[0]
    with pytest.raises(ValueError, match="config.epochs=1"):
        train_many([dataclasses.replace(t, config=dataclasses.replace(c, epochs=1), resume=kept)])
