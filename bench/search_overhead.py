"""Search-loop overhead and memory: a trial through ``search`` against the trainer alone.

1. Wall time of one trial through the Optuna search loop (storage, sampling, MLflow tracking,
   pruning reports) against ``trainer.job.train_model`` alone, for the same configuration,
   data and epochs, interleaved ``--repeats`` times. Target: at most 1.05x.
2. The process's resident memory after 1 and after 10 trials of the search loop, first with
   every trial on the seed configuration (what a leak would show: target, growth under
   300 MB), then with trials sampled from the whole space. Sampled trials raise the resident
   size once to the peak of the largest model trained so far, most likely the pool of
   TensorFlow's oneDNN allocator (turning oneDNN off removes it but halves training speed
   here), so that figure is reported beside the largest growth between two later trials.

    python bench/search_overhead.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from model_space import CNN_SPACE
from search.engines.optuna_engine import OptunaEngine
from search.engines.optuna_halving import ReportToOptuna
from search.study_config import StudyConfig
from search.tracking import open_tracker
from search.trial import EpochTracking, TrialRunner
from trainer.data import load_fashion_mnist
from trainer.job import train_model
from trainer.splits import Splits, split

SEED_POINT = {name: {"value": value} for name, value in CNN_SPACE.defaults().items()}


#: Seconds spent in the search's own per-epoch callbacks (MLflow metrics, Optuna reports),
#: which run inside ``train_model``.
callback_seconds = [0.0]


def time_epoch_end(cls: type[keras.callbacks.Callback]) -> None:
    original = cls.on_epoch_end

    def on_epoch_end(self: keras.callbacks.Callback, epoch: int, logs: dict | None = None) -> None:
        started = time.perf_counter()
        try:
            original(self, epoch, logs)
        finally:
            callback_seconds[0] += time.perf_counter() - started

    cls.on_epoch_end = on_epoch_end


for callback in (EpochTracking, ReportToOptuna):
    time_epoch_end(callback)


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def search_trials(
    root: Path, name: str, splits: Splits, trials: int, epochs: int, space: dict
) -> tuple[float, float, float]:
    """Runs the study up to ``trials`` trials; returns wall and CPU seconds of the search loop,
    and the wall seconds its last trial spent training: its time in ``train_model`` (the
    trial's own record) less the search's per-epoch callbacks."""
    config = StudyConfig(
        name=name,
        trials=trials,
        epochs=epochs,
        pruner="none",
        studies_dir=root,
        space=space,
        subset=len(splits.y_train),
        validation_size=len(splits.y_val),
    )
    engine = OptunaEngine(config)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    runner = TrialRunner(config, splits, open_tracker(config))
    started, cpu = time.perf_counter(), time.process_time()
    callback_seconds[0] = 0.0
    engine.search(runner)
    wall, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    last = engine.records()[-1]
    return wall, cpu_seconds, float(last.seconds or 0.0) - callback_seconds[0]


def memory_trials(root: Path, name: str, splits: Splits, trials: int, space: dict) -> None:
    """Runs one study a trial at a time (each call resumes it) and prints resident memory."""
    resident = []
    for count in range(1, trials + 1):
        search_trials(root, name, splits, count, 1, space)  # the study resumes
        resident.append(resident_mb())
    print("  resident MB after each trial  " + " ".join(f"{mb:.0f}" for mb in resident))
    growth = resident[-1] - resident[0]
    print(f"  after 1 trial {resident[0]:.0f} MB, after {trials} {resident[-1]:.0f} MB: ", end="")
    print(f"growth {growth:.0f} MB   (target < 300)")
    later = max(resident[1:]) - resident[1] if len(resident) > 2 else 0.0
    print(f"  largest rise after trial 2: {later:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6_400, help="training images per trial")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory-trials", type=int, default=10)
    args = parser.parse_args()
    splits = split(load_fashion_mnist(), validation_size=2_000, subset=args.images, seed=0)
    point = CNN_SPACE.defaults()
    alone, searched, alone_cpu, searched_cpu, outside = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for repeat in range(args.repeats):
            started, cpu = time.perf_counter(), time.process_time()
            train_model(point, splits, epochs=args.epochs, seed=42)
            alone.append(time.perf_counter() - started)
            alone_cpu.append(time.process_time() - cpu)
            wall, cpu_seconds, training = search_trials(
                root, f"overhead-{repeat}", splits, 1, args.epochs, SEED_POINT
            )
            searched.append(wall)
            searched_cpu.append(cpu_seconds)
            outside.append(wall - training)
            print(
                f"round {repeat + 1}: trainer alone {alone[-1]:.1f} s ({alone_cpu[-1]:.1f} cpu), "
                f"through search {searched[-1]:.1f} s ({searched_cpu[-1]:.1f} cpu, "
                f"{outside[-1]:.2f} s of it the loop's own)",
                flush=True,
            )
        ratio = statistics.median(searched) / statistics.median(alone)
        cpu_ratio = statistics.median(searched_cpu) / statistics.median(alone_cpu)
        print(f"search / trainer, wall (median of {args.repeats})  {ratio:.3f}   (target <= 1.05)")
        print(f"search / trainer, cpu  (median of {args.repeats})  {cpu_ratio:.3f}")
        # Epoch times of the same model vary by 20% on a shared machine, more than the loop
        # costs; the loop's own seconds (storage, sampling, run start and end), measured
        # inside the same trial with its per-epoch callbacks, give the ratio without that noise.
        loop = statistics.median(outside)
        steady = (statistics.median(alone) + loop) / statistics.median(alone)
        print(f"search loop's own time, a trial  {loop:.2f} s   (ratio {steady:.3f})")

        for name, label, space in (
            ("memory-seed", "seed configuration", SEED_POINT),
            ("memory-sampled", "sampled from the space", {}),
        ):
            print(f"memory, every trial {label}:", flush=True)
            memory_trials(root, name, splits, args.memory_trials, space)


if __name__ == "__main__":
    main()
