"""Test-time augmentation beyond the flip: do whole-pixel shifts of the input pay?

Scores exported models (their ``model.keras``, as served: with flip TTA when they were exported
with it) on the default study's validation and test images, alone and averaged over shifted
copies of each image (one pixel each way, zeros coming in, the trainer's ``crop`` augmentation
in reverse): the 4 shifts along one axis (5 views) and all 8 neighbours (9 views). Each view is
one more forward pass, so a served model's latency grows with the views::

    python bench/tta_views.py studies/fashion-mnist-cnn/best/model.keras [more.keras ...]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from search.study_config import load_study
from trainer.data import load_fashion_mnist
from trainer.evaluate import PREDICT_BATCH_SIZE, evaluate_probabilities
from trainer.splits import split

#: (rows, columns) shifts: the image itself, its 4 neighbours along one axis, the 4 diagonals.
CROSS = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0)]
SQUARE = [*CROSS, (1, 1), (1, -1), (-1, 1), (-1, -1)]


def shifted(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``images`` (N, H, W) moved by whole pixels, zeros coming in."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    height, width = images.shape[1:]
    return padded[:, 1 - rows : 1 - rows + height, 1 - cols : 1 - cols + width]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="exported model.keras files")
    args = parser.parse_args()
    study = load_study()
    splits = split(load_fashion_mnist(), validation_size=study.validation_size, seed=study.seed)
    sets = {"validation": (splits.x_val, splits.y_val), "test": (splits.x_test, splits.y_test)}
    print(f"{'model':<48} {'views':<14} {'validation':>10} {'test':>8}")
    for path in args.models:
        model = keras.saving.load_model(path)
        scores: dict[str, list[float]] = {}
        for images, labels in sets.values():
            views = {
                shift: np.asarray(
                    model.predict(shifted(images, *shift), batch_size=PREDICT_BATCH_SIZE, verbose=0)
                )
                for shift in SQUARE
            }
            for name, chosen in (("as exported", CROSS[:1]), ("+4 shifts", CROSS), ("+8", SQUARE)):
                mean = np.mean([views[s] for s in chosen], axis=0)
                scores.setdefault(name, []).append(evaluate_probabilities(mean, labels).accuracy)
        for name, (val, test) in scores.items():
            print(f"{path[-48:]:<48} {name:<14} {val:>10.4f} {test:>8.4f}", flush=True)


if __name__ == "__main__":
    main()
