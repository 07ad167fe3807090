"""What the search commands share: study flags, logging, signals, one-line errors."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from search.study_config import DEFAULT_STUDY, STUDIES_DIR, StudyConfig, load_study
from trainer.cli_types import OneLineParser
from trainer.errors import UserError


def study_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = OneLineParser(prog=prog, description=description)
    parser.add_argument("--study", default=DEFAULT_STUDY, help="studies/NAME.yaml (%(default)s)")
    parser.add_argument(
        "--studies-dir", type=Path, default=STUDIES_DIR, help="where study files live (%(default)s)"
    )
    parser.add_argument("--tracking", help="mlflow, vertex or none")
    parser.add_argument("--engine", help="optuna or keras-tuner")
    parser.add_argument("--storage", help="the engine's SQLAlchemy storage URL (Optuna)")
    parser.add_argument("--tracking-uri", help="MLflow's store (default: the study folder)")
    return parser


def load(args: argparse.Namespace, keys: tuple[str, ...]) -> StudyConfig:
    overrides = {key: getattr(args, key) for key in keys}
    return load_study(args.study, overrides, studies_dir=args.studies_dir)


def setup() -> None:
    """Logging for people and container logs; SIGTERM (a preempted machine) acts as Ctrl-C."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "mlflow", "absl", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def run_main(body: Callable[[], Any], interrupted: str) -> int:
    """Runs ``body`` and maps its errors to exit codes: bad input (any ``UserError``) 2, one
    line; Ctrl-C 130. Anything else is a bug and keeps its traceback."""
    try:
        body()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    return 0
