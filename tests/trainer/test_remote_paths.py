"""``gs://``-style paths go through ``tf.io.gfile``; TensorFlow's in-memory ``ram://`` file
system stands in for Cloud Storage, which no machine here reaches."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from model_space import CNN_SPACE, build_cnn
from trainer.data import SHA256, load_fashion_mnist
from trainer.export import export_model


def test_data_is_read_through_gfile(fashion) -> None:
    for name in SHA256:
        tf.io.gfile.makedirs("ram://bucket/fashion-mnist")
        tf.io.gfile.copy(
            str(Path(fashion.source) / name), f"ram://bucket/fashion-mnist/{name}", True
        )
    loaded = load_fashion_mnist("ram://bucket/fashion-mnist")
    assert loaded.source == "ram://bucket/fashion-mnist"
    np.testing.assert_array_equal(loaded.test_labels, fashion.test_labels)


def test_export_uploads_every_file_with_metadata_last(tmp_path: Path) -> None:
    model = build_cnn({**CNN_SPACE.defaults(), "units": 128}, seed=0)
    export_model(model, "ram://bucket/models/trial-1/model", {"run_name": "remote"})
    names = {name.rstrip("/") for name in tf.io.gfile.listdir("ram://bucket/models/trial-1/model")}
    assert {"saved_model.pb", "model.keras", "metadata.json", "variables"} <= names
    with tf.io.gfile.GFile("ram://bucket/models/trial-1/model/metadata.json") as handle:
        assert json.load(handle)["run_name"] == "remote"
    local = tmp_path / "model.keras"
    tf.io.gfile.copy("ram://bucket/models/trial-1/model/model.keras", str(local))
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(
        keras.models.load_model(local).predict(images, verbose=0),
        model.predict(images, verbose=0),
        atol=1e-6,
    )
