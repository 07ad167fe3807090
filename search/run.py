"""``python -m search.run``: run a study, retrain its best trial, export and register it.

Exit codes: 0 done; 1 a bug (the traceback; a trial's own failures, ``search.failures``, do not
stop the search), a worker that failed, or a study that ended with no completed trial; 2 bad
input (a study key or flag, the data set, the storage URL), one line; 130 interrupted (finished
trials are kept: run the same command to resume).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from search import cli
from trainer.startup import import_backend

if TYPE_CHECKING:
    from search.study_run import StudyResult


def build_parser() -> cli.StudyParser:
    parser = cli.StudyParser(
        "python -m search.run",
        "Search the CNN space on Fashion-MNIST; retrain, test, export and register the best.",
    )
    parser.settings_flags(
        "trials",
        "algorithm",
        "pruner",
        "objectives",
        "constraints",
        "epochs",
        "subset",
        "validation_size",
        "seed",
        "data_dir",
        "budget",
        "enqueue_from",
        "workers",
        "precision",
        "retrain_epochs",
        "retrain_max_epochs",
        "retrain_subset",
        "choose",
        "ensemble",
        "tta",
        "retrain_seeds",
        "project",
        "location",
        "experiment",
        "tensorboard",
    )
    retrain = parser.add_argument_group("which steps run")
    steps = retrain.add_mutually_exclusive_group()
    steps.add_argument("--no-retrain", action="store_true", help="search only")
    steps.add_argument(
        "--retrain-only", action="store_true", help="retrain the best trial of an existing study"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup(args)

    failed_workers: list[str] = []

    def body() -> None:
        config = parser.load(args)  # bad input fails here, before TensorFlow loads
        import_backend()
        from search import workers
        from search.budget import Budget

        budget = Budget(config.budget_seconds, started=started)
        count = 1 if os.environ.get(workers.WORKER_ENV) else workers.resolve(str(config.workers))
        search_here = not args.retrain_only
        if count > 1 and search_here:
            codes = workers.Workers(config, count, retrain=not args.no_retrain).run(
                sys.argv[1:] if argv is None else list(argv),
                budget.left() if budget.limited else None,
            )
            failed_workers.extend(
                f"worker {i} exited with {code}" for i, code in enumerate(codes, 1) if code
            )
            search_here = False
        from search.study_run import run_study

        # A worker retrains nothing, but its parent may: its time stays free of trials.
        parent_retrains = os.environ.get(workers.RETRAIN_ENV) == "1"
        result = run_study(
            config,
            retrain=not args.no_retrain,
            reserve=not args.no_retrain or parent_retrains,
            search=search_here,
            budget=budget,
            searched=count > 1,
        )
        if not _summary(config.name, result, time.monotonic() - started, config.objectives[0]):
            nothing.append(config.name)

    nothing: list[str] = []
    code = cli.run_main(
        body, "interrupted: finished trials are kept; run the same command to resume"
    )
    if code == 0 and failed_workers:
        print(f"error: {'; '.join(failed_workers)} (its lines above say why)", file=sys.stderr)
        return 1
    if code == 0 and nothing:
        print(
            f"error: study {nothing[0]} has no completed trial, so nothing was retrained: each "
            "trial's end line above says why (failed, pruned, or stopped by the budget)",
            file=sys.stderr,
        )
        return 1
    return code


def _summary(study: str, result: StudyResult, seconds: float, primary: str) -> bool:
    """Prints what the command did; False when no trial completed."""
    if result.best_trial is None:
        print(f"{study}: no trial completed")
        return False
    best = result.best_trial
    print(f"{study}: best trial {best.key}, {primary} {best.val_accuracy:.4f}")
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
    return True


if __name__ == "__main__":
    sys.exit(main())
