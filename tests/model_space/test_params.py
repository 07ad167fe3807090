from __future__ import annotations

import pytest

from model_space import Choice, Float, Int


def test_int_validates_range_and_step() -> None:
    units = Int("units", 128, 1024, default=512, step=128)
    assert units.validate(256) == 256
    assert units.validate(256.0) == 256
    with pytest.raises(ValueError, match=r"units must be between 128 and 1024 in steps of 128"):
        units.validate(300)
    with pytest.raises(ValueError, match="must be an integer"):
        units.validate(2.5)
    with pytest.raises(ValueError, match="must be an integer"):
        units.validate(True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"low": 5, "high": 1, "default": 3}, "low <= high"),
        ({"low": 1, "high": 10, "default": 3, "step": 4}, "divide"),
        ({"low": 0, "high": 10, "default": 3, "log": True}, "log-scale"),
        ({"low": 1, "high": 10, "default": 11}, "between 1 and 10"),
    ],
)
def test_int_rejects_bad_declarations(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Int("n", **kwargs)


def test_float_validates_range_and_finiteness() -> None:
    dropout = Float("conv_dropout", 0.0, 0.5, default=0.25)
    assert dropout.validate(0) == 0.0
    with pytest.raises(ValueError, match=r"conv_dropout must be between 0 and 0.5, but got -0.1"):
        dropout.validate(-0.1)
    with pytest.raises(ValueError, match="finite"):
        dropout.validate(float("nan"))
    with pytest.raises(ValueError, match="low > 0"):
        Float("learning_rate", 0.0, 1.0, default=0.1, log=True)


def test_choice_is_strict_about_values_and_types() -> None:
    batch = Choice("batch_size", (32, 64), default=32)
    assert batch.validate(64) == 64
    with pytest.raises(ValueError, match="one of 32, 64, but got 48"):
        batch.validate(48)
    with pytest.raises(ValueError, match="one of 32, 64"):
        batch.validate("64")
    with pytest.raises(ValueError, match="share one type"):
        Choice("mixed", (1, "a"), default=1)
    with pytest.raises(ValueError, match="distinct"):
        Choice("twice", (1, 1), default=1)


def test_names_must_be_lowercase_identifiers() -> None:
    with pytest.raises(ValueError, match="lowercase identifiers"):
        Float("Learning-Rate", 0.1, 1.0, default=0.5)


def test_parameters_are_frozen() -> None:
    units = Int("units", 1, 2, default=1)
    with pytest.raises(AttributeError):
        units.low = 0  # type: ignore[misc]
