"""``python -m search.run``: run a study, retrain its best trial, export and register it.

Exit codes: 0 done; 1 a bug (the traceback; a trial's own failures, ``search.failures``, do not
stop the search), a worker that failed, or a study that ended with no completed trial; 2 bad
input (a study key or flag, the data set, the storage URL), one line; 130 interrupted (finished
trials are kept: run the same command to resume).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from search import cli
from search.components import ENGINES
from trainer.objectives import OBJECTIVES
from trainer.startup import import_backend

if TYPE_CHECKING:
    from search.study_run import StudyResult


def build_parser() -> cli.StudyParser:
    parser = cli.StudyParser(
        "python -m search.run",
        "Search the CNN space on Fashion-MNIST; retrain, test, export and register the best.",
    )
    search = parser.add_argument_group("the search")
    retrain = parser.add_argument_group("the retrain of the chosen trial")
    vertex = parser.add_argument_group("Vertex AI Experiments (--tracking vertex)")
    parser.study_flag(
        "--trials", group=search, type=int, help="trials the study should hold when done"
    )
    parser.study_flag(
        "--algorithm",
        group=search,
        help="; ".join(f"{name}: {', '.join(e.algorithms)}" for name, e in ENGINES.items()),
    )
    pruners = {name: e.pruners for name, e in ENGINES.items() if e.pruners}
    parser.study_flag(
        "--pruner",
        group=search,
        help="; ".join(f"{name}: {', '.join(names)}" for name, names in pruners.items()),
    )
    parser.study_flag("--epochs", group=search, type=int, help="the most epochs of one trial")
    parser.study_flag("--subset", group=search, type=int, help="training images per trial")
    parser.study_flag("--validation-size", group=search, type=int, help="validation images")
    parser.study_flag(
        "--retrain-epochs", group=retrain, type=int, help="the most epochs of the retrain"
    )
    parser.study_flag(
        "--retrain-subset", group=retrain, type=int, help="training images for the retrain"
    )
    parser.study_flag(
        "--seed", group=search, type=int, help="seeds the split, the weights and the sampler"
    )
    parser.study_flag("--data-dir", group=search, help="Fashion-MNIST folder, local or gs://")
    parser.study_flag("--project", group=vertex, help="Google Cloud project (tracking vertex)")
    parser.study_flag("--location", group=vertex, help="Google Cloud region (tracking vertex)")
    parser.study_flag(
        "--experiment", group=vertex, help="Experiments experiment (default: the study)"
    )
    parser.study_flag(
        "--tensorboard", group=vertex, help="the experiment's TensorBoard, for per-epoch metrics"
    )
    parser.study_flag(
        "--budget",
        group=search,
        help="wall time of the whole command, such as 60m or 1h30m: trials stop in time for "
        "the retrain to fit",
    )
    parser.study_flag(
        "--enqueue-from",
        group=search,
        metavar="STUDY",
        help="try another study's best trials first",
    )
    parser.study_flag(
        "--tta",
        group=retrain,
        action=argparse.BooleanOptionalAction,
        help="flip test-time augmentation for the retrained model's evaluation and export",
    )
    parser.study_flag(
        "--retrain-seeds",
        group=retrain,
        type=int,
        help="retrain the best with this many seeds; report mean and std (export the first)",
    )
    parser.study_flag(
        "--workers",
        group=search,
        metavar="N",
        help="trial processes on this machine sharing the study: a number, or auto (on a GPU "
        "one per 2 CPU cores, on a CPU 1)",
    )
    parser.study_flag(
        "--objectives",
        group=search,
        metavar="A,B",
        help=f"what to optimise, the primary first: {', '.join(OBJECTIVES)} (default val_accuracy)",
    )
    parser.study_flag(
        "--constraint",
        group=search,
        dest="constraints",
        action="append",
        metavar="NAME<=N",
        help="a bound on an objective's metric, such as parameters<=300000 (repeatable)",
    )
    parser.study_flag(
        "--choose",
        group=retrain,
        metavar="RULE",
        help="the trial to retrain: best (the primary objective among feasible trials), knee, "
        "or a constraint such as latency_ms<=2",
    )
    parser.study_flag(
        "--precision",
        group=search,
        help="training precision: auto (mixed_bfloat16 on CPUs with AMX-BF16 and GPUs of "
        "compute capability 8.0+, else float32), float32, mixed_bfloat16, mixed_float16",
    )
    parser.study_flag(
        "--ensemble",
        group=retrain,
        type=int,
        metavar="N",
        help="retrain up to N members (close configurations, then more seeds) and export "
        "their mean, as many as the budget left holds; 1: one model",
    )
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
