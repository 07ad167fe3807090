"""``python -m search.run``: run a study, retrain its best trial, export and register it.

Exit codes: 0 done; 2 bad input (a study key or flag, the data set, the storage URL), one
line; 130 interrupted (finished trials are kept: run the same command to resume).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from search import cli

if TYPE_CHECKING:
    from search.study_run import StudyResult


def build_parser() -> cli.StudyParser:
    parser = cli.StudyParser(
        "python -m search.run",
        "Search the CNN space on Fashion-MNIST; retrain, test, export and register the best.",
    )
    parser.study_flag("--trials", type=int, help="trials the study should hold when done")
    parser.study_flag(
        "--algorithm",
        help="optuna: tpe, random, cmaes, qmc; keras-tuner: bayesian, random, hyperband",
    )
    parser.study_flag("--pruner", help="asha, hyperband, median or none (Optuna)")
    parser.study_flag("--epochs", type=int, help="the most epochs of one trial")
    parser.study_flag("--subset", type=int, help="training images per trial")
    parser.study_flag("--validation-size", type=int, help="validation images")
    parser.study_flag("--retrain-epochs", type=int, help="the most epochs of the retrain")
    parser.study_flag("--retrain-subset", type=int, help="training images for the retrain")
    parser.study_flag("--seed", type=int, help="seeds the split, the weights and the sampler")
    parser.study_flag("--data-dir", help="Fashion-MNIST folder, local or gs://")
    parser.study_flag("--project", help="Google Cloud project (tracking vertex)")
    parser.study_flag("--location", help="Google Cloud region (tracking vertex)")
    parser.study_flag("--experiment", help="Experiments experiment (default: the study)")
    parser.study_flag("--tensorboard", help="the experiment's TensorBoard, for per-epoch metrics")
    parser.study_flag(
        "--budget",
        help="wall time of the whole command, such as 60m or 1h30m: trials stop in time for "
        "the retrain to fit",
    )
    parser.study_flag(
        "--enqueue-from", metavar="STUDY", help="try another study's best trials first"
    )
    parser.study_flag(
        "--tta",
        action=argparse.BooleanOptionalAction,
        help="flip test-time augmentation for the retrained model's evaluation and export",
    )
    parser.study_flag(
        "--retrain-seeds",
        type=int,
        help="retrain the best with this many seeds; report mean and std (export the first)",
    )
    steps = parser.add_mutually_exclusive_group()
    steps.add_argument("--no-retrain", action="store_true", help="search only")
    steps.add_argument(
        "--retrain-only", action="store_true", help="retrain the best trial of an existing study"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup()

    def body() -> None:
        config = parser.load(args)  # bad input fails here, before TensorFlow loads
        from search.budget import Budget
        from search.study_run import run_study

        budget = Budget(config.budget_seconds, started=started)
        result = run_study(
            config, retrain=not args.no_retrain, search=not args.retrain_only, budget=budget
        )
        _summary(config.name, result, time.monotonic() - started)

    return cli.run_main(
        body, "interrupted: finished trials are kept; run the same command to resume"
    )


def _summary(study: str, result: StudyResult, seconds: float) -> None:
    if result.best_trial is None:
        print(f"{study}: no trial completed")
        return
    best = result.best_trial
    print(f"{study}: best trial {best.key}, val_accuracy {best.val_accuracy:.4f}")
    if result.best_model is not None:
        model = result.best_model
        job = model.job
        low, high = job.test.accuracy_interval()
        registered = (
            f"; registered fashion-mnist-cnn version {model.registered_version}"
            if model.registered_version
            else ""
        )
        print(
            f"retrained {job.run_name}: test accuracy {job.test.accuracy:.4f} "
            f"(95% interval {low:.4f}-{high:.4f}, {job.test.count:,} images), validation "
            f"accuracy {job.validation.accuracy:.4f} (validation - test "
            f"{100 * job.gap:+.2f} points); exported to {job.model_dir}{registered}"
        )
        if len(model.seed_accuracies) > 1:
            from search.best import seed_summary

            summary = seed_summary(model.seed_accuracies)
            print(
                f"over {len(model.seed_accuracies)} seeds: test accuracy {summary['mean']:.4f} "
                f"± {summary['std']:.4f} (standard deviation)"
            )
    print(f"{study}: done in {seconds / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
