"""The search space as a Vertex AI HyperparameterTuningJob running the project's container.

``build_tuning_job`` makes the SDK's job object without touching the network, so
``--dry-run`` prints exactly the resource that ``submit`` sends, in the API's own JSON form
(``google.cloud.aiplatform_v1.types.HyperparameterTuningJob.from_json`` reads it back).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from search.study_config import StudyConfig, StudyError
from search.vertex.spec import fixed_args, parameter_specs
from trainer import interrupts
from trainer.errors import CloudError

logger = logging.getLogger(__name__)

ALGORITHMS = {"bayesian": None, "grid": "grid", "random": "random"}
DEFAULT_MACHINE_TYPE = "n1-highmem-2"
DRY_RUN_PROJECT = "your-project"


@dataclass(frozen=True)
class TuningJobSettings:
    """Where and how the tuning job runs (the study gives the space and the run settings)."""

    image_uri: str
    base_output_dir: str
    project: str = DRY_RUN_PROJECT
    location: str = "us-central1"
    trials: int = 30
    parallel_trials: int = 3
    max_failed_trials: int = 5
    algorithm: str = "bayesian"
    machine_type: str = DEFAULT_MACHINE_TYPE
    accelerator_type: str | None = None
    accelerator_count: int = 0
    service_account: str | None = None
    display_name: str = ""

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise StudyError(
                f"--algorithm must be one of {', '.join(ALGORITHMS)}, but got {self.algorithm!r}."
            )
        if not self.base_output_dir.startswith("gs://"):
            raise StudyError(
                f"--base-output-dir must be a gs:// path, but got {self.base_output_dir!r}."
            )
        for key in ("trials", "parallel_trials"):
            if getattr(self, key) < 1:
                raise StudyError(f"{key} must be at least 1, but got {getattr(self, key)}.")
        if self.parallel_trials > self.trials:
            raise StudyError(
                f"parallel_trials ({self.parallel_trials}) cannot exceed trials ({self.trials})."
            )


def container_args(config: StudyConfig) -> list[str]:
    """The run settings every trial gets, before Vertex appends ``--<param>=<value>``."""
    args = [
        f"--epochs={config.epochs}",
        f"--validation-size={config.validation_size}",
        f"--seed={config.seed}",
        "--hypertune",
    ]
    if config.objectives != ("val_accuracy",):
        args.append(f"--objectives={','.join(config.objectives)}")
    if config.precision != "auto":
        args.append(f"--precision={config.precision}")
    if config.subset:
        args.append(f"--subset={config.subset}")
    if config.data_dir:
        args.append(f"--data-dir={config.data_dir}")
    if config.vertex.experiment:
        args.append(f"--experiment={config.vertex.experiment}")
    return [*args, *fixed_args(config.search_space())]


def worker_pool_specs(settings: TuningJobSettings, args: list[str]) -> list[dict[str, Any]]:
    machine: dict[str, Any] = {"machine_type": settings.machine_type}
    if settings.accelerator_type:
        machine["accelerator_type"] = settings.accelerator_type
        machine["accelerator_count"] = max(settings.accelerator_count, 1)
    return [
        {
            "machine_spec": machine,
            "replica_count": 1,
            "container_spec": {"image_uri": settings.image_uri, "args": args},
        }
    ]


def build_tuning_job(
    config: StudyConfig, settings: TuningJobSettings, credentials: Any = None
) -> Any:
    """The SDK's ``HyperparameterTuningJob`` for the study's space; nothing is sent.

    Raises:
        StudyError: grid search over a continuous parameter.
    """
    from google.cloud import aiplatform
    from google.cloud.aiplatform import hyperparameter_tuning as hpt

    specs = parameter_specs(config.search_space())
    continuous = [k for k, v in specs.items() if isinstance(v, hpt.DoubleParameterSpec)]
    if settings.algorithm == "grid" and continuous:
        raise StudyError(
            f"grid search needs every parameter discrete, but {', '.join(continuous)} are "
            "continuous: narrow them in the study's space (value: ...) or use another algorithm."
        )

    display_name = settings.display_name or config.name
    custom_job = _custom_job(
        config, settings, f"{display_name}-trial", container_args(config), credentials
    )
    job = aiplatform.HyperparameterTuningJob(
        display_name=display_name,
        custom_job=custom_job,
        metric_spec={o.name: o.direction for o in config.objective_list()},
        parameter_spec=specs,
        max_trial_count=settings.trials,
        parallel_trial_count=settings.parallel_trials,
        max_failed_trial_count=settings.max_failed_trials,
        search_algorithm=ALGORITHMS[settings.algorithm],
        project=settings.project,
        location=settings.location,
        credentials=credentials,
        labels={"study": label(config.name)},
    )
    if settings.service_account:
        job._gca_resource.trial_job_spec.service_account = settings.service_account
    return job


def build_custom_job(
    config: StudyConfig,
    settings: TuningJobSettings,
    params: dict[str, Any],
    credentials: Any = None,
) -> Any:
    """One Vertex AI custom training job of the container for ``params`` (the seed's path):
    the study's run settings plus one ``--<name>=<value>`` per parameter; it exports to
    ``base_output_dir``'s ``model/`` folder. Nothing is sent."""

    point = config.search_space().validate(params)
    args = [a for a in container_args(config) if a != "--hypertune" and not _is_param(a, point)]
    args += [f"--{name}={value}" for name, value in point.items()]
    display_name = settings.display_name or f"{config.name}-retrain"
    return _custom_job(config, settings, display_name, args, credentials)


def _custom_job(
    config: StudyConfig,
    settings: TuningJobSettings,
    display_name: str,
    args: list[str],
    credentials: Any,
) -> Any:
    from google.cloud import aiplatform

    return aiplatform.CustomJob(
        display_name=display_name,
        worker_pool_specs=worker_pool_specs(settings, args),
        base_output_dir=settings.base_output_dir,
        staging_bucket="gs://" + settings.base_output_dir.removeprefix("gs://").split("/")[0],
        project=settings.project,
        location=settings.location,
        credentials=credentials,
        labels={"study": label(config.name)},
    )


def _is_param(arg: str, point: dict[str, Any]) -> bool:
    return arg.split("=", 1)[0].removeprefix("--") in point


def job_json(job: Any) -> str:
    """The job as the REST API's resource JSON (enums by name)."""
    resource = job._gca_resource
    return str(
        type(resource).to_json(
            resource, use_integers_for_enums=False, always_print_fields_with_no_presence=False
        )
    )


def submit(job: Any, service_account: str | None) -> tuple[str, str]:
    """Submits the job without waiting for it; returns its resource name and console link.

    Raises:
        CloudError: missing credentials, a quota or a permission the service refused; the
            message names the knobs to change.
    """
    try:
        job.run(service_account=service_account, sync=False)
        job.wait_for_resource_creation()
    except Exception as error:
        interrupts.raise_if_interrupt(error)
        raise explain_cloud_error(error) from error
    return str(job.resource_name), str(job._dashboard_uri())


def explain_cloud_error(error: BaseException) -> Exception:
    """One clear line for the service's usual refusals, with what to change."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    cause: BaseException | None = error
    while cause is not None:
        text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        if isinstance(cause, auth.DefaultCredentialsError):
            return CloudError(
                "No Google Cloud credentials: run `gcloud auth application-default login`, or "
                "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file."
            )
        if isinstance(cause, api.ResourceExhausted):
            return CloudError(
                f"Vertex AI refused the job for quota ({text}). Lower --parallel-trials, pick a "
                "smaller --machine-type, try another --location, or request more quota "
                "(such as custom_model_training_cpus) under IAM & Admin > Quotas."
            )
        if isinstance(cause, api.PermissionDenied | api.Forbidden | api.Unauthenticated):
            return CloudError(
                f"Vertex AI refused the job: permission denied ({text}). The caller needs "
                "roles/aiplatform.user; the --service-account needs the roles listed in "
                "docs/vertex.md, and the caller roles/iam.serviceAccountUser on it."
            )
        if isinstance(cause, api.GoogleAPICallError):
            return CloudError(f"Vertex AI refused the job: {text}")
        cause = cause.__cause__
    return error if isinstance(error, Exception) else RuntimeError(str(error))


def label(text: str) -> str:
    """A Vertex label value: lowercase ASCII letters, digits, ``-`` and ``_``, at most 63."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]
