"""Search-loop overhead and memory: a trial through ``search`` against the trainer alone.

1. Wall time of one trial through the Optuna search loop (storage, sampling, MLflow tracking,
   pruning reports) against ``trainer.job.train_model`` alone, for the same configuration,
   data and epochs, interleaved ``--repeats`` times. Target: at most 1.05x.
2. The process's resident memory after 1 and after 10 trials of the search loop.
   Target: growth under 300 MB.

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

from model_space import CNN_SPACE
from search.engines.optuna_engine import OptunaEngine
from search.study_config import StudyConfig
from search.tracking import make_tracker
from search.trial import TrialRunner
from trainer.data import load_fashion_mnist
from trainer.job import train_model
from trainer.splits import Splits, split

SEED_POINT = {name: {"value": value} for name, value in CNN_SPACE.defaults().items()}


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def search_trials(
    root: Path, name: str, splits: Splits, trials: int, epochs: int, space: dict
) -> tuple[float, float]:
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
    runner = TrialRunner(config, splits, make_tracker(config))
    started, cpu = time.perf_counter(), time.process_time()
    engine.search(runner)
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6_400, help="training images per trial")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-trials", type=int, default=10)
    args = parser.parse_args()
    splits = split(load_fashion_mnist(), validation_size=2_000, subset=args.images, seed=0)
    point = CNN_SPACE.defaults()
    alone, searched, alone_cpu, searched_cpu = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for repeat in range(args.repeats):
            started, cpu = time.perf_counter(), time.process_time()
            train_model(point, splits, epochs=args.epochs, seed=42)
            alone.append(time.perf_counter() - started)
            alone_cpu.append(time.process_time() - cpu)
            wall, cpu_seconds = search_trials(
                root, f"overhead-{repeat}", splits, 1, args.epochs, SEED_POINT
            )
            searched.append(wall)
            searched_cpu.append(cpu_seconds)
            print(
                f"round {repeat + 1}: trainer alone {alone[-1]:.1f} s ({alone_cpu[-1]:.1f} cpu), "
                f"through search {searched[-1]:.1f} s ({searched_cpu[-1]:.1f} cpu)",
                flush=True,
            )
        ratio = statistics.median(searched) / statistics.median(alone)
        cpu_ratio = statistics.median(searched_cpu) / statistics.median(alone_cpu)
        print(f"search / trainer, wall (median of {args.repeats})  {ratio:.3f}   (target <= 1.05)")
        print(f"search / trainer, cpu  (median of {args.repeats})  {cpu_ratio:.3f}")

        name = "memory"
        search_trials(root, name, splits, 1, 1, {})
        after_one = resident_mb()
        search_trials(root, name, splits, args.memory_trials, 1, {})
        after_many = resident_mb()
        print(f"resident memory after 1 trial            {after_one:.0f} MB")
        print(f"resident memory after {args.memory_trials} trials          {after_many:.0f} MB")
        growth = after_many - after_one
        print(f"growth                                   {growth:.0f} MB   (target < 300)")


if __name__ == "__main__":
    main()
