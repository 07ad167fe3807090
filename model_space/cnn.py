"""The CNN: a pure function from one point of the space to an uncompiled Keras model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import layers

from model_space.augment import RandomAffine
from model_space.crop_flip_erase import RandomCropFlipErase
from model_space.filters import parse_filters
from model_space.space import CNN_SPACE, NUM_CLASSES

IMAGE_SHAPE = (28, 28)
#: Keras's default 0.99 lets BatchNormalization's moving statistics lag for hundreds of steps,
#: so the validation accuracy of a short trial (a subset, one or two epochs, a pruner deciding
#: on epoch 1) says little. 0.9 (PyTorch's default) converges within a few dozen steps.
BN_MOMENTUM = 0.9


def build_cnn(params: Mapping[str, Any], *, seed: int | None = None) -> keras.Model:
    """Builds the CNN for ``params`` (missing names take the space's defaults).

    The model takes raw ``uint8`` pixels of shape ``(28, 28)`` and scales them to ``[0, 1]``
    itself, so training, validation, test and serving inputs cannot be scaled differently.
    Augmentation (the seed's affine family, then flip, pad-and-crop and erasing) runs inside
    the model and only in training.

    Each block is ``convs_per_block`` x (3x3 convolution, ReLU, BatchNormalization), then 2x2
    max pooling and ``conv_dropout``; then a dense layer with BatchNormalization and
    ``dense_dropout``, and a softmax over the 10 classes.

    Raises:
        ValueError: a value outside the space.
    """
    point = CNN_SPACE.validate(params)
    inputs = keras.Input(shape=IMAGE_SHAPE, dtype="uint8", name="image")
    x = layers.Reshape((*IMAGE_SHAPE, 1), name="channel")(inputs)
    # Scaling, augmentation and the softmax stay float32 under a mixed-precision policy
    # (trainer.precision): the convolutions and the dense layer compute in its dtype.
    x = layers.Rescaling(1.0 / 255.0, name="scale", dtype="float32")(x)
    if point["augmentation"] > 0:
        x = RandomAffine(point["augmentation"], seed=seed, name="augment", dtype="float32")(x)
    if point["flip"] or point["crop"] or point["erasing"]:
        x = RandomCropFlipErase(
            point["flip"],
            point["crop"],
            point["erasing"],
            seed=seed,
            name="crop_flip_erase",
            dtype="float32",
        )(x)
    for block, filters in enumerate(parse_filters(point["filters"]), start=1):
        for conv in range(1, point["convs_per_block"] + 1):
            x = layers.Conv2D(
                filters, 3, padding="same", activation="relu", name=f"block{block}_conv{conv}"
            )(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{block}_bn{conv}")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
        x = layers.Dropout(point["conv_dropout"], seed=seed, name=f"block{block}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(point["units"], activation="relu", name="dense")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="dense_bn")(x)
    x = layers.Dropout(point["dense_dropout"], seed=seed, name="dense_dropout")(x)
    outputs = layers.Dense(
        NUM_CLASSES, activation="softmax", name="probabilities", dtype="float32"
    )(x)
    return keras.Model(inputs, outputs, name="custom_cnn")
