"""``python -m search.run``: run a study, retrain its best trial, export and register it.

Exit codes: 0 done; 2 bad input (a study key or flag, the data set, the storage URL), one
line; 130 interrupted (finished trials are kept: run the same command to resume).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from search import cli

if TYPE_CHECKING:
    from search.study_run import StudyResult

STUDY_KEYS = (
    "trials",
    "engine",
    "algorithm",
    "pruner",
    "epochs",
    "subset",
    "validation_size",
    "retrain_epochs",
    "retrain_subset",
    "seed",
    "storage",
    "tracking",
    "tracking_uri",
    "data_dir",
    "project",
    "location",
    "experiment",
    "tensorboard",
)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.study_parser(
        "python -m search.run",
        "Search the CNN space on Fashion-MNIST; retrain, test, export and register the best.",
    )
    parser.add_argument("--trials", type=int, help="trials the study should hold when done")
    parser.add_argument(
        "--algorithm",
        help="optuna: tpe, random, cmaes, qmc; keras-tuner: bayesian, random, hyperband",
    )
    parser.add_argument("--pruner", help="asha, hyperband, median or none (Optuna)")
    parser.add_argument("--epochs", type=int, help="the most epochs of one trial")
    parser.add_argument("--subset", type=int, help="training images per trial")
    parser.add_argument("--validation-size", type=int, help="validation images")
    parser.add_argument("--retrain-epochs", type=int, help="the most epochs of the retrain")
    parser.add_argument("--retrain-subset", type=int, help="training images for the retrain")
    parser.add_argument("--seed", type=int, help="seeds the split, the weights and the sampler")
    parser.add_argument("--data-dir", help="Fashion-MNIST folder, local or gs://")
    parser.add_argument("--project", help="Google Cloud project (tracking vertex)")
    parser.add_argument("--location", help="Google Cloud region (tracking vertex)")
    parser.add_argument("--experiment", help="Experiments experiment (default: the study)")
    parser.add_argument("--tensorboard", help="the experiment's TensorBoard, for per-epoch metrics")
    steps = parser.add_mutually_exclusive_group()
    steps.add_argument("--no-retrain", action="store_true", help="search only")
    steps.add_argument(
        "--retrain-only", action="store_true", help="retrain the best trial of an existing study"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup()

    def body() -> None:
        config = cli.load(args, STUDY_KEYS)  # bad input fails here, before TensorFlow loads
        from search.study_run import run_study

        result = run_study(config, retrain=not args.no_retrain, search=not args.retrain_only)
        _summary(config.name, result)

    return cli.run_main(
        body, "interrupted: finished trials are kept; run the same command to resume"
    )


def _summary(study: str, result: StudyResult) -> None:
    if result.best_trial is None:
        print(f"{study}: no trial completed")
        return
    best = result.best_trial
    print(f"{study}: best trial {best.key}, val_accuracy {best.val_accuracy:.4f}")
    if result.best_model is not None:
        job = result.best_model.job
        version = result.best_model.registered_version
        registered = f"; registered fashion-mnist-cnn version {version}" if version else ""
        print(
            f"retrained {job.run_name}: validation accuracy {job.fit.val_accuracy:.4f}, "
            f"test accuracy {job.test.accuracy:.4f}; exported to {job.model_dir}{registered}"
        )


if __name__ == "__main__":
    sys.exit(main())
