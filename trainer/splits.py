"""Seeded, stratified splits: validation from the training images; the test set untouched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from model_space.space import NUM_CLASSES
from trainer.data import FashionMnist
from trainer.errors import SettingsError


@dataclass(frozen=True)
class Splits:
    """Training, validation and test arrays (``uint8`` images, integer labels)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split(
    data: FashionMnist, *, validation_size: int = 10_000, subset: int | None = None, seed: int = 0
) -> Splits:
    """Splits ``validation_size`` images off the 60,000 training images, stratified by class.

    Args:
        validation_size: images held out of training for validation and early stopping.
        subset: if given, train on a stratified subset of this many of the remaining images.
        seed: makes the split repeatable.

    Raises:
        SettingsError: sizes that leave fewer than one image of each class anywhere.
    """
    total = len(data.train_labels)
    if not NUM_CLASSES <= validation_size <= total - NUM_CLASSES:
        raise SettingsError(
            f"validation_size must be between {NUM_CLASSES} and {total - NUM_CLASSES}, "
            f"but got {validation_size}."
        )
    train_index, val_index = train_test_split(
        np.arange(total), test_size=validation_size, stratify=data.train_labels, random_state=seed
    )
    if subset is not None:
        available = len(train_index)
        if not NUM_CLASSES <= subset <= available:
            raise SettingsError(
                f"subset must be between {NUM_CLASSES} and {available} training images, "
                f"but got {subset}."
            )
        if subset < available:
            train_index, _ = train_test_split(
                train_index,
                train_size=subset,
                stratify=data.train_labels[train_index],
                random_state=seed,
            )
    train_index, val_index = np.sort(train_index), np.sort(val_index)
    return Splits(
        x_train=data.train_images[train_index],
        y_train=data.train_labels[train_index],
        x_val=data.train_images[val_index],
        y_val=data.train_labels[val_index],
        x_test=data.test_images,
        y_test=data.test_labels,
    )
