"""The retrain with SGD and Nesterov momentum in place of AdamW: does the optimiser pay?

Runs ``python -m trainer.train`` unchanged (its flags, data, split, export and test report)
except for the optimiser: SGD with momentum 0.9 and Nesterov, on the trainer's own schedule
(linear warm-up from a tenth of the peak, then a cosine to 0) and clipnorm, with Keras's
decoupled weight decay (multiplied by the rate, like an L2 penalty of the same coefficient).
The space's ``learning_rate`` and ``weight_decay`` are AdamW's and their ranges do not hold
SGD's usual values, so ``--sgd-rate`` and ``--sgd-decay`` give them; every other flag goes to
the trainer. Compare its test accuracy with the same flags through the trainer itself::

    python bench/sgd_retrain.py --sgd-rate 0.1 --sgd-decay 5e-4 -- \\
        --filters 32-64-128 --convs_per_block 2 --units 256 --conv_dropout 0.1 \\
        --dense_dropout 0.3 --batch_size 128 --augmentation 0 --label_smoothing 0.1 \\
        --flip 0.5 --crop 2 --epochs 20 --validation-size 10000 --seed 42 --tta \\
        --model-dir /tmp/sgd
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from trainer import job
from trainer.fit import CLIPNORM, learning_rate_schedule
from trainer.train import main as train_main

logger = logging.getLogger("bench.sgd_retrain")


def sgd_compile(rate: float, decay: float) -> Any:
    """A stand-in for ``trainer.fit.compile_model`` that compiles with SGD + Nesterov."""

    def compile_model(model: keras.Model, params: Mapping[str, Any], total_steps: int) -> None:
        optimizer = keras.optimizers.SGD(
            learning_rate=learning_rate_schedule(rate, total_steps),
            momentum=0.9,
            nesterov=True,
            weight_decay=decay,
            clipnorm=CLIPNORM,
        )
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=params["label_smoothing"])
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
        logger.info(
            "SGD + Nesterov, peak rate %g, weight decay %g, %d steps", rate, decay, total_steps
        )

    return compile_model


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sgd-rate", type=float, default=0.1, help="peak learning rate")
    parser.add_argument("--sgd-decay", type=float, default=5e-4, help="decoupled weight decay")
    parser.add_argument("trainer_args", nargs="*", help="flags for python -m trainer.train")
    args = parser.parse_args(argv)
    if args.sgd_rate <= 0 or args.sgd_decay < 0:
        parser.error("--sgd-rate must be positive and --sgd-decay not negative")
    job.compile_model = sgd_compile(args.sgd_rate, args.sgd_decay)
    return train_main(args.trainer_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
