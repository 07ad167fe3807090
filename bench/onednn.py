"""TensorFlow's oneDNN CPU kernels against Eigen's, side by side on the same data and seed.

TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once, when it is imported, so each setting trains in
a child process of its own; the settings alternate ``--repeats`` times. For each configuration
(the default study's strongest, two convolutions a block, and the seed CNN) it prints the median
steady epoch (epochs after the first, which builds the graph) and the served model's test
accuracy. TensorFlow turns oneDNN on by itself only on some CPUs (AVX-512 VNNI or BF16, AMX);
``trainer.startup`` turns it on everywhere unless the variable is set::

    python bench/onednn.py --images 12000 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from trainer.startup import ONEDNN_ENV

SETTINGS = ("0", "1")  # the first is the baseline
LABELS = {setting: f"{ONEDNN_ENV}={setting}" for setting in SETTINGS}


def child(name: str, images: int, epochs: int, seed: int) -> None:
    """Trains one configuration in this process and prints its figures as one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from precision import CONFIGURATIONS  # bench/precision.py, beside this file

    from model_space import CNN_SPACE
    from model_space.tta import served_model
    from trainer.data import load_fashion_mnist
    from trainer.evaluate import evaluate
    from trainer.job import train_model
    from trainer.splits import split

    splits = split(load_fashion_mnist(), validation_size=10_000, subset=images, seed=seed)
    point = {**CNN_SPACE.defaults(), **CONFIGURATIONS[name]}
    model, fitted = train_model(point, splits, epochs=epochs, seed=seed, precision="float32")
    accuracy = evaluate(served_model(model, tta=False), splits.x_test, splits.y_test).accuracy
    print(json.dumps({"epochs": fitted.history["epoch_seconds"][1:], "accuracy": accuracy}))


def main() -> None:
    from precision import CONFIGURATIONS, arguments, side_by_side  # beside this file

    parser = arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.images, args.epochs, args.seed)
        return

    from trainer.precision import cpu_flags

    flags = sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx2")))
    print("CPU flags:", ", ".join(flags) or "none", flush=True)
    for name in CONFIGURATIONS:
        epochs: dict[str, list[float]] = {label: [] for label in LABELS.values()}
        accuracy: dict[str, list[float]] = {label: [] for label in LABELS.values()}
        for _ in range(args.repeats):
            for setting in SETTINGS:
                command = [sys.executable, __file__, "--child", name]
                for flag in ("images", "epochs", "seed"):
                    command += [f"--{flag}", str(getattr(args, flag))]
                env = {**os.environ, ONEDNN_ENV: setting}
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                epochs[LABELS[setting]].extend(figures["epochs"])
                accuracy[LABELS[setting]].append(figures["accuracy"])
                print(f"  {name} {LABELS[setting]}: {figures}", flush=True)
        side_by_side(name, epochs, accuracy)


if __name__ == "__main__":
    main()
