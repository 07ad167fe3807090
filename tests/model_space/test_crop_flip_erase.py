"""The cheap augmentation family: training only, shape and dtype kept, each part doing its job."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from model_space import CNN_SPACE, build_cnn
from model_space.crop_flip_erase import ERASE_AREA, RandomCropFlipErase


def _images(fashion, count: int = 64) -> np.ndarray:
    return (fashion.train_images[:count, :, :, None] / 255.0).astype("float32")


@pytest.mark.parametrize("settings", [{"flip": 0.5}, {"crop": 3}, {"erasing": 0.5}])
def test_identity_at_inference_same_shape_and_dtype_in_training(fashion, settings) -> None:
    images = _images(fashion)
    layer = RandomCropFlipErase(**settings, seed=1)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    trained = np.asarray(layer(images, training=True))
    assert trained.shape == images.shape and trained.dtype == images.dtype
    assert not np.array_equal(trained, images)


def test_flip_with_probability_one_mirrors_every_image(fashion) -> None:
    images = _images(fashion, 8)
    flipped = np.asarray(RandomCropFlipErase(flip=1.0, seed=0)(images, training=True))
    np.testing.assert_array_equal(flipped, images[:, :, ::-1, :])


def test_crop_is_a_whole_pixel_shift_with_zeros_coming_in(fashion) -> None:
    images = _images(fashion, 32)
    shifted = np.asarray(RandomCropFlipErase(crop=2, seed=3)(images, training=True))
    for before, after in zip(images[..., 0], shifted[..., 0], strict=True):
        padded = np.pad(before, 2)
        crops = [
            padded[2 + dy : 30 + dy, 2 + dx : 30 + dx]
            for dy in (-2, -1, 0, 1, 2)
            for dx in (-2, -1, 0, 1, 2)
        ]
        assert any(np.array_equal(after, crop) for crop in crops)


def test_erasing_zeroes_one_rectangle_of_the_declared_area() -> None:
    images = np.ones((200, 28, 28, 1), "float32")
    erased = np.asarray(RandomCropFlipErase(erasing=1.0, seed=5)(images, training=True))
    fractions = (erased[..., 0] == 0).mean(axis=(1, 2))
    # a rectangle of real-valued sides covers up to one more row and column of whole pixels
    most = (np.sqrt(ERASE_AREA[1] * 28 * 28) + 1) ** 2 / (28 * 28)
    assert fractions.min() > 0 and fractions.max() <= most
    for image in erased[..., 0]:
        rows, cols = np.nonzero(image == 0)
        box = image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (box == 0).all()  # one solid rectangle


def test_bad_strengths_are_refused() -> None:
    with pytest.raises(ValueError, match="flip must be a probability"):
        RandomCropFlipErase(flip=1.5)
    with pytest.raises(ValueError, match="crop must be"):
        RandomCropFlipErase(crop=-1)


def test_the_model_with_every_augmentation_still_takes_raw_uint8(fashion) -> None:
    params = {**CNN_SPACE.defaults(), "flip": 0.5, "crop": 2, "erasing": 0.3}
    model = build_cnn(params, seed=0)
    assert model.get_layer("crop_flip_erase") is not None
    assert model.inputs[0].dtype == "uint8"
    images = fashion.test_images[:16]
    # inference ignores augmentation: two calls agree, and match a model without it
    np.testing.assert_allclose(model.predict(images, verbose=0), model.predict(images, verbose=0))
    plain = build_cnn({**params, "flip": 0.0, "crop": 0, "erasing": 0.0}, seed=0)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(
        plain.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )
    assert keras.saving.get_registered_object("model_space>RandomCropFlipErase")
