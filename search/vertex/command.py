"""``python -m search.vertex``: the study's space as a Vertex AI hyperparameter tuning job.

Each trial runs the project's container (``python -m trainer.train``) with the study's run
settings and Vertex's ``--<param>=<value>``, exports to its own ``AIP_MODEL_DIR`` under
``--base-output-dir`` and reports ``val_accuracy`` through cloudml-hypertune.
``--dry-run`` prints the job in the API's JSON form and needs no credentials.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from search import cli
from search.study_config import StudyConfig, StudyError
from trainer.errors import CloudError


def build_parser() -> cli.StudyParser:
    from search.vertex.job import ALGORITHMS, DEFAULT_MACHINE_TYPE

    parser = cli.StudyParser(
        "python -m search.vertex", "Submit the study's space as a Vertex AI tuning job."
    )
    parser.add_argument("--image", help="the training container's image URI")
    parser.add_argument("--base-output-dir", help="gs:// folder for the trials")
    parser.settings_flags(
        "project", "location", "trials", trials="max_trial_count (default: the study's trials)"
    )
    parser.add_argument("--parallel-trials", type=int, default=3, help="(%(default)s)")
    parser.add_argument("--max-failed-trials", type=int, default=5, help="(%(default)s)")
    parser.add_argument("--algorithm", default="bayesian", choices=sorted(ALGORITHMS))
    parser.add_argument("--machine-type", default=DEFAULT_MACHINE_TYPE, help="(%(default)s)")
    parser.add_argument("--accelerator-type", help="such as NVIDIA_TESLA_T4")
    parser.add_argument("--accelerator-count", type=int, default=0)
    parser.add_argument("--service-account", help="the service account the trials run as")
    parser.add_argument("--display-name", default="", help="(default: the study's name)")
    parser.settings_flags(
        "epochs",
        "subset",
        "validation_size",
        "seed",
        "data_dir",
        "experiment",
        "objectives",
        data_dir="Fashion-MNIST in Cloud Storage (gs://...), if not baked in",
        experiment="each trial logs a run of this Vertex AI Experiments experiment",
        objectives="the job's metrics, the primary first, each reported by the trainer "
        "(default: the study's, val_accuracy)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the job spec, send nothing")
    custom = parser.add_argument_group("one custom training job (instead of a tuning job)")
    custom.add_argument(
        "--custom-job", action="store_true", help="train one configuration: the study's best trial"
    )
    custom.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the custom job, overriding the best trial's (repeatable)",
    )
    parser.add_argument(
        "--fetch", metavar="JOB", help="bring a tuning job's trials into the study's compare table"
    )
    registry = parser.add_argument_group("the Model Registry (instead of a tuning job)")
    registry.add_argument("--register", metavar="GS_MODEL_DIR", help="register this exported model")
    registry.add_argument("--run-name", default="", help="the Experiments run that made it")
    registry.add_argument("--parent-model", help="add the version under this registered model")
    registry.add_argument(
        "--serving-image",
        help="the prediction container (default: Vertex AI's prebuilt TensorFlow CPU image)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_command(build_parser(), argv, _body)


def _body(config: StudyConfig, args: argparse.Namespace) -> None:
    from search.vertex.job import (
        DRY_RUN_PROJECT,
        TuningJobSettings,
        build_custom_job,
        build_tuning_job,
        job_json,
        submit,
    )

    project = config.vertex.project_or_environment()
    if not project and not args.dry_run:
        raise CloudError("No Google Cloud project: pass --project or set GOOGLE_CLOUD_PROJECT.")
    if args.register:
        _register(args, config, project or "")
        return
    if args.fetch:
        _fetch(args, config, project or "")
        return
    if not args.image or not args.base_output_dir:
        raise StudyError("A Vertex AI job needs --image and --base-output-dir gs://...")
    settings = TuningJobSettings(
        image_uri=args.image,
        base_output_dir=args.base_output_dir,
        project=project or DRY_RUN_PROJECT,
        location=config.vertex.location,
        trials=config.trials,
        parallel_trials=args.parallel_trials,
        max_failed_trials=args.max_failed_trials,
        algorithm=args.algorithm,
        machine_type=args.machine_type,
        accelerator_type=args.accelerator_type,
        accelerator_count=args.accelerator_count,
        service_account=args.service_account,
        display_name=args.display_name,
    )
    credentials = None
    if args.dry_run:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    if args.custom_job:
        job = build_custom_job(config, settings, _custom_params(args, config), credentials)
    else:
        job = build_tuning_job(config, settings, credentials)
    if args.dry_run:
        print(job_json(job))
        return
    name, link = submit(job, settings.service_account)
    print(f"submitted {name}\n{link}")


def _custom_params(args: argparse.Namespace, config: StudyConfig) -> dict[str, Any]:
    """The study's best trial (when it has one), overridden by ``--param NAME=VALUE``."""
    from search.engines import open_engine
    from trainer.cli_types import flag_type

    best = open_engine(config, create=False).best()
    params: dict[str, Any] = dict(best.params) if best else {}
    space = config.search_space()
    for item in args.param:
        name, _, text = item.partition("=")
        if name not in space.names:
            raise StudyError(
                f"--param {item!r}: no parameter {name!r}; the space has {', '.join(space.names)}."
            )
        try:
            params[name] = flag_type(space[name])(text)
        except argparse.ArgumentTypeError as error:
            raise StudyError(f"--param {item!r}: {error}") from error
    return params


def _fetch(args: argparse.Namespace, config: StudyConfig, project: str) -> None:
    from search.dashboard.page import write_dashboard
    from search.results.records import read_study
    from search.results.table import format_table, study_table, write_table
    from search.vertex.fetch import fetch

    path = fetch(config, args.fetch, project=project, location=config.vertex.location)
    records = read_study(config)
    table = study_table(config, records)
    write_table(config, table)
    print(format_table(table, 10))
    print(f"trials written to {path}; dashboard: {write_dashboard(config, records)}")


def _register(args: argparse.Namespace, config: StudyConfig, project: str) -> None:
    from search.vertex.registry import Registration, register

    name, version = register(
        Registration(
            artifact_uri=args.register,
            study=config.name,
            run_name=args.run_name,
            project=project,
            location=config.vertex.location,
            parent_model=args.parent_model,
            display_name=args.display_name,
            **({"serving_image": args.serving_image} if args.serving_image else {}),
        )
    )
    print(f"registered {name} version {version}")
