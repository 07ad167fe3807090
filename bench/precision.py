"""Training precision side by side: float32 against mixed_bfloat16 on the same data, same seed.

For each configuration (the default study's strongest, two convolutions a block, and the seed
CNN), the policies train interleaved ``--repeats`` times through the trainer's ``train_model``;
each figure is the median steady epoch (epochs after the first, which compiles) and the served
model's test accuracy (served in float32 whatever it trained in, as exported). The CPU's
bfloat16 flags are printed first: bfloat16 pays only with ``amx_bf16`` (shared/DESIGN.md)::

    python bench/precision.py --images 12000 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model_space import CNN_SPACE
from model_space.tta import served_model
from trainer import precision
from trainer.data import load_fashion_mnist
from trainer.evaluate import evaluate
from trainer.job import train_model
from trainer.splits import split

CONFIGURATIONS = {
    "2-conv 32-64-128": {
        "convs_per_block": 2,
        "units": 256,
        "conv_dropout": 0.1,
        "dense_dropout": 0.3,
        "learning_rate": 0.003,
        "weight_decay": 0.05,
        "batch_size": 128,
        "augmentation": 0.0,
        "label_smoothing": 0.1,
        "flip": 0.5,
        "crop": 2,
    },
    "seed CNN": {},
}
POLICIES = ("float32", "mixed_bfloat16")


def arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The side-by-side benches' flags: training images, epochs, repeats, seed."""
    parser.add_argument("--images", type=int, default=12_000, help="training images")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    return parser


def main() -> None:
    args = arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0])).parse_args()
    flags = precision.cpu_flags()
    print(
        "CPU bfloat16 flags:",
        ", ".join(sorted(f for f in flags if "bf16" in f or f.startswith("amx"))) or "none",
        f"| auto picks {precision.resolve('auto')}",
    )
    data = load_fashion_mnist()
    splits = split(data, validation_size=10_000, subset=args.images, seed=args.seed)
    for name, overrides in CONFIGURATIONS.items():
        point = {**CNN_SPACE.defaults(), **overrides}
        epochs: dict[str, list[float]] = {p: [] for p in POLICIES}
        accuracy: dict[str, list[float]] = {p: [] for p in POLICIES}
        for _ in range(args.repeats):
            for policy in POLICIES:
                started = time.perf_counter()
                model, fitted = train_model(
                    point, splits, epochs=args.epochs, seed=args.seed, precision=policy
                )
                epochs[policy].extend(fitted.history["epoch_seconds"][1:])
                served = served_model(model, tta=False)
                accuracy[policy].append(evaluate(served, splits.x_test, splits.y_test).accuracy)
                print(f"  {name} {policy}: {time.perf_counter() - started:.0f} s", flush=True)
        side_by_side(name, epochs, accuracy)


def side_by_side(
    name: str, epochs: dict[str, list[float]], accuracy: dict[str, list[float]]
) -> None:
    """One line per variant (keyed by its label, the first the baseline): the median steady
    epoch, its speed against the baseline's, the mean test accuracy."""
    base = statistics.median(next(iter(epochs.values())))
    for label, seconds in epochs.items():
        steady = statistics.median(seconds)
        print(
            f"{name:18} {label:24} steady epoch {steady:6.1f} s  "
            f"speed x{base / steady:4.2f}  test accuracy {statistics.fmean(accuracy[label]):.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
