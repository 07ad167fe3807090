from __future__ import annotations

import pytest

from model_space import CNN_SPACE, Float, SearchSpace, parse_filters

SEED_POINT = {
    "filters": "32-64-128",
    "convs_per_block": 1,
    "units": 512,
    "conv_dropout": 0.25,
    "dense_dropout": 0.5,
    "learning_rate": 1e-3,
    "weight_decay": 1e-5,
    "batch_size": 128,
    "augmentation": 1.0,
    "label_smoothing": 0.0,
    "flip": 0.0,
    "crop": 0,
    "erasing": 0.0,
}


def test_defaults_are_the_seed_model() -> None:
    assert CNN_SPACE.defaults() == SEED_POINT


def test_space_declares_the_issue_ranges() -> None:
    assert CNN_SPACE["filters"].values == ("16-32-64", "32-64-128", "64-128-256")  # type: ignore[union-attr]
    units, conv, dense = CNN_SPACE["units"], CNN_SPACE["conv_dropout"], CNN_SPACE["dense_dropout"]
    assert (units.low, units.high) == (128, 1024)  # type: ignore[union-attr]
    assert (conv.low, conv.high) == (0.0, 0.5)  # type: ignore[union-attr]
    assert (dense.low, dense.high) == (0.2, 0.6)  # type: ignore[union-attr]
    assert CNN_SPACE["learning_rate"].log and CNN_SPACE["weight_decay"].log  # type: ignore[union-attr]


def test_validate_fills_defaults_and_types_values() -> None:
    point = CNN_SPACE.validate({"units": 256.0, "conv_dropout": 0})
    assert point["units"] == 256 and isinstance(point["units"], int)
    assert point["conv_dropout"] == 0.0 and isinstance(point["conv_dropout"], float)
    assert point["filters"] == "32-64-128"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"conv_dropout": -0.1}, "conv_dropout must be between 0 and 0.5"),
        ({"filters": "32-x-128"}, "filters must be one of"),
        ({"units": 100}, "units must be between 128 and 1024"),
        ({"dropout": 0.1}, r"Unknown parameter\(s\) \['dropout'\]"),
        ({"batch_size": 100}, "batch_size must be one of 32, 64, 128, 256"),
    ],
)
def test_validate_rejects_bad_points(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CNN_SPACE.validate(values)


def test_validate_without_defaults_needs_every_name() -> None:
    with pytest.raises(ValueError, match="Missing parameter"):
        CNN_SPACE.validate({"units": 256}, fill_defaults=False)


def test_duplicate_names_are_refused() -> None:
    rate = Float("rate", 0.0, 1.0, default=0.5)
    with pytest.raises(ValueError, match="unique"):
        SearchSpace((rate, rate))


def test_unknown_name_lookup_lists_the_space() -> None:
    with pytest.raises(KeyError, match="filters"):
        CNN_SPACE["filter"]


@pytest.mark.parametrize("text", ["32-64-128", "16", "64-128-256-512"])
def test_parse_filters_accepts_well_formed_configs(text: str) -> None:
    assert parse_filters(text) == tuple(int(part) for part in text.split("-"))


@pytest.mark.parametrize("text", ["32-x-128", "32--64", "", "-32", "032-64", "8-8-8-8-8", "32 64"])
def test_parse_filters_rejects_malformed_configs(text: str) -> None:
    with pytest.raises(ValueError, match="filters"):
        parse_filters(text)
