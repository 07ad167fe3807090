"""Flip test-time augmentation only averages the model's two predictions."""

from __future__ import annotations

import numpy as np

from model_space import CNN_SPACE, build_cnn
from model_space.tta import with_flip_tta


def test_tta_output_is_the_mean_of_the_image_and_its_mirror(fashion) -> None:
    model = build_cnn({**CNN_SPACE.defaults(), "augmentation": 0.0}, seed=0)
    tta = with_flip_tta(model)
    images = fashion.test_images[:32]
    expected = (model.predict(images, verbose=0) + model.predict(images[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(tta.predict(images, verbose=0), expected, atol=1e-6)
    assert tta.inputs[0].dtype == "uint8" and tta.count_params() == model.count_params()
