"""The served model: the trained model's predictions (flip TTA: the mean of the image's and its
mirror's), from stock Keras layers only, so it loads where this project is not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from model_space import CNN_SPACE, build_cnn
from model_space.tta import served_model, with_flip_tta

#: Loads a model in a Python that cannot import this project (its packages are blocked, its
#: folder is not on the path) and prints the predictions' shape.
STOCK_LOAD = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("model_space", "trainer", "search"):
            raise ImportError("this project is not installed here: " + name)
sys.meta_path.insert(0, Blocked())
import keras, numpy as np
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[2], model.predict(np.load(sys.argv[3]), verbose=0))
"""


def test_tta_output_is_the_mean_of_the_image_and_its_mirror(fashion) -> None:
    model = build_cnn({**CNN_SPACE.defaults(), "augmentation": 0.0}, seed=0)
    tta = with_flip_tta(model)
    images = fashion.test_images[:32]
    expected = (model.predict(images, verbose=0) + model.predict(images[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(tta.predict(images, verbose=0), expected, atol=1e-6)
    assert tta.inputs[0].dtype == "uint8"
    assert len(tta.trainable_weights) == len(model.trainable_weights)  # the mirror is fixed


def test_the_served_model_loads_with_stock_keras_and_predicts_the_same(
    fashion, tmp_path: Path
) -> None:
    params = {**CNN_SPACE.defaults(), "flip": 0.3, "crop": 2, "erasing": 0.2}
    model = build_cnn(params, seed=0)  # every training-only layer
    images = fashion.test_images[:16]
    for tta in (False, True):
        served = served_model(model, tta)
        path = tmp_path / f"served-{tta}.keras"
        served.save(path)
        np.save(tmp_path / "images.npy", images)
        done = subprocess.run(
            [
                sys.executable,
                "-I",
                "-c",
                STOCK_LOAD,
                str(path),
                str(tmp_path / "out.npy"),
                str(tmp_path / "images.npy"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        expected = served.predict(images, verbose=0) if tta else model.predict(images, verbose=0)
        np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)
