"""A small real run, trained once: the scaling guarantee, the export round trip, the metadata."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import binomtest

from model_space import CNN_SPACE
from trainer.errors import ExportError
from trainer.export import check_writable, export_model
from trainer.job import JobResult, train_job
from trainer.settings import RunSettings

pytestmark = pytest.mark.slow

SMALL_POINT = {"augmentation": 0.0, "batch_size": 32}


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, fashion) -> JobResult:
    model_dir = tmp_path_factory.mktemp("job") / "model"
    settings = RunSettings(
        epochs=3, subset=1000, validation_size=1000, seed=0, model_dir=str(model_dir)
    )
    return train_job(SMALL_POINT, settings, data=fashion)


def test_raw_test_pixels_score_like_validation(job: JobResult, fashion) -> None:
    """The model scales its own inputs: raw 0-255 test pixels match the validation accuracy."""
    assert job.fit.val_accuracy > 0.6
    assert abs(job.test.accuracy - job.fit.val_accuracy) < 0.05
    model = keras.models.load_model(Path(job.model_dir) / "model.keras")
    raw = model.predict(fashion.test_images, verbose=0).argmax(axis=1)
    assert np.mean(raw == fashion.test_labels) == pytest.approx(job.test.accuracy, abs=1e-4)


def test_prescaled_inputs_are_not_the_contract(job: JobResult, fashion) -> None:
    """Scaling twice (the seed's 88% -> 45% bug) is visibly wrong, so it cannot go unnoticed."""
    model = keras.models.load_model(Path(job.model_dir) / "model.keras")
    twice = model.predict(fashion.test_images / 255.0, verbose=0).argmax(axis=1)
    assert np.mean(twice == fashion.test_labels) < job.test.accuracy - 0.3


def test_saved_model_and_keras_file_predict_the_same(job: JobResult, fashion) -> None:
    images = fashion.test_images[:64]
    keras_model = keras.models.load_model(Path(job.model_dir) / "model.keras")
    expected = keras_model.predict(images, verbose=0)
    served = tf.saved_model.load(job.model_dir)
    signature = served.signatures["serving_default"]
    (output,) = signature(tf.constant(images)).values()
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(served.serve(tf.constant(images)).numpy(), expected, atol=1e-5)
    assert signature.structured_input_signature[1]["image"].dtype == tf.uint8


def test_metadata_records_the_run(job: JobResult) -> None:
    metadata = json.loads((Path(job.model_dir) / "metadata.json").read_text())
    assert metadata["run_name"] == job.run_name
    assert metadata["params"] == CNN_SPACE.validate(SMALL_POINT)
    assert metadata["test"]["accuracy"] == pytest.approx(job.test.accuracy)
    assert metadata["validation"]["accuracy"] == pytest.approx(job.validation.accuracy)
    assert metadata["validation"]["best_epoch_accuracy"] == pytest.approx(job.fit.val_accuracy)
    assert job.validation.accuracy == pytest.approx(job.fit.val_accuracy, abs=2e-3)
    assert [c["name"] for c in metadata["test"]["per_class"]][:3] == [
        "T-shirt/top",
        "Trouser",
        "Pullover",
    ]
    matrix = np.array(metadata["test"]["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 10_000
    assert np.trace(matrix) / 10_000 == pytest.approx(job.test.accuracy)
    assert metadata["data"]["sha256"]["t10k-images-idx3-ubyte.gz"].startswith("cc1d090a")
    assert metadata["data"]["train_images"] == 1000
    assert {"python", "keras", "keras_backend", "numpy"} <= set(metadata["versions"])
    assert metadata["seed"] == 0 and metadata["parameter_count"] == 691_082
    assert (
        len(metadata["validation"]["history"]["val_accuracy"])
        == metadata["validation"]["epochs_run"]
    )
    assert "learning_rate" in metadata["validation"]["history"]
    assert metadata["started"] <= metadata["finished"]
    assert metadata["files"]["saved_model"] is True


def test_metadata_gives_the_test_accuracy_with_its_95_percent_interval(job: JobResult) -> None:
    metadata = json.loads((Path(job.model_dir) / "metadata.json").read_text())
    low, high = metadata["test"]["accuracy_95"]
    correct = round(job.test.accuracy * 10_000)
    wilson = binomtest(correct, 10_000).proportion_ci(0.95, method="wilson")
    assert (low, high) == pytest.approx((wilson.low, wilson.high))
    assert low < job.test.accuracy < high and high - low < 0.02  # about +-0.9 point at 10,000
    assert metadata["test"]["images"] == 10_000
    gap = metadata["validation"]["accuracy"] - metadata["test"]["accuracy"]
    assert metadata["validation_minus_test"] == pytest.approx(gap)
    assert metadata["flip_tta"] is False


def test_flip_tta_export_serves_the_mean_of_image_and_mirror(tmp_path: Path, fashion) -> None:
    settings = RunSettings(
        epochs=1, subset=300, validation_size=300, seed=0, model_dir=str(tmp_path), tta=True
    )
    result = train_job({**SMALL_POINT, "flip": 0.5}, settings, data=fashion)
    exported = keras.models.load_model(tmp_path / "model.keras")
    inner = exported.get_layer("custom_cnn")
    images = fashion.test_images[:32]
    expected = (inner.predict(images, verbose=0) + inner.predict(images[:, :, ::-1], verbose=0)) / 2
    signature = tf.saved_model.load(str(tmp_path)).signatures["serving_default"]
    assert signature.structured_input_signature[1]["image"].dtype == tf.uint8
    (served,) = signature(tf.constant(images)).values()
    np.testing.assert_allclose(served.numpy(), expected, atol=1e-5)
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["flip_tta"] is True
    assert result.test.accuracy == pytest.approx(
        np.mean(exported.predict(fashion.test_images, verbose=0).argmax(1) == fashion.test_labels),
        abs=1e-4,
    )


def test_failed_export_leaves_nothing_behind(job: JobResult, tmp_path: Path, monkeypatch) -> None:
    model = keras.models.load_model(Path(job.model_dir) / "model.keras")
    target = tmp_path / "model"
    target.mkdir()
    (target / "metadata.json").write_text("{}")

    def broken_save(*args, **kwargs) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_model(model, str(target), {"run_name": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert [p.name for p in target.iterdir()] == ["metadata.json"]


def test_unwritable_model_dir_is_refused_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ExportError, match="is a file"):
        check_writable(str(blocker))
    with pytest.raises(ExportError, match="Cannot write to --model-dir"):
        check_writable(str(blocker / "model"))
