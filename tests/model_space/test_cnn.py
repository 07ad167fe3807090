from __future__ import annotations

import keras
import numpy as np
import pytest

from model_space import CNN_SPACE, build_cnn
from model_space.augment import RandomAffine
from trainer.data import FashionMnist

SEED_PARAMETERS = 691_082
TWO_CONV_PARAMETERS = 885_738


def test_seed_configuration_has_the_seed_parameter_count() -> None:
    model = build_cnn(CNN_SPACE.defaults())
    assert model.count_params() == SEED_PARAMETERS
    assert model.input_shape == (None, 28, 28)
    assert model.inputs[0].dtype == "uint8"
    assert model.output_shape == (None, 10)


def test_two_convolutions_per_block() -> None:
    model = build_cnn({"convs_per_block": 2})
    assert model.count_params() == TWO_CONV_PARAMETERS
    conv_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    batch_norms = [
        layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(conv_layers) == 6
    assert len(batch_norms) == 7  # one per convolution, one for the dense layer


@pytest.mark.parametrize("filters", ["16-32-64", "64-128-256"])
def test_every_filter_choice_builds(filters: str) -> None:
    model = build_cnn({"filters": filters, "units": 128})
    widths = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert widths == [int(f) for f in filters.split("-")]


def test_dropout_rates_follow_the_point() -> None:
    model = build_cnn({"conv_dropout": 0.1, "dense_dropout": 0.4})
    rates = {
        layer.name: layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)
    }
    assert rates == {
        "block1_dropout": 0.1,
        "block2_dropout": 0.1,
        "block3_dropout": 0.1,
        "dense_dropout": 0.4,
    }


def test_augmentation_is_absent_at_zero_strength() -> None:
    names = [layer.name for layer in build_cnn({"augmentation": 0.0}).layers]
    assert "augment" not in names
    assert "augment" in [layer.name for layer in build_cnn({}).layers]


def test_build_rejects_points_outside_the_space() -> None:
    with pytest.raises(ValueError, match="conv_dropout"):
        build_cnn({"conv_dropout": -0.5})


def test_inference_is_deterministic_on_raw_pixels(fashion: FashionMnist) -> None:
    model = build_cnn(CNN_SPACE.defaults(), seed=1)
    images = fashion.test_images[:16]
    first = np.asarray(model(images, training=False))
    np.testing.assert_allclose(first, np.asarray(model(images, training=False)), rtol=1e-6)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-5)


def test_random_affine_moves_pixels_only_in_training(fashion: FashionMnist) -> None:
    images = (fashion.train_images[:32, :, :, None] / 255.0).astype("float32")
    layer = RandomAffine(1.0, seed=3)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    moved = np.asarray(layer(images, training=True))
    assert moved.shape == images.shape
    assert np.abs(moved - images).mean() > 0.02
    assert moved.min() >= 0.0 and moved.max() <= 1.0 + 1e-6
    again = np.asarray(layer(images, training=True))
    assert not np.allclose(moved, again)


def test_random_affine_strength_scales_the_change(fashion: FashionMnist) -> None:
    images = (fashion.train_images[:64, :, :, None] / 255.0).astype("float32")
    weak = np.asarray(RandomAffine(0.1, seed=5)(images, training=True))
    strong = np.asarray(RandomAffine(1.0, seed=5)(images, training=True))
    assert np.abs(weak - images).mean() < np.abs(strong - images).mean()


def test_random_affine_config_round_trip() -> None:
    layer = RandomAffine(0.5, seed=7, name="augment")
    clone = RandomAffine.from_config(layer.get_config())
    assert (clone.strength, clone.seed, clone.name) == (0.5, 7, "augment")
    with pytest.raises(ValueError, match="strength"):
        RandomAffine(1.5)
