"""What the search commands share: study flags, logging, signals, one-line errors."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from search import settings
from search.study_config import DEFAULT_STUDY, STUDIES_DIR, StudyConfig, load_study
from trainer import interrupts, startup
from trainer.cli_types import OneLineParser
from trainer.errors import UserError, fault


class StudyParser(OneLineParser):
    """A command's parser: ``--study``, ``--studies-dir``, and the study keys it lets a flag
    override, each declared once with ``study_flag`` (no default: the study file's value
    stands unless the flag is given). ``load`` reads the study with exactly those overrides."""

    def __init__(self, prog: str, description: str) -> None:
        super().__init__(prog=prog, description=description)
        self.study_keys: list[str] = []
        self._groups: dict[str, Any] = {}
        self.add_argument("--study", default=DEFAULT_STUDY, help="studies/NAME.yaml (%(default)s)")
        self.add_argument(
            "--studies-dir",
            type=Path,
            default=STUDIES_DIR,
            help="where study files live (%(default)s)",
        )
        loudness = self.add_mutually_exclusive_group()
        loudness.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="debug lines, and the backend's start-up notices",
        )
        loudness.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
        # Every command reads the study's results back through its engine and tracker.
        self.settings_flags("tracking", "engine", "storage", "tracking_uri")

    def settings_flags(self, *keys: str, **help_of: str) -> None:
        """Adds the flags of the study settings ``keys``, as each is declared (its help, type
        and group; ``search.settings``), with this command's own help where ``help_of`` names
        one."""
        declared = settings.by_flag_key(StudyConfig)
        for key in keys:
            found = declared[key]
            if found.flag is None:
                raise ValueError(f"study key {key} has no flag")
            title = settings.GROUPS[found.declared.group]
            if title not in self._groups:
                self._groups[title] = self.add_argument_group(title)
            self.study_flag(
                found.flag,
                group=self._groups[title],
                **settings.flag_options(found, help_of.get(key)),
            )

    def study_flag(self, *flags: str, group: Any = None, **kwargs: Any) -> None:
        """Adds a flag that overrides the study key of its name (``--retrain-epochs``:
        ``retrain_epochs``)."""
        if "default" in kwargs:
            raise TypeError("a study flag has no default: the study file's value stands")
        action = (group or self).add_argument(*flags, **kwargs)
        self.study_keys.append(action.dest)

    def load(self, args: argparse.Namespace) -> StudyConfig:
        """The study of ``--study``, overridden by the study flags given."""
        overrides = {key: getattr(args, key) for key in self.study_keys}
        return load_study(args.study, overrides, studies_dir=args.studies_dir)


def setup(args: argparse.Namespace | None = None) -> None:
    """Logging for people and container logs (``-q``: warnings only; ``-v``: the project's
    debug lines and the backend's start-up notices); SIGTERM (a preempted machine) acts as
    Ctrl-C."""
    verbose = bool(getattr(args, "verbose", False))
    quiet = bool(getattr(args, "quiet", False))
    if verbose:
        os.environ[startup.NOTICES_ENV] = "1"
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Set apart from basicConfig, which does nothing where the root logger has a handler.
    logging.getLogger().setLevel(logging.WARNING if quiet else logging.INFO)
    if verbose:
        for own in ("search", "trainer", "model_space"):
            logging.getLogger(own).setLevel(logging.DEBUG)
    for noisy in ("alembic", "mlflow", "absl", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    interrupts.install()


def run_command(
    parser: StudyParser,
    argv: Sequence[str] | None,
    body: Callable[[StudyConfig, argparse.Namespace], Any],
    interrupted: str = "interrupted",
) -> int:
    """Parses ``argv``, sets up logging and signals, loads the study, runs ``body(config,
    args)``; returns the exit code (see ``run_main``)."""
    args = parser.parse_args(argv)
    setup(args)
    return run_main(lambda: body(parser.load(args), args), interrupted)


def run_main(body: Callable[[], Any], interrupted: str) -> int:
    """Runs ``body`` and maps its errors to exit codes: bad input (any ``UserError``) and a
    fault of the machine (a full disk, a locked store) 2, one line; Ctrl-C 130. Anything else
    is a bug and keeps its traceback."""
    try:
        body()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except BaseException as error:  # an interrupt may arrive as another error
        if interrupts.as_interrupt(error) is None:
            found = fault(error)
            if found is None:
                raise
            print(f"error: {found}", file=sys.stderr)
            return found.exit_code
        interrupts.handled()
        print(interrupted, file=sys.stderr)
        return 130
    return 0


def add_vertex_flags(parser: StudyParser) -> None:
    """The study keys that find a Vertex AI experiment (``tracking vertex``)."""
    parser.settings_flags("project", "location", "experiment")
