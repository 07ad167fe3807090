"""What is searched: the declared space, the CNN builder, its augmentation, the run-name rule.

Importing this package does not import Keras; ``build_cnn`` and ``RandomAffine`` load it on
first use.
"""

from __future__ import annotations

from typing import Any

from model_space.filters import parse_filters
from model_space.naming import check_run_name, run_name
from model_space.params import Choice, Float, Int, Param
from model_space.space import CNN_SPACE, SearchSpace

__all__ = [
    "CNN_SPACE",
    "Choice",
    "Float",
    "Int",
    "Param",
    "RandomAffine",
    "SearchSpace",
    "build_cnn",
    "check_run_name",
    "parse_filters",
    "run_name",
]


def __getattr__(name: str) -> Any:
    if name == "build_cnn":
        from model_space.cnn import build_cnn

        return build_cnn
    if name == "RandomAffine":
        from model_space.augment import RandomAffine

        return RandomAffine
    raise AttributeError(f"module 'model_space' has no attribute {name!r}")
