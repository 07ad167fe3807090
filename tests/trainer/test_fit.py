from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from model_space import CNN_SPACE, build_cnn
from trainer.batches import full_batches
from trainer.checkpoint import Checkpoint
from trainer.fit import (
    EarlyStoppingOnDevice,
    EpochLog,
    TerminateOnNaNEpoch,
    _summarise,
    compile_model,
    fit,
    learning_rate_schedule,
    one_hot,
)


@pytest.mark.slow
def test_a_diverging_fit_stops_after_the_first_nan_epoch(small_splits) -> None:
    params = {**CNN_SPACE.defaults(), "augmentation": 0.0, "batch_size": 64}
    model = build_cnn(params, seed=0)
    compile_model(model, {**params, "learning_rate": 1e12}, total_steps=4 * 16)
    result = fit(model, small_splits, params, epochs=4)
    assert result.diverged
    assert result.epochs_run == 1
    assert not math.isfinite(result.history["loss"][0])


@pytest.mark.slow
def test_a_healthy_fit_records_learning_rate_and_timing(small_splits) -> None:
    params = {**CNN_SPACE.defaults(), "augmentation": 0.0, "batch_size": 64}
    model = build_cnn(params, seed=0)
    steps = full_batches(len(small_splits.y_train), 64)
    compile_model(model, params, total_steps=2 * steps)
    result = fit(model, small_splits, params, epochs=2)
    assert not result.diverged and result.epochs_run == 2
    schedule = learning_rate_schedule(1e-3, 2 * steps)
    expected = [float(schedule(steps)), float(schedule(2 * steps))]
    assert result.history["learning_rate"] == pytest.approx(expected, rel=1e-5)
    assert result.history["learning_rate"][-1] == pytest.approx(0.0, abs=1e-9)
    assert all(
        0 < v < e
        for v, e in zip(result.history["val_seconds"], result.history["epoch_seconds"], strict=True)
    )
    assert all(seconds > 0 for seconds in result.history["epoch_seconds"])
    assert result.val_accuracy == max(result.history["val_accuracy"])
    assert result.best_epoch == 1 + result.history["val_accuracy"].index(result.val_accuracy)


def test_no_standard_callback_hooks_batches() -> None:
    """Keras dispatches steps asynchronously only if no callback overrides a batch hook."""
    for callback in (TerminateOnNaNEpoch, EpochLog):
        for hook in ("on_batch_end", "on_train_batch_end", "on_test_batch_end"):
            assert hook not in vars(callback)


def test_the_schedule_warms_up_to_its_peak_then_decays_to_zero_at_the_budget_end() -> None:
    schedule = learning_rate_schedule(1e-2, total_steps=100)
    assert float(schedule(0)) == pytest.approx(1e-3)  # a tenth of the peak
    assert float(schedule(10)) == pytest.approx(5.5e-3)  # halfway up the warm-up
    assert float(schedule(20)) == pytest.approx(1e-2)  # the peak, after 20% of the steps
    assert float(schedule(60)) == pytest.approx(5e-3, rel=1e-3)  # cosine halfway down
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-9)  # zero at the last step
    rates = [float(schedule(step)) for step in range(20, 101)]
    assert rates == sorted(rates, reverse=True)


def test_a_short_budget_is_a_complete_schedule() -> None:
    """A 2-epoch trial reaches the same peak and end as a 20-epoch run, only sooner."""
    short, long = learning_rate_schedule(3e-3, 2 * 50), learning_rate_schedule(3e-3, 20 * 50)
    assert float(short(20)) == pytest.approx(float(long(200))) == pytest.approx(3e-3)
    assert float(short(100)) == pytest.approx(float(long(1000)), abs=1e-9)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.2])
def test_label_smoothing_reaches_the_loss(small_splits, smoothing: float) -> None:
    params = {**CNN_SPACE.defaults(), "augmentation": 0.0, "label_smoothing": smoothing}
    model = build_cnn(params, seed=0)
    compile_model(model, params, total_steps=10)
    images, labels = small_splits.x_val[:256], small_splits.y_val[:256]
    loss = model.evaluate(images, one_hot(labels), batch_size=256, verbose=0)[0]
    probabilities = np.clip(model.predict(images, verbose=0), 1e-7, 1 - 1e-7)
    targets = one_hot(labels) * (1 - smoothing) + smoothing / 10
    expected = float(np.mean(-(targets * np.log(probabilities)).sum(axis=1)))
    assert loss == pytest.approx(expected, rel=1e-4)


def test_ties_report_the_first_best_epoch_as_early_stopping_restores_it() -> None:
    result = _summarise({"loss": [1.0, 0.9, 0.8], "val_accuracy": [0.7, 0.8, 0.8]}, 1.0)
    assert result.best_epoch == 2 and result.val_accuracy == 0.8


def test_early_stopping_restores_the_first_best_epochs_weights_and_stops_on_patience() -> None:
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    stopping = EarlyStoppingOnDevice(patience=2)
    stopping.set_model(model)
    stopping.on_train_begin()
    model.stop_training = False
    for epoch, value in enumerate([0.5, 0.8, 0.8, 0.7]):
        model.layers[0].kernel.assign(np.full((2, 1), float(epoch), dtype="float32"))
        stopping.on_epoch_end(epoch, {"val_accuracy": value})
        assert model.stop_training is (epoch == 3)
    stopping.on_train_end()
    assert stopping.best_epoch == 1
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.layers[0].kernel), 1.0)


class _StopAfter(keras.callbacks.Callback):
    """A crash after an epoch's checkpoint is written (standard callbacks run first)."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_a_resumed_fit_repeats_the_uninterrupted_one_exactly(small_splits, tmp_path) -> None:
    """Same weights, optimizer moments, augmentation draws and batches: epoch 3 of a fit that
    crashed after epoch 2 and was resumed from its checkpoint has the uninterrupted fit's loss."""
    params = {**CNN_SPACE.defaults(), "batch_size": 64}
    steps = 3 * full_batches(len(small_splits.y_train), 64)

    def fresh_fit(**kwargs):
        keras.utils.set_random_seed(5)
        model = build_cnn(params, seed=5)
        compile_model(model, params, total_steps=steps)
        return fit(model, small_splits, params, epochs=3, seed=5, **kwargs)

    uninterrupted = fresh_fit()
    checkpoint = Checkpoint(str(tmp_path / "checkpoint"))
    with pytest.raises(KeyboardInterrupt):
        fresh_fit(checkpoint=checkpoint, callbacks=[_StopAfter(2)])
    resumed = fresh_fit(checkpoint=checkpoint)
    assert resumed.epochs_run == 3
    assert resumed.history["loss"] == pytest.approx(uninterrupted.history["loss"], rel=1e-5)
    assert resumed.history["val_accuracy"] == pytest.approx(uninterrupted.history["val_accuracy"])


def test_each_epoch_line_says_how_long_the_rest_of_the_fit_takes() -> None:
    log = EpochLog(epochs=5)
    log._epoch_seconds = [30.0, 10.0, 12.0]  # the first compiles: 11 s a steady epoch
    assert log._left(3) == "  about 0m22s left"
    assert log._left(5) == ""
