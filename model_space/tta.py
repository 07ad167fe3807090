"""The served model: the trained CNN without its training-only layers, optionally with flip
test-time augmentation, built from stock Keras layers only.

So an exported ``model.keras`` (and the MLflow model registered from it) loads with
``keras.saving.load_model`` in a process that has never imported this project: augmentation
runs only in training, so its layers are replaced by ``Identity``; the mirror of flip TTA is a
fixed ``Dense`` layer over the image's width (an anti-diagonal 0/1 kernel: exact).

Flip TTA: Fashion-MNIST's classes are symmetric under a horizontal flip, and a model trained
with flips sees both; averaging the predictions on an image and its mirror is a cheap ensemble
(about 0.2 point on the test set).

An ensemble (the retrain's members, ``search.ensemble``) is served the same way: one model
whose output is the mean of its members' probabilities, with one flip TTA around it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import keras
import numpy as np
from keras import layers

from model_space.augment import RandomAffine
from model_space.crop_flip_erase import RandomCropFlipErase

#: Layers that act only in training (identity at inference): left out of the served model.
TRAINING_ONLY = (RandomAffine, RandomCropFlipErase)


def inference_model(model: keras.Model) -> keras.Model:
    """A float32 copy of ``model`` (its weights copied) with each training-only layer an
    ``Identity`` of the same name: the same predictions, stock Keras layers only.

    A model trained under a mixed-precision policy keeps float32 weights, so its copy serves
    in float32 like any other (``trainer.precision``)."""

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, TRAINING_ONLY):
            return layers.Identity(name=layer.name, dtype="float32")
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    with float32_policy():
        served = keras.models.clone_model(model, clone_function=clone)
    for layer in served.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return served


@contextlib.contextmanager
def float32_policy() -> Iterator[None]:
    """Keras's global dtype policy is float32 inside, whatever it was (restored after)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


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


def average_model(members: Sequence[keras.Model]) -> keras.Model:
    """One model of the members' shared input whose output is the mean of their outputs (the
    members are shared, not copied); a single member is returned as it is."""
    if len(members) == 1:
        return members[0]
    first = members[0]
    with float32_policy():
        inputs = keras.Input(shape=first.input_shape[1:], dtype=first.inputs[0].dtype, name="image")
        named = [
            keras.Model(member.inputs[0], member.outputs[0], name=f"member_{index}")
            for index, member in enumerate(members, start=1)
        ]
        outputs = layers.Average(name="ensemble_mean")([member(inputs) for member in named])
        return keras.Model(inputs, outputs, name=f"ensemble_of_{len(members)}")


def served_model(model: keras.Model | Sequence[keras.Model], tta: bool) -> keras.Model:
    """The model that is evaluated and exported: ``model``'s inference copy (for several
    trained models, the mean of their inference copies' probabilities), with flip TTA around
    it when ``tta``."""
    models = [model] if isinstance(model, keras.Model) else list(model)
    served = average_model([inference_model(m) for m in models])
    if not tta:
        return served
    with float32_policy():
        return with_flip_tta(served)
