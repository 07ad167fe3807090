"""Weight averaging in the retrain, side by side in one fit: does EMA or SWA pay?

One fit of the default study's strongest configuration (its second enqueued point) through the
trainer's ``train_model`` with the retrain's recipe (all 50,000 training images, the study's
validation images and seed), watched by a callback that keeps, at no change to the training itself:

- an exponential moving average of every float weight (BatchNormalization's statistics too, as
  timm's ``ModelEmaV2`` does), updated after every step, for each ``--ema`` momentum;
- the weights at the end of each of the last ``--last`` epochs (SWA: their mean, with the
  BatchNormalization statistics measured again on training batches) and those epochs' served
  probabilities (a snapshot ensemble: their mean).

Every variant is then served as the retrain serves (flip TTA unless ``--no-tta``) and scored on the
validation and test images. The shipped model is what the retrain exports (early stopping's
best epoch; with the schedule ending at 0 that is usually the last)::

    python bench/weight_averaging.py --epochs 18
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from model_space.tta import served_model
from search.study_config import load_study
from trainer.data import load_fashion_mnist
from trainer.evaluate import PREDICT_BATCH_SIZE, evaluate_probabilities
from trainer.job import train_model
from trainer.splits import Splits, split


class Snapshots(keras.callbacks.Callback):
    """Keeps the last epochs' weights and served probabilities; the training is not changed."""

    def __init__(self, momenta: list[float], last: int, splits: Splits, tta: bool) -> None:
        super().__init__()
        self.momenta, self.last, self.splits, self.tta = momenta, last, splits, tta
        self.ema: dict[float, list[keras.Variable]] = {}
        self.snapshots: list[list[np.ndarray]] = []
        self.probabilities: list[tuple[np.ndarray, np.ndarray]] = []

    def averaged(self) -> list[keras.Variable]:
        return [v for v in self.model.weights if "float" in str(v.dtype)]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        print(
            f"epoch {epoch + 1}: val_accuracy {float(logs.get('val_accuracy', 0)):.4f}", flush=True
        )
        if epoch + 1 > self.params["epochs"] - self.last:
            self.snapshots.append([host(v) for v in self.averaged()])
            self.probabilities.append(served_probabilities(self.model, self.splits, self.tta))


class Averages(Snapshots):
    """Snapshots, and EMA copies of the weights updated after every step (a batch hook: Keras
    then waits for each step, and the fit runs slower)."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.ema = {
            m: [keras.Variable(host(v), trainable=False) for v in self.averaged()]
            for m in self.momenta
        }

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        for momentum, copies in self.ema.items():
            for copy, variable in zip(copies, self.averaged(), strict=True):
                copy.assign(momentum * copy.value + (1.0 - momentum) * variable.value)


def host(variable: keras.Variable) -> np.ndarray:
    """A copy of ``variable``'s value (``keras.Variable(v.value)`` would share ``v``'s storage
    under TensorFlow, not copy it)."""
    return np.array(keras.ops.convert_to_numpy(variable.value), copy=True)


def served_probabilities(
    model: keras.Model, splits: Splits, tta: bool
) -> tuple[np.ndarray, np.ndarray]:
    served = served_model(model, tta)
    return tuple(  # type: ignore[return-value]
        np.asarray(served.predict(x, batch_size=PREDICT_BATCH_SIZE, verbose=0))
        for x in (splits.x_val, splits.x_test)
    )


def with_weights(averages: Snapshots, values: list[Any]) -> None:
    for variable, value in zip(averages.averaged(), values, strict=True):
        variable.assign(np.asarray(value))


def refresh_batch_norm(model: keras.Model, images: np.ndarray, batches: int = 100) -> None:
    """BatchNormalization's moving statistics measured again for the current weights: forward
    passes in training mode (the weights are not trained) over ``batches`` batches of 500."""
    rng = np.random.default_rng(0)
    for _ in range(batches):
        model(images[rng.choice(len(images), 500, replace=False)], training=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument(
        "--ema", type=float, nargs="*", default=[0.999, 0.9995], help="momenta; none: no EMA"
    )
    parser.add_argument("--last", type=int, default=4, help="epochs SWA and snapshots average")
    parser.add_argument("--images", type=int, default=None, help="training images (all)")
    parser.add_argument("--seed", type=int, default=None, help="(the study's)")
    parser.add_argument("--no-tta", dest="tta", action="store_false")
    args = parser.parse_args()

    study = load_study()  # the default study: its seed, validation images and strongest point
    seed = study.seed if args.seed is None else args.seed
    data = load_fashion_mnist()
    splits = split(data, validation_size=study.validation_size, subset=args.images, seed=seed)
    point = study.enqueued_points()[1]
    watch = Averages if args.ema else Snapshots
    averages = watch(args.ema, args.last, splits, args.tta)
    started = time.perf_counter()
    model, result = train_model(point, splits, epochs=args.epochs, seed=seed, callbacks=[averages])
    print(
        f"fit: {len(splits.y_train)} images x {result.epochs_run} epochs in "
        f"{(time.perf_counter() - started) / 60:.1f} min; best epoch {result.best_epoch}",
        flush=True,
    )
    rows: list[tuple[str, tuple[np.ndarray, np.ndarray]]] = [
        ("shipped (best epoch)", served_probabilities(model, splits, args.tta)),
        ("last epoch", averages.probabilities[-1]),
        (
            f"snapshot ensemble, last {len(averages.probabilities)} epochs",
            (
                np.mean([p[0] for p in averages.probabilities], axis=0),
                np.mean([p[1] for p in averages.probabilities], axis=0),
            ),
        ),
    ]
    swa = [np.mean(values, axis=0) for values in zip(*averages.snapshots, strict=True)]
    with_weights(averages, swa)
    refresh_batch_norm(model, splits.x_train)
    rows.append(
        (
            f"SWA, last {len(averages.snapshots)} epochs",
            served_probabilities(model, splits, args.tta),
        )
    )
    for momentum, copies in averages.ema.items():
        with_weights(averages, [host(c) for c in copies])
        rows.append((f"EMA {momentum}", served_probabilities(model, splits, args.tta)))
        refresh_batch_norm(model, splits.x_train)
        rows.append(
            (f"EMA {momentum}, BN measured again", served_probabilities(model, splits, args.tta))
        )
    print(f"{'variant':<40} {'validation':>10} {'test':>8}")
    for name, (val, test) in rows:
        v = evaluate_probabilities(val, splits.y_val).accuracy
        t = evaluate_probabilities(test, splits.y_test).accuracy
        print(f"{name:<40} {v:>10.4f} {t:>8.4f}", flush=True)


if __name__ == "__main__":
    main()
