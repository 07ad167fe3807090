"""Full training batches, each epoch in a new order drawn from (seed, epoch)."""

from __future__ import annotations

import numpy as np

from trainer.batches import EpochBatches, full_batches, validation_dataset


def _epoch(batches: EpochBatches, epoch: int = 0) -> list[np.ndarray]:
    return [batches[epoch * batches.steps + i][1] for i in range(batches.steps)]


def test_every_batch_is_full_and_no_image_repeats_in_an_epoch() -> None:
    images = np.arange(200 * 4).reshape(200, 2, 2)
    labels = np.arange(200)
    batches = EpochBatches(images, labels, batch_size=32, seed=3)
    assert batches.steps == full_batches(200, 32) == 6
    assert batches.num_batches is None  # endless: fit cuts it into epochs
    assert all(len(batch) == 32 for batch in _epoch(batches))
    assert len(set(np.concatenate(_epoch(batches)).tolist())) == 192
    x, y = batches[2]
    np.testing.assert_array_equal(x, images[y])  # images stay with their labels


def test_each_epoch_draws_a_new_order_and_leaves_out_other_images() -> None:
    batches = EpochBatches(np.zeros((200, 1)), np.arange(200), batch_size=32, seed=3)
    first, second = (np.concatenate(_epoch(batches, epoch)) for epoch in (0, 1))
    assert not np.array_equal(first, second)
    assert set(range(200)) - set(first.tolist()) != set(range(200)) - set(second.tolist())
    np.testing.assert_array_equal(np.concatenate(_epoch(batches, 0)), first)  # and back


def test_a_resumed_fit_sees_the_batches_of_an_uninterrupted_one() -> None:
    data = (np.zeros((100, 1)), np.arange(100))
    uninterrupted = EpochBatches(*data, batch_size=16, seed=7)
    resumed = EpochBatches(*data, batch_size=16, seed=7, first_epoch=3)
    for a, b in zip(_epoch(uninterrupted, 3), _epoch(resumed, 0), strict=True):
        np.testing.assert_array_equal(a, b)
    other_seed = EpochBatches(*data, batch_size=16, seed=8, first_epoch=3)
    assert not np.array_equal(_epoch(other_seed)[0], _epoch(resumed)[0])


def test_fewer_images_than_a_batch_make_one_batch() -> None:
    batches = EpochBatches(np.zeros((10, 1)), np.arange(10), batch_size=32, seed=0)
    assert batches.steps == 1 and len(batches[0][1]) == 10


class _Recording(EpochBatches):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.requested: set[int] = set()

    def __getitem__(self, index: int):
        self.requested.add(index)
        return super().__getitem__(index)


def test_keras_fit_reads_on_across_epochs() -> None:
    """Keras keeps one iterator over an endless data set, so epoch 3 reads batches 2s..3s-1
    (were it restarted each epoch, every epoch would train on epoch 0's order)."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    batches = _Recording(np.zeros((40, 1)), np.zeros((40, 1)), batch_size=16, seed=0)
    model.fit(batches, epochs=3, steps_per_epoch=batches.steps, shuffle=False, verbose=0)
    assert set(range(3 * batches.steps)) <= batches.requested


def test_the_tensorflow_pipeline_gives_the_same_batches() -> None:
    images = np.arange(100 * 4, dtype="uint8").reshape(100, 2, 2)
    labels = np.arange(100, dtype="float32")
    batches = EpochBatches(images, labels, batch_size=16, seed=7, first_epoch=2)
    native = list(batches.tf_dataset(epochs=3).as_numpy_iterator())
    assert len(native) == 3 * batches.steps
    for index, (x, y) in enumerate(native):
        expected_x, expected_y = batches[index]
        np.testing.assert_array_equal(x, expected_x)
        np.testing.assert_array_equal(y, expected_y)


def test_the_tensorflow_pipelines_have_no_autotuning_thread() -> None:
    """An autotuned pipeline's iterator waits for its tuning thread when it is destroyed, at the
    end of every fit: 9 to 21 s in 4 of 5 trials of a search on a busy CPU, 0.3 s at most
    without it (bench/stall_catch.py, bench/trial_tail.py)."""
    images = np.arange(250 * 4, dtype="uint8").reshape(250, 2, 2)
    labels = np.arange(250, dtype="float32")
    train = EpochBatches(images, labels, batch_size=16, seed=7).tf_dataset(epochs=1)
    validation = validation_dataset(images, labels, 100)
    assert train.options().autotune.enabled is False
    assert validation.options().autotune.enabled is False
    # the validation images in order, in batches of 100, the last one partial
    read = list(validation.as_numpy_iterator())
    assert [len(y) for _, y in read] == [100, 100, 50]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in read]), images)
