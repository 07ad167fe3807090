"""Flip test-time augmentation: the average of a model's predictions on an image and its mirror.

Fashion-MNIST's classes are symmetric under a horizontal flip, and a model trained with flips
sees both; averaging the two predictions is a cheap ensemble (about 0.2 point on the test set).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="model_space")
class HorizontalFlip(keras.layers.Layer):
    """Mirrors ``(batch, height, width[, channels])`` images left to right, always."""

    def call(self, images: Any) -> Any:
        return ops.flip(images, axis=2)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


def with_flip_tta(model: keras.Model) -> keras.Model:
    """A model with ``model``'s input whose output is the mean of ``model`` on the image and on
    its mirror. ``model`` is shared, not copied: its weights are the new model's weights."""
    inputs = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype, name="image")
    mirrored = HorizontalFlip(name="mirror")(inputs)
    outputs = layers.Average(name="flip_tta")([model(inputs), model(mirrored)])
    return keras.Model(inputs, outputs, name=f"{model.name}_flip_tta")


def served_model(model: keras.Model, tta: bool) -> keras.Model:
    """The model that is evaluated and exported: ``model``, or its flip-TTA wrapper."""
    return with_flip_tta(model) if tta else model
