"""The training precision: ``auto``'s choice from the hardware, the policy set after every
session reset, float32 outputs and a float32 export whatever the training policy."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from model_space import CNN_SPACE, build_cnn
from model_space.tta import served_model
from trainer import precision
from trainer.errors import SettingsError
from trainer.job import train_job, train_model
from trainer.settings import RunSettings

SMALL_POINT = {"augmentation": 0.0, "batch_size": 64, "flip": 0.5, "crop": 1, "erasing": 0.2}


@pytest.fixture(autouse=True)
def float32_after() -> object:
    yield
    keras.config.set_dtype_policy("float32")


def test_auto_takes_bfloat16_only_with_amx(tmp_path: Path, monkeypatch) -> None:
    amx = tmp_path / "amx"
    amx.write_text("processor : 0\nflags : fpu sse avx512f avx512_bf16 amx_bf16 amx_tile\n")
    avx512 = tmp_path / "avx512"
    avx512.write_text("processor : 0\nflags : fpu sse avx512f avx512_bf16\n")
    assert "amx_bf16" in precision.cpu_flags(amx)
    assert precision.cpu_flags(tmp_path / "missing") == set()
    monkeypatch.setattr(precision, "gpu_capability", lambda: None)
    monkeypatch.setattr(precision, "CPU_INFO", amx)
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512_bf16", "amx_bf16"})
    assert precision.bf16_hardware() == "the CPU has AMX-BF16"
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512_bf16"})  # no AMX: slower
    assert precision.bf16_hardware() == ""
    monkeypatch.setattr(precision, "gpu_capability", lambda: (8, 0))
    assert "8.0" in precision.bf16_hardware()
    monkeypatch.setattr(precision, "gpu_capability", lambda: (7, 5))
    assert precision.bf16_hardware() == ""


def test_auto_is_decided_once_and_logged(monkeypatch, caplog) -> None:
    precision._auto.cache_clear()
    monkeypatch.setattr(precision, "bf16_hardware", lambda: "")
    with caplog.at_level("INFO", logger="trainer.precision"):
        assert precision.resolve("auto") == "float32"
        assert precision.resolve("auto") == "float32"
    assert sum("precision auto: float32" in r.message for r in caplog.records) == 1
    precision._auto.cache_clear()


def test_an_unknown_precision_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="precision must be one of auto, float32"):
        precision.check("bf16")
    with pytest.raises(SettingsError, match="precision must be one of"):
        RunSettings(precision="half")


def test_the_policy_is_set_after_the_session_reset(small_splits) -> None:
    keras.config.set_dtype_policy("float32")
    model, fitted = train_model(
        {**CNN_SPACE.defaults(), **SMALL_POINT},
        small_splits,
        epochs=1,
        seed=0,
        precision="mixed_bfloat16",
    )
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert model.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("block1_conv1").variable_dtype == "float32"
    for name in ("scale", "crop_flip_erase", "probabilities"):  # inputs and softmax: float32
        assert model.get_layer(name).compute_dtype == "float32"
    assert model.predict(small_splits.x_val[:8], verbose=0).dtype == np.float32
    assert not fitted.diverged and fitted.epochs_run == 1


def test_the_served_model_is_float32_whatever_the_training_policy(fashion) -> None:
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = build_cnn({**CNN_SPACE.defaults(), **SMALL_POINT}, seed=0)
    for tta in (False, True):
        served = served_model(model, tta)
        policies = {layer.dtype_policy.name for layer in served._flatten_layers()}
        assert policies == {"float32"}, policies
    assert keras.config.dtype_policy().name == "mixed_bfloat16"  # restored afterwards


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_both_policies_train_and_the_export_scores_as_its_metadata_says(
    policy: str, tmp_path: Path, fashion
) -> None:
    settings = RunSettings(
        epochs=3,
        subset=1000,
        validation_size=500,
        seed=0,
        model_dir=str(tmp_path / "model"),
        tta=True,
        precision=policy,
    )
    result = train_job({**SMALL_POINT, "batch_size": 32}, settings, data=fashion)
    assert result.fit.val_accuracy > 0.6
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["settings"]["precision"] == policy
    keras.config.set_dtype_policy("float32")
    exported = keras.models.load_model(tmp_path / "model" / "model.keras")
    predicted = exported.predict(fashion.test_images, verbose=0).argmax(axis=1)
    assert np.mean(predicted == fashion.test_labels) == pytest.approx(
        metadata["test"]["accuracy"], abs=1e-4
    )
