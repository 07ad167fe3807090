"""The training images in full batches: one step shape, so XLA compiles the train step once.

Keras cuts a partial last batch from arrays (12,000 images in batches of 64 leave 32), and every
new input shape is a new XLA program: under JAX the train step was compiled twice per trial,
about half of a trial's compile time (measured on CPU, 6 s and 7 s). Here each epoch is a fresh
permutation drawn from ``(seed, epoch)`` without its last ``len % batch_size`` images, different
ones each epoch.

Batch ``i`` of the fit is a pure function of ``i``: the data set is endless (``fit`` cuts it into
epochs with ``steps_per_epoch``) and batch ``i`` belongs to epoch ``first_epoch + i // steps``.
No epoch hook is needed (Keras calls them at other times than epoch ends, and TensorFlow's
prefetching reads ahead of them), and a fit resumed from a checkpoint at epoch ``k`` sees
exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def full_batches(images: int, batch_size: int) -> int:
    """Steps in one epoch: the full batches, or one batch of everything if there are fewer."""
    return max(1, images // batch_size)


class EpochBatches(keras.utils.PyDataset):
    """Full batches of ``(images, labels)``, each epoch in an order drawn from its number.

    Endless: pass ``steps_per_epoch=batches.steps`` to ``fit``.
    """

    def __init__(
        self, images: Any, labels: Any, batch_size: int, seed: int, first_epoch: int = 0
    ) -> None:
        super().__init__()
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.seed = seed
        self.first_epoch = first_epoch
        self.steps = full_batches(len(labels), batch_size)
        self._order: tuple[int, np.ndarray] = (-1, np.empty(0, dtype=np.int64))

    @property
    def num_batches(self) -> int | None:
        return None

    def order(self, epoch: int) -> np.ndarray:
        """The permutation of the images in ``epoch`` (its first ``steps`` batches are used)."""
        if self._order[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._order = (epoch, rng.permutation(len(self.labels)))
        return self._order[1]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self.images[self.chosen(index)], self.labels[self.chosen(index)]

    def chosen(self, index: int) -> np.ndarray:
        """The images of fit batch ``index``."""
        epoch, step = divmod(index, self.steps)
        return self.order(self.first_epoch + epoch)[
            step * self.batch_size : (step + 1) * self.batch_size
        ]

    def tf_dataset(self, epochs: int) -> Any:
        """The same batches for ``epochs`` epochs as a native ``tf.data.Dataset`` (TensorFlow
        only): the images are gathered by TensorFlow, no Python generator feeds the fit.

        Without tf.data's autotuning (``untuned``): see there."""
        import tensorflow as tf

        indices = np.stack([self.chosen(i) for i in range(epochs * self.steps)]).astype("int32")
        images = tf.constant(self.images)
        labels = tf.constant(self.labels)
        dataset = (
            tf.data.Dataset.from_tensor_slices(indices)
            .map(lambda chosen: (tf.gather(images, chosen), tf.gather(labels, chosen)))
            .prefetch(2)
        )
        return untuned(dataset)


def untuned(dataset: Any) -> Any:
    """``dataset`` without tf.data's autotuning thread.

    At the end of a fit its iterator is destroyed, and the destructor waits for the autotuning
    thread ("tf_data_model", ``RootDataset::Iterator``) to finish its optimisation pass: that
    sat for tens of seconds now and then, more often on a busy CPU (py-spy's native stacks:
    ``~IteratorResource`` > ``RootDataset::Iterator::~Iterator`` >
    ``UnboundedThreadPool::LogicalThreadWrapper::~LogicalThreadWrapper`` under ``model.fit``'s
    return; ``bench/stall_catch.py``; the figures: docs/performance.md). The pipelines here are
    fixed (a gather, a prefetch of 2): nothing to tune."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def validation_dataset(images: Any, labels: Any, batch_size: int) -> Any:
    """The validation images in batches of ``batch_size`` (the last one partial), in order, as
    an untuned ``tf.data.Dataset`` (TensorFlow only: Keras's own pipeline for arrays is
    autotuned)."""
    import tensorflow as tf

    return untuned(tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size))
