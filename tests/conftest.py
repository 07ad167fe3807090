"""Shared fixtures: the real Fashion-MNIST (a few hundred images per test), seeded."""

from __future__ import annotations

import os
from collections.abc import Iterator

from trainer.startup import ONEDNN_ENV  # the standard library only: no backend is loaded

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# as every command sets it before TensorFlow loads (trainer.startup), for the tests that import
# Keras themselves and the processes they start
os.environ.setdefault(ONEDNN_ENV, "1")

import keras
import pytest

from trainer.data import FashionMnist, load_fashion_mnist
from trainer.splits import Splits, split


@pytest.fixture(scope="session")
def fashion() -> FashionMnist:
    """The real data set, from the usual places (Debian's package in CI)."""
    return load_fashion_mnist()


@pytest.fixture(scope="session")
def small_splits(fashion: FashionMnist) -> Splits:
    """1,000 training and 1,000 validation images, stratified, seed 0."""
    return split(fashion, validation_size=1000, subset=1000, seed=0)


@pytest.fixture(autouse=True)
def float32_policy_after_each_test() -> Iterator[None]:
    """Puts Keras's global dtype policy back to float32 after every test: a test that trains
    with ``precision: auto`` sets ``mixed_bfloat16`` on CPUs with AMX-BF16, and layers the next
    test builds without a ``dtype`` would otherwise compute in bfloat16 there (and only there)."""
    yield
    keras.config.set_dtype_policy("float32")
