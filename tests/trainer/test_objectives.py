"""Every objective measured on a real model, and constraints parsed and judged."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from model_space import CNN_SPACE
from model_space.cnn import build_cnn
from model_space.tta import served_model
from trainer.objectives import (
    OBJECTIVES,
    Constraint,
    Subject,
    describe,
    measure,
    measure_before_training,
    objective,
)

SMALL = CNN_SPACE.validate({"filters": "16-32-64", "units": 128, "augmentation": 0.0})
BIG = CNN_SPACE.validate({"filters": "32-64-128", "units": 256, "convs_per_block": 2})


def test_parameters_and_size_are_the_served_models_and_do_not_depend_on_weights(tmp_path) -> None:
    model = build_cnn(SMALL, seed=0)
    served = served_model(model, tta=False)
    first = measure(Subject(served), ["parameters", "model_mb"])
    assert first["parameters"] == served.count_params() == 99_402
    for weight in model.weights:  # as if trained: other values, same shapes
        weight.assign(np.full(weight.shape, 0.37, dtype=weight.dtype))
    again = measure(Subject(served_model(model, tta=False)), ["model_mb"])
    assert again["model_mb"] == first["model_mb"]
    path = Path(tmp_path) / "model.keras"
    served.save(path)
    assert first["model_mb"] == pytest.approx(path.stat().st_size / 1e6)
    with zipfile.ZipFile(path) as archive:  # stored, not deflated: why the size is fixed
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def test_latency_grows_with_the_model_and_with_flip_tta() -> None:
    small = measure_before_training(SMALL, ["latency_ms"], tta=False, seed=0)["latency_ms"]
    big = measure_before_training(BIG, ["latency_ms"], tta=False, seed=0)["latency_ms"]
    assert 0 < small < 1000 and math.isfinite(big)
    assert big > small  # 586,986 parameters, two convolutions a block, against 99,402
    assert describe({"latency_ms": small})["latency_ms"]["threads"] >= 1


def test_before_training_objectives_are_marked_and_directions_are_right() -> None:
    assert {n for n, o in OBJECTIVES.items() if o.before_training} == {
        "parameters",
        "latency_ms",
        "model_mb",
    }
    assert objective("val_accuracy").better(0.9, 0.8)
    assert objective("latency_ms").better(1.0, 2.0)
    assert objective("val_accuracy").loss(0.9) < objective("val_accuracy").loss(0.8)
    with pytest.raises(ValueError, match="unknown objective 'speed'; known objectives: "):
        objective("speed")
    with pytest.raises(ValueError, match="measured by training"):
        measure(Subject(keras.Sequential()), ["val_accuracy"])


@pytest.mark.parametrize(
    ("text", "metric", "operator", "bound"),
    [
        ("parameters<=300000", "parameters", "<=", 300_000.0),
        (" latency_ms <= 2.5 ", "latency_ms", "<=", 2.5),
        ("val_accuracy>=0.9", "val_accuracy", ">=", 0.9),
        ("parameters<=300_000", "parameters", "<=", 300_000.0),
    ],
)
def test_constraints_parse(text, metric, operator, bound) -> None:
    constraint = Constraint.parse(text)
    assert (constraint.metric, constraint.operator, constraint.bound) == (metric, operator, bound)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("parameters<300000", "NAME<=NUMBER or NAME>=NUMBER"),
        ("size<=3", "unknown objective 'size'"),
        ("parameters<=lots", "NAME<=NUMBER"),
        ("parameters<=1.2.3", "is not a number"),
    ],
)
def test_bad_constraints_say_what_is_accepted(text, message) -> None:
    with pytest.raises(ValueError, match=message):
        Constraint.parse(text)


def test_a_constraint_says_how_far_it_is_broken() -> None:
    at_most = Constraint.parse("parameters<=150000")
    assert at_most.violation({"parameters": 200_000}) == 50_000
    assert at_most.holds({"parameters": 150_000}) and not at_most.holds({"parameters": 150_001})
    at_least = Constraint.parse("val_accuracy>=0.9")
    assert at_least.violation({"val_accuracy": 0.8}) == pytest.approx(0.1)
    assert at_least.holds({"val_accuracy": 0.95})
    assert at_most.before_training and not at_least.before_training
    assert str(at_most) == "parameters<=150000"
