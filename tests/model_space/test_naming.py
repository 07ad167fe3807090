from __future__ import annotations

import re
from datetime import datetime

import pytest

from model_space import CNN_SPACE, check_run_name, run_name
from model_space.naming import MAX_RUN_ID_LENGTH, format_decimal

WHEN = datetime(2025, 4, 30, 12, 34, 56)


def test_seed_example_is_mapped_to_a_vertex_valid_name() -> None:
    assert (
        run_name(CNN_SPACE.defaults(), WHEN) == "custom-cnn-32-64-128-512-0p25-0p5-20250430123456"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.25, "0p25"), (0.5, "0p5"), (0.0, "0"), (0.2371948, "0p237"), (1e-5, "0p00001")],
)
def test_decimals_are_written_with_p(value: float, text: str) -> None:
    assert format_decimal(value) == text


def test_every_point_gives_valid_characters() -> None:
    point = {**CNN_SPACE.defaults(), "filters": "64-128-256", "conv_dropout": 0.123456789}
    name = run_name(point, WHEN, suffix="Trial_7")
    assert re.fullmatch(r"[a-z0-9-]+", name)
    assert name.endswith("-trial-7")


def test_length_limit_counts_the_experiment() -> None:
    name = run_name(CNN_SPACE.defaults(), WHEN, experiment="fashion-mnist-cnn")
    assert len("fashion-mnist-cnn-" + name) <= MAX_RUN_ID_LENGTH
    with pytest.raises(ValueError, match="shorter experiment name"):
        run_name(CNN_SPACE.defaults(), WHEN, experiment="e" * 80)


@pytest.mark.parametrize("bad", ["Custom-CNN", "custom-cnn-0.25", "-leading", "trailing-", "a_b"])
def test_invalid_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="lowercase letters, digits"):
        check_run_name(bad)
