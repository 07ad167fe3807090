from __future__ import annotations

import math

import pytest

from model_space import CNN_SPACE, build_cnn
from trainer.fit import EpochLog, TerminateOnNaNEpoch, compile_model, fit


def test_a_diverging_fit_stops_after_the_first_nan_epoch(small_splits) -> None:
    params = {**CNN_SPACE.defaults(), "augmentation": 0.0, "batch_size": 64}
    model = build_cnn(params, seed=0)
    compile_model(model, {**params, "learning_rate": 1e12})
    result = fit(model, small_splits, params, epochs=4)
    assert result.diverged
    assert result.epochs_run == 1
    assert not math.isfinite(result.history["loss"][0])


def test_a_healthy_fit_records_learning_rate_and_timing(small_splits) -> None:
    params = {**CNN_SPACE.defaults(), "augmentation": 0.0, "batch_size": 64}
    model = build_cnn(params, seed=0)
    compile_model(model, params)
    result = fit(model, small_splits, params, epochs=2)
    assert not result.diverged and result.epochs_run == 2
    assert result.history["learning_rate"] == pytest.approx([1e-3, 1e-3])
    assert all(seconds > 0 for seconds in result.history["epoch_seconds"])
    assert result.val_accuracy == max(result.history["val_accuracy"])
    assert result.best_epoch == 1 + result.history["val_accuracy"].index(result.val_accuracy)


def test_no_standard_callback_hooks_batches() -> None:
    """Keras dispatches steps asynchronously only if no callback overrides a batch hook."""
    for callback in (TerminateOnNaNEpoch, EpochLog):
        for hook in ("on_batch_end", "on_train_batch_end", "on_test_batch_end"):
            assert hook not in vars(callback)
