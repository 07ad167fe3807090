"""A job of several members: one export, the mean of the members' probabilities, each member's
accuracies in metadata.json, loading with stock Keras and scoring as its metadata says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.model_space.test_tta import STOCK_LOAD
from trainer import job
from trainer.job import train_job
from trainer.settings import RunSettings

pytestmark = pytest.mark.slow

POINT = {"augmentation": 0.0, "batch_size": 32, "flip": 0.5}


def test_an_ensemble_is_exported_as_one_model_of_its_members(
    tmp_path: Path, fashion, monkeypatch
) -> None:
    monkeypatch.setattr(job, "MEMBER_DROP", 1.0)  # 2 epochs of 1,000 images vary: keep both
    model_dir = tmp_path / "model"
    settings = RunSettings(
        epochs=3,
        subset=1000,
        validation_size=500,
        seed=0,
        model_dir=str(model_dir),
        tta=True,
        checkpoint_dir=str(tmp_path / "checkpoints"),
    )
    result = train_job(POINT, settings, data=fashion, more_members=[({**POINT, "units": 256}, 1)])
    metadata = json.loads((model_dir / "metadata.json").read_text())
    members = metadata["ensemble"]["members"]
    assert [m["seed"] for m in members] == [0, 1]
    assert [m["params"]["units"] for m in members] == [512, 256]
    assert all(m["kept"] and 0.3 < m["test_accuracy"] <= 1 for m in members), members
    assert metadata["parameter_count"] == sum(m["parameter_count"] for m in members)
    assert not (tmp_path / "checkpoints").exists()  # every member's checkpoint is gone

    images = fashion.test_images
    exported = keras.models.load_model(model_dir / "model.keras")
    predicted = exported.predict(images, verbose=0)
    assert np.mean(predicted.argmax(1) == fashion.test_labels) == pytest.approx(
        result.test.accuracy, abs=1e-4
    )
    assert metadata["test"]["accuracy"] == pytest.approx(result.test.accuracy)
    signature = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    assert signature.structured_input_signature[1]["image"].dtype == tf.uint8
    (served,) = signature(tf.constant(images[:64])).values()
    np.testing.assert_allclose(served.numpy(), predicted[:64], atol=1e-5)

    np.save(tmp_path / "images.npy", images[:64])
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            STOCK_LOAD,
            str(model_dir / "model.keras"),
            str(tmp_path / "out.npy"),
            str(tmp_path / "images.npy"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), predicted[:64], atol=1e-5)


def test_a_member_far_below_the_best_on_validation_is_left_out(
    tmp_path: Path, fashion, monkeypatch
) -> None:
    monkeypatch.setattr(job, "MEMBER_DROP", 0.0)  # only the best member's equals stay
    settings = RunSettings(
        epochs=1, subset=500, validation_size=500, seed=0, model_dir=str(tmp_path / "model")
    )
    weak = {**POINT, "learning_rate": 1e-4, "units": 128}  # one epoch at a tenth of the rate
    train_job(POINT, settings, data=fashion, more_members=[(weak, 1)])
    members = json.loads((tmp_path / "model" / "metadata.json").read_text())["ensemble"]["members"]
    kept = [m["kept"] for m in members]
    assert kept.count(True) == 1, members
    best = max(members, key=lambda m: m["validation_accuracy"])
    assert best["kept"]
    exported = keras.models.load_model(tmp_path / "model" / "model.keras")
    assert sum(isinstance(layer, keras.Model) for layer in exported.layers) <= 1
