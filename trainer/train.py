"""``python -m trainer.train``: one training job, the container's entrypoint.

Exit codes: 0 done; 1 training diverged (NaN loss); 2 bad input (a flag, the data set, the
model directory), reported as one line; 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from model_space import CNN_SPACE
from trainer.cli_types import OneLineParser, add_space_flags, parse_int
from trainer.errors import TrainingDiverged, UserError
from trainer.objectives import OBJECTIVES
from trainer.precision import PRECISIONS
from trainer.settings import DEFAULT_EPOCHS, DEFAULT_SEED, DEFAULT_VALIDATION_SIZE, RunSettings
from trainer.startup import import_backend


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m trainer.train",
        description="Train one CNN on Fashion-MNIST, evaluate it on the test set and export it.",
    )
    add_space_flags(parser)
    run = parser.add_argument_group("run settings")
    run.add_argument("--epochs", type=_positive_int, default=DEFAULT_EPOCHS, help="most epochs")
    run.add_argument("--data-dir", "--data_dir", help="Fashion-MNIST folder, local or gs://")
    run.add_argument(
        "--model-dir",
        "--model_dir",
        help="export folder, local or gs:// (default $AIP_MODEL_DIR, else models/<run name>)",
    )
    run.add_argument("--subset", type=_positive_int, help="train on a stratified subset")
    run.add_argument(
        "--validation-size",
        "--validation_size",
        type=_positive_int,
        default=DEFAULT_VALIDATION_SIZE,
        help="images split off the training set for validation",
    )
    run.add_argument("--seed", type=_positive_int, default=DEFAULT_SEED, help="random seed")
    run.add_argument(
        "--hypertune",
        action="store_true",
        help="report val_accuracy to Vertex AI tuning (automatic when $CLOUD_ML_TRIAL_ID is set)",
    )
    run.add_argument(
        "--experiment", help="log the job as a run of this Vertex AI Experiments experiment"
    )
    run.add_argument(
        "--checkpoint-dir",
        "--checkpoint_dir",
        help="save the fit's state each epoch here, local or gs:// (default $AIP_CHECKPOINT_DIR "
        "when set); the same command after an interruption continues after the last epoch",
    )
    run.add_argument(
        "--objectives",
        type=_names,
        default=("val_accuracy",),
        metavar="A,B",
        help="objectives measured on the export, written to its metadata and reported to "
        f"hypertune, the primary first ({', '.join(OBJECTIVES)}; default val_accuracy)",
    )
    run.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="training precision: auto takes mixed_bfloat16 on CPUs with AMX-BF16 and GPUs of "
        "compute capability 8.0+, float32 elsewhere; the export serves in float32",
    )
    run.add_argument(
        "--tta",
        action="store_true",
        help="flip test-time augmentation: evaluate and export the mean of the predictions on "
        "the image and its mirror",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = _settings(args)  # bad input fails here, before the backend loads
        params = CNN_SPACE.validate({name: getattr(args, name) for name in CNN_SPACE.names})
        import_backend()
        from trainer.job import train_job

        result = train_job(params, settings)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was exported", file=sys.stderr)
        return 130
    low, high = result.test.accuracy_interval()
    print(
        f"{result.run_name}: validation accuracy {result.validation.accuracy:.4f}, "
        f"test accuracy {result.test.accuracy:.4f} (95% interval {low:.4f}-{high:.4f}); "
        f"exported to {result.model_dir}"
    )
    return 0


def _settings(args: argparse.Namespace) -> RunSettings:
    return RunSettings(
        epochs=args.epochs,
        data_dir=args.data_dir,
        model_dir=args.model_dir,
        subset=args.subset,
        validation_size=args.validation_size,
        seed=args.seed,
        hypertune=args.hypertune,
        experiment=args.experiment,
        tta=args.tta,
        checkpoint_dir=args.checkpoint_dir,
        objectives=args.objectives,
        precision=args.precision,
    )


def _names(text: str) -> tuple[str, ...]:
    from trainer.objectives import objective

    names = tuple(part.strip() for part in text.split(",") if part.strip())
    try:
        for name in names:
            objective(name)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return names


def _positive_int(text: str) -> int:
    try:
        number = parse_int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, but got {text!r}.")
    return number


if __name__ == "__main__":
    sys.exit(main())
