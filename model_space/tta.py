"""The served model: the trained CNN without its training-only layers, optionally with flip
test-time augmentation, built from stock Keras layers only.

So an exported ``model.keras`` (and the MLflow model registered from it) loads with
``keras.saving.load_model`` in a process that has never imported this project: augmentation
runs only in training, so its layers are replaced by ``Identity``; the mirror of flip TTA is a
fixed ``Dense`` layer over the image's width (an anti-diagonal 0/1 kernel: exact).

Flip TTA: Fashion-MNIST's classes are symmetric under a horizontal flip, and a model trained
with flips sees both; averaging the predictions on an image and its mirror is a cheap ensemble
(about 0.2 point on the test set).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from model_space.augment import RandomAffine
from model_space.crop_flip_erase import RandomCropFlipErase

#: Layers that act only in training (identity at inference): left out of the served model.
TRAINING_ONLY = (RandomAffine, RandomCropFlipErase)


def inference_model(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (its weights copied) with each training-only layer an ``Identity``
    of the same name: the same predictions, stock Keras layers only."""

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, TRAINING_ONLY):
            return layers.Identity(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    served = keras.models.clone_model(model, clone_function=clone)
    for layer in served.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return served


def with_flip_tta(model: keras.Model) -> keras.Model:
    """A model with ``model``'s ``(height, width)`` input whose output is the mean of ``model``
    on the image and on its mirror. ``model`` is shared, not copied."""
    height, width = model.input_shape[1:3]
    inputs = keras.Input(shape=(height, width), dtype=model.inputs[0].dtype, name="image")
    as_float = layers.Rescaling(1.0, name="as_float")(inputs)
    mirror = layers.Dense(width, use_bias=False, trainable=False, name="mirror")
    mirrored = mirror(as_float)
    mirror.set_weights([np.eye(width, dtype="float32")[::-1]])
    outputs = layers.Average(name="flip_tta")([model(inputs), model(mirrored)])
    return keras.Model(inputs, outputs, name=f"{model.name}_flip_tta")


def served_model(model: keras.Model, tta: bool) -> keras.Model:
    """The model that is evaluated and exported: ``model``'s inference copy, or its flip-TTA
    wrapper."""
    served = inference_model(model)
    return with_flip_tta(served) if tta else served
