"""Trials per hour on a CPU: one worker with every core against ``--workers N``, side by side.

``--workers auto`` is one worker on a CPU. This measures the rule: ``--fits`` trial-sized fits
(the seed configuration, ``trainer.job.train_model``) run one after another in one process
that has every core, and the same fits run at once in ``N`` processes, each with the
environment ``search.workers`` gives a worker (cores / N threads for TensorFlow and OpenMP).
Each fit is a fresh ``python`` process in both cases, so both pay the same start-up and
compilation. Prints each side's wall time and the ratio; run on an otherwise idle machine::

    python bench/cpu_workers.py --workers 2 --images 6000 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from search.workers import worker_environment

CHILD = """
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from model_space import CNN_SPACE
from trainer.data import load_fashion_mnist
from trainer.job import train_model
from trainer.splits import split
images, validation, epochs, seed = (int(v) for v in sys.argv[1:5])
splits = split(load_fashion_mnist(), validation_size=validation, subset=images, seed=seed)
started = time.perf_counter()
_, result = train_model(CNN_SPACE.defaults(), splits, epochs=epochs, seed=seed)
print(f"fit {seed}: {time.perf_counter() - started:.1f} s, val_accuracy {result.val_accuracy:.4f}")
"""


def fits(count: int, workers: int, args: argparse.Namespace) -> float:
    """Wall seconds for ``count`` fits, ``workers`` at a time, each worker with its share."""
    env = worker_environment(1, workers, gpus=0) if workers > 1 else dict(os.environ)
    started = time.perf_counter()
    pending = list(range(count))
    running: list[subprocess.Popen[bytes]] = []
    while pending or running:
        while pending and len(running) < workers:
            seed = pending.pop(0)
            command = [sys.executable, "-c", CHILD, str(args.images), str(args.validation)]
            running.append(subprocess.Popen([*command, str(args.epochs), str(seed)], env=env))
        running[0].wait()
        if running[0].returncode:
            raise SystemExit(f"a fit failed (exit {running[0].returncode})")
        running.pop(0)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="processes at once (default 2)")
    parser.add_argument("--fits", type=int, default=0, help="fits on each side (default: N)")
    parser.add_argument("--images", type=int, default=6000, help="training images a fit")
    parser.add_argument("--validation", type=int, default=10_000, help="validation images")
    parser.add_argument("--epochs", type=int, default=3, help="epochs a fit")
    args = parser.parse_args()
    count = args.fits or args.workers
    print(f"{os.cpu_count()} cores; {count} fits of {args.images} images x {args.epochs} epochs")
    one = fits(count, 1, args)
    print(f"one worker, every core:       {one:7.1f} s")
    many = fits(count, args.workers, args)
    print(f"{args.workers} workers at once:            {many:7.1f} s")
    print(f"trials per hour, {args.workers} workers / one: {one / many:.3f}")


if __name__ == "__main__":
    main()
