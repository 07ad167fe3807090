"""Training-time augmentation as one batched random affine transform plus a horizontal flip.

Rotation, shift, shear and zoom are composed into a single projective transform per image and
applied with ``keras.ops.image.affine_transform``, so a batch costs one resampling whatever the
backend; Keras's separate RandomRotation/Translation/Zoom layers resample once each.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from model_space.errors import SpaceError

#: The seed project's ImageDataGenerator settings, reached at ``strength=1``.
SEED_ROTATION_DEGREES = 15.0
SEED_SHIFT = 0.15
SEED_SHEAR = 0.15
SEED_ZOOM = 0.15
SEED_FLIP_PROBABILITY = 0.5


@keras.saving.register_keras_serializable(package="model_space")
class RandomAffine(keras.layers.Layer):
    """Randomly rotates, shifts, shears, zooms and flips a batch of NHWC images in training.

    Args:
        strength: scales every range linearly; 0 is the identity, 1 the seed's augmentation
            (15 degree rotation, 15% width/height shift, 15% shear, 15% zoom, horizontal flip
            with probability 0.5). Pixels that come from outside the image repeat the nearest
            edge, as the seed's ``fill_mode="nearest"``.
        seed: seeds the layer's random stream.
    """

    def __init__(self, strength: float = 1.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= strength <= 1.0:
            raise SpaceError(f"strength must be between 0 and 1, but got {strength}.")
        self.strength = float(strength)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        if not training or self.strength == 0.0:
            return images
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        transform = self._random_transforms(batch, height, width)
        moved = ops.image.affine_transform(
            images,
            transform,
            interpolation="bilinear",
            fill_mode="nearest",
            data_format="channels_last",
        )
        flip_draw = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator)
        flip = flip_draw < SEED_FLIP_PROBABILITY * self.strength
        return ops.where(flip, ops.flip(moved, axis=2), moved)

    def _random_transforms(self, batch: Any, height: int, width: int) -> Any:
        """Rows ``[a0, a1, a2, b0, b1, b2, 0, 0]`` mapping output pixels to input pixels."""

        def draw(limit: float) -> Any:
            limit *= self.strength
            return keras.random.uniform((batch,), -limit, limit, seed=self.seed_generator)

        angle = draw(math.radians(SEED_ROTATION_DEGREES))
        shear = draw(SEED_SHEAR)
        zoom_x = 1.0 + draw(SEED_ZOOM)
        zoom_y = 1.0 + draw(SEED_ZOOM)
        shift_x = draw(SEED_SHIFT) * width
        shift_y = draw(SEED_SHIFT) * height
        cos, sin = ops.cos(angle), ops.sin(angle)
        # rotation @ shear @ zoom, about the image centre
        a0, a1 = cos * zoom_x, (cos * shear - sin) * zoom_y
        b0, b1 = sin * zoom_x, (sin * shear + cos) * zoom_y
        centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
        a2 = centre_x - a0 * centre_x - a1 * centre_y + shift_x
        b2 = centre_y - b0 * centre_x - b1 * centre_y + shift_y
        zeros = ops.zeros_like(a0)
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "strength": self.strength, "seed": self.seed}
