"""Training speed: the trainer against a plain hand-written Keras ``model.fit``, side by side.

Prints images per second (epochs after the first, which compiles) for:

1. raw Keras, no augmentation: the seed CNN written by hand, floats scaled outside the model,
   trained with the trainer's recipe (AdamW on the warm-up + cosine schedule, label smoothing
   on one-hot labels) by a bare ``model.fit``;
2. the trainer, no augmentation (uint8 in, scaling inside the model, the trainer's callbacks);
3. the trainer's model and compile, fitted by a bare ``model.fit`` on the trainer's batches (no
   trainer callbacks): 2 against 3 is what the callbacks cost, 3 against 1 what the model's
   own layers and the batching cost;
4. the trainer with the seed's augmentation (one batched affine transform plus a flip);
5. raw Keras with Keras's RandomRotation/RandomTranslation/RandomZoom/RandomFlip layers;
6. with ``--steps-per-dispatch K`` (JAX), the bare fit of 3 with K train steps in one device call.

Targets: (2)/(1) >= 0.95 and (4)/(2) >= 0.8. Epoch times on a shared 2-core machine vary by
20% or more, so the variants run interleaved ``--repeats`` times and each figure is the median
of all their steady epochs. Runs under any Keras backend::

    python bench/trainer_speed.py --images 12800 --epochs 3
    KERAS_BACKEND=jax python bench/trainer_speed.py
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from model_space import CNN_SPACE
from model_space.cnn import build_cnn
from trainer.batches import EpochBatches
from trainer.checkpoint import Checkpoint
from trainer.data import load_fashion_mnist
from trainer.fit import VALIDATION_BATCH_SIZE, compile_model, one_hot
from trainer.job import train_model
from trainer.splits import Splits, split


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds and process CPU seconds (all threads) of each epoch. CPU time leaves out
    the time other tenants of a shared machine take, so its ratios are steadier."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self.val_accuracy = math.nan
        self._started = (0.0, 0.0)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._started = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.seconds.append(time.perf_counter() - self._started[0])
        self.cpu_seconds.append(time.process_time() - self._started[1])
        self.val_accuracy = float((logs or {}).get("val_accuracy", math.nan))


def raw_seed_model(augmentation: list[keras.layers.Layer], total_steps: int) -> keras.Model:
    """The seed architecture written by hand, taking floats already scaled to [0, 1], compiled
    with the trainer's recipe written by hand too."""
    layers = keras.layers
    model = keras.Sequential([keras.Input((28, 28, 1)), *augmentation])
    for filters in (32, 64, 128):
        model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(layers.BatchNormalization(momentum=0.9))
        model.add(layers.MaxPooling2D())
        model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(512, activation="relu"))
    model.add(layers.BatchNormalization(momentum=0.9))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    warmup = round(0.2 * total_steps)
    schedule = keras.optimizers.schedules.CosineDecay(
        1e-4, total_steps - warmup, alpha=0.0, warmup_target=1e-3, warmup_steps=warmup
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-5, clipnorm=1.0),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.0),
        metrics=["accuracy"],
    )
    return model


def keras_augmentation() -> list[keras.layers.Layer]:
    layers = keras.layers
    return [
        layers.RandomRotation(15 / 360, fill_mode="nearest"),
        layers.RandomTranslation(0.15, 0.15, fill_mode="nearest"),
        layers.RandomZoom(0.15, fill_mode="nearest"),
        layers.RandomFlip("horizontal"),
    ]


def array_steps(splits: Splits, epochs: int, batch: int) -> int:
    """The schedule's steps of a ``model.fit`` on arrays (their partial last batch counts)."""
    return epochs * math.ceil(len(splits.y_train) / batch)


def run_raw(splits: Splits, epochs: int, batch: int, augmentation: bool) -> EpochTimer:
    keras.utils.set_random_seed(0)
    total_steps = array_steps(splits, epochs, batch)
    model = raw_seed_model(keras_augmentation() if augmentation else [], total_steps)
    timer = EpochTimer()
    model.fit(
        (splits.x_train[..., None] / 255.0).astype("float32"),
        one_hot(splits.y_train),
        batch_size=batch,
        epochs=epochs,
        validation_data=(
            (splits.x_val[..., None] / 255.0).astype("float32"),
            one_hot(splits.y_val),
        ),
        callbacks=[timer],
        verbose=0,
    )
    return timer


def run_bare(splits: Splits, epochs: int, batch: int, steps_per_dispatch: int = 1) -> EpochTimer:
    """The trainer's model and compile, fitted by a bare ``model.fit`` on the trainer's
    batches (full batches, validation in batches of 1,000): only the callbacks differ.

    ``steps_per_dispatch`` > 1 (JAX only): that many train steps in one call to the device,
    a ``jax.lax.scan`` over as many batches (Keras's own ``steps_per_execution`` calls the
    jitted step once a batch under JAX). The batches and their order are the same.
    """
    keras.utils.set_random_seed(0)
    params = CNN_SPACE.validate({"augmentation": 0.0, "batch_size": batch})
    model = build_cnn(params, seed=0)
    batches = EpochBatches(splits.x_train, one_hot(splits.y_train), batch, seed=0)
    compile_model(model, params, epochs * batches.steps)
    data: keras.utils.PyDataset = batches
    if steps_per_dispatch > 1:
        data = scan_steps(model, batches, steps_per_dispatch)
    timer = EpochTimer()
    model.fit(
        data,
        steps_per_epoch=batches.steps // steps_per_dispatch,
        epochs=epochs,
        validation_data=(splits.x_val, one_hot(splits.y_val)),
        validation_batch_size=min(VALIDATION_BATCH_SIZE, len(splits.y_val)),
        callbacks=[timer],
        verbose=0,
    )
    return timer


def scan_steps(model: keras.Model, batches: EpochBatches, count: int) -> EpochBatches:
    """Makes one call of ``model``'s train step run ``count`` steps (JAX), and returns the
    data set that feeds it ``count`` batches at once: the same permutation cut into batches
    ``count`` times larger, whose item ``i`` is ``batches``' items ``i * count`` onwards."""
    import jax

    if keras.backend.backend() != "jax":
        raise SystemExit("--steps-per-dispatch needs KERAS_BACKEND=jax")
    if batches.steps % count:
        raise SystemExit(
            f"--steps-per-dispatch {count} must divide the {batches.steps} steps of an epoch"
        )
    one_step = model.train_step

    def train_step(state: Any, data: Any) -> Any:
        stacked = [t.reshape((count, -1, *t.shape[1:])) for t in data[:2]]

        def body(carry: Any, batch: Any) -> Any:
            logs, carry = one_step(carry, tuple(batch))
            return carry, logs

        state, logs = jax.lax.scan(body, state, stacked)
        return jax.tree.map(lambda t: t[-1], logs), state

    model.train_step = train_step  # read by Keras's make_train_function
    return EpochBatches(
        batches.images,
        batches.labels,
        batches.batch_size * count,
        seed=batches.seed,
        first_epoch=batches.first_epoch,
    )


def run_trainer(
    splits: Splits, epochs: int, batch: int, augmentation: float, checkpoint: bool = False
) -> EpochTimer:
    params = CNN_SPACE.validate({"augmentation": augmentation, "batch_size": batch})
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as folder:
        saver = Checkpoint(folder) if checkpoint else None
        train_model(params, splits, epochs=epochs, seed=0, callbacks=[timer], checkpoint=saver)
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12_800, help="training images per epoch")
    parser.add_argument("--validation", type=int, default=2_000, help="validation images")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per variant (>= 2)")
    parser.add_argument("--batch-size", type=int, default=128, choices=(32, 64, 128, 256))
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--skip-keras-layers", action="store_true", help="skip variant 5")
    parser.add_argument(
        "--steps-per-dispatch",
        type=int,
        default=1,
        help="JAX: also the bare fit with this many train steps a device call (a scan)",
    )
    parser.add_argument(
        "--checkpoints",
        action="store_true",
        help="only the trainer with and without a checkpoint each epoch (target <= 1.03)",
    )
    args = parser.parse_args()
    scanned = f"bare fit, {args.steps_per_dispatch} steps a dispatch"
    splits = split(
        load_fashion_mnist(), validation_size=args.validation, subset=args.images, seed=0
    )
    variants: dict[str, Callable[[], EpochTimer]] = {
        "raw keras, no augmentation": lambda: run_raw(splits, args.epochs, args.batch_size, False),
        "trainer, no augmentation": lambda: run_trainer(splits, args.epochs, args.batch_size, 0.0),
        "trainer model, bare fit": lambda: run_bare(splits, args.epochs, args.batch_size),
        "trainer, seed augmentation": lambda: run_trainer(
            splits, args.epochs, args.batch_size, 1.0
        ),
    }
    if args.checkpoints:
        variants = {
            "trainer, no augmentation": variants["trainer, no augmentation"],
            "trainer, checkpoint each epoch": lambda: run_trainer(
                splits, args.epochs, args.batch_size, 0.0, checkpoint=True
            ),
        }
    else:
        if not args.skip_keras_layers:
            variants["raw keras, keras augmentation layers"] = lambda: run_raw(
                splits, args.epochs, args.batch_size, True
            )
        if args.steps_per_dispatch > 1:
            variants[scanned] = lambda: run_bare(
                splits, args.epochs, args.batch_size, args.steps_per_dispatch
            )
    print(
        f"backend {keras.backend.backend()}, {args.images} images, batch {args.batch_size}, "
        f"{args.repeats} interleaved rounds of {args.epochs} epochs"
    )
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    val_accuracy: dict[str, float] = {}
    for round_number in range(1, args.repeats + 1):
        for name, run in variants.items():
            timer = run()
            val_accuracy[name] = timer.val_accuracy
            wall[name] += timer.seconds[1:]
            cpu[name] += timer.cpu_seconds[1:]
            epochs = ", ".join(f"{s:.1f}" for s in timer.seconds)
            print(f"round {round_number} {name:<38} epochs: {epochs} s", flush=True)
    for label, times in (("wall", wall), ("cpu", cpu)):
        speeds = {name: args.images / statistics.median(t) for name, t in times.items()}
        print(f"-- images per {label} second (median of steady epochs)")
        for name, speed in speeds.items():
            print(f"{name:<38} {speed:>8.0f}")
        if args.checkpoints:
            ratio = speeds["trainer, no augmentation"] / speeds["trainer, checkpoint each epoch"]
            print(f"epoch time with / without checkpoints  {ratio:.3f}   (target <= 1.03)")
            continue
        raw, plain = speeds["raw keras, no augmentation"], speeds["trainer, no augmentation"]
        augmented = speeds["trainer, seed augmentation"]
        bare = speeds["trainer model, bare fit"]
        print(f"trainer / raw                          {plain / raw:.3f}   (target >= 0.95)")
        print(f"trainer / its model's bare fit         {plain / bare:.3f}   (the callbacks)")
        print(f"its model's bare fit / raw             {bare / raw:.3f}   (layers, batching)")
        print(f"trainer augmented / trainer            {augmented / plain:.3f}   (target >= 0.80)")
        if "raw keras, keras augmentation layers" in speeds:
            keras_layers = speeds["raw keras, keras augmentation layers"] / raw
            print(f"keras layers / raw (reference)         {keras_layers:.3f}")
        if scanned in speeds:
            print(
                f"{args.steps_per_dispatch} steps a dispatch / bare fit        "
                f"{speeds[scanned] / bare:.3f}"
            )
    if scanned in val_accuracy:  # the same batches in the same order: the same training
        print(
            f"last val_accuracy: bare fit {val_accuracy['trainer model, bare fit']:.4f}, "
            f"{args.steps_per_dispatch} steps a dispatch {val_accuracy[scanned]:.4f}"
        )


if __name__ == "__main__":
    main()
