"""The Vertex AI tuning job, tested at the SDK's gapic boundary as the SDK tests itself:
anonymous credentials, the JobServiceClient's methods patched, assertions on the request
protos the SDK built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google.auth
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.aiplatform_v1.services.job_service import JobServiceClient
from google.cloud.aiplatform_v1.types import HyperparameterTuningJob, JobState, StudySpec

from model_space import CNN_SPACE
from search import vertex

REPO = Path(__file__).resolve().parents[2]
IMAGE = "us-central1-docker.pkg.dev/test-project/trainers/fashion-mnist:1.0"
JOB_NAME = "projects/test-project/locations/us-central1/hyperparameterTuningJobs/4242"
BASE = [
    "--studies-dir",
    str(REPO / "studies"),
    "--study",
    "fashion-mnist-cnn-vertex",
    "--image",
    IMAGE,
    "--base-output-dir",
    "gs://test-bucket/tuning",
]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Patches credentials and the gapic client; collects every create request."""
    requests: list[dict[str, Any]] = []
    monkeypatch.setattr(
        google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "test-project")
    )

    def create(self, request=None, *, parent=None, hyperparameter_tuning_job=None, **kwargs):  # type: ignore[no-untyped-def]
        requests.append({"parent": parent, "job": hyperparameter_tuning_job})
        created = HyperparameterTuningJob(hyperparameter_tuning_job)
        created.name = JOB_NAME
        created.state = JobState.JOB_STATE_PENDING
        return created

    def get(self, request=None, *, name=None, **kwargs):  # type: ignore[no-untyped-def]
        job = HyperparameterTuningJob(requests[-1]["job"])
        job.name, job.state = name, JobState.JOB_STATE_SUCCEEDED
        return job

    monkeypatch.setattr(JobServiceClient, "create_hyperparameter_tuning_job", create)
    monkeypatch.setattr(JobServiceClient, "get_hyperparameter_tuning_job", get)
    return requests


def test_submitted_job_matches_the_space(sent, capsys: pytest.CaptureFixture[str]) -> None:
    code = vertex.main(
        [
            *BASE,
            "--project",
            "test-project",
            "--trials",
            "12",
            "--parallel-trials",
            "4",
            "--service-account",
            "trainer@test-project.iam.gserviceaccount.com",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert JOB_NAME in capsys.readouterr().out
    (request,) = sent
    assert request["parent"] == "projects/test-project/locations/us-central1"
    job: HyperparameterTuningJob = request["job"]
    assert (job.max_trial_count, job.parallel_trial_count, job.max_failed_trial_count) == (12, 4, 5)
    assert [(m.metric_id, m.goal) for m in job.study_spec.metrics] == [
        ("val_accuracy", StudySpec.MetricSpec.GoalType.MAXIMIZE)
    ]
    assert job.study_spec.algorithm == StudySpec.Algorithm.ALGORITHM_UNSPECIFIED  # Bayesian
    specs = {p.parameter_id: p for p in job.study_spec.parameters}
    assert list(specs) == list(CNN_SPACE.names)
    assert list(specs["filters"].categorical_value_spec.values) == [
        "16-32-64",
        "32-64-128",
        "64-128-256",
    ]
    assert (
        specs["convs_per_block"].integer_value_spec.min_value,
        specs["convs_per_block"].integer_value_spec.max_value,
    ) == (1, 2)
    assert list(specs["units"].discrete_value_spec.values) == [128.0 * k for k in range(1, 9)]
    assert list(specs["batch_size"].discrete_value_spec.values) == [32.0, 64.0, 128.0, 256.0]
    rate = specs["learning_rate"]
    assert (rate.double_value_spec.min_value, rate.double_value_spec.max_value) == (1e-4, 1e-2)
    assert rate.scale_type == StudySpec.ParameterSpec.ScaleType.UNIT_LOG_SCALE
    assert specs["conv_dropout"].scale_type == StudySpec.ParameterSpec.ScaleType.UNIT_LINEAR_SCALE
    (pool,) = job.trial_job_spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "n1-highmem-2" and pool.replica_count == 1
    assert pool.container_spec.image_uri == IMAGE
    assert list(pool.container_spec.args) == [
        "--epochs=20",
        "--validation-size=10000",
        "--seed=42",
        "--hypertune",
    ]
    assert job.trial_job_spec.base_output_directory.output_uri_prefix == "gs://test-bucket/tuning"
    assert job.trial_job_spec.service_account == "trainer@test-project.iam.gserviceaccount.com"
    assert job.labels["study"] == "fashion-mnist-cnn-vertex"


def test_trial_args_are_accepted_by_the_trainer(sent) -> None:
    """The args every trial gets, plus one value per spec, parse as the trainer's flags."""
    from trainer.train import build_parser

    assert vertex.main([*BASE, "--project", "test-project", "--experiment", "fashion-tuning"]) == 0
    job = sent[0]["job"]
    args = list(job.trial_job_spec.worker_pool_specs[0].container_spec.args)
    for spec in job.study_spec.parameters:
        if spec.categorical_value_spec.values:
            value: Any = spec.categorical_value_spec.values[-1]
        elif spec.discrete_value_spec.values:
            value = spec.discrete_value_spec.values[-1]
        elif spec.integer_value_spec.max_value:
            value = spec.integer_value_spec.max_value
        else:
            value = spec.double_value_spec.max_value
        args.append(f"--{spec.parameter_id}={value}")
    parsed = build_parser().parse_args(args)
    assert parsed.units == 1024 and parsed.batch_size == 256 and parsed.filters == "64-128-256"
    assert parsed.hypertune and parsed.epochs == 20
    assert parsed.experiment == "fashion-tuning"


def test_dry_run_prints_the_api_resource_without_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_credentials(*args: Any, **kwargs: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError("no credentials here")

    monkeypatch.setattr(google.auth, "default", no_credentials)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    assert vertex.main([*BASE, "--dry-run", "--algorithm", "random"]) == 0
    out = capsys.readouterr().out
    job = HyperparameterTuningJob.from_json(out)
    assert job.study_spec.algorithm == StudySpec.Algorithm.RANDOM_SEARCH
    assert json.loads(out)["studySpec"]["parameters"][5]["scaleType"] == "UNIT_LOG_SCALE"
    assert job.trial_job_spec.worker_pool_specs[0].container_spec.image_uri == IMAGE


def test_quota_refusal_is_one_line(sent, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    def refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise exceptions.ResourceExhausted(
            "Quota exceeded for aiplatform.googleapis.com/custom_model_training_cpus"
        )

    monkeypatch.setattr(JobServiceClient, "create_hyperparameter_tuning_job", refuse)
    assert vertex.main([*BASE, "--project", "test-project"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "quota" in errors[0] and "--parallel-trials" in errors[0]
    assert "custom_model_training_cpus" in errors[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "No Google Cloud project"),
        (["--dry-run", "--algorithm", "grid"], "grid search needs every parameter discrete"),
        (["--dry-run", "--parallel-trials", "40"], "cannot exceed trials"),
    ],
)
def test_bad_input_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    assert vertex.main([*BASE, *argv]) == 2
    assert message in capsys.readouterr().err


def test_model_registry_upload(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from types import SimpleNamespace

    from google.cloud.aiplatform_v1.services.model_service import ModelServiceClient
    from google.cloud.aiplatform_v1.types import Model, UploadModelResponse

    model_name = "projects/test-project/locations/us-central1/models/99"
    uploads: list[Any] = []
    monkeypatch.setattr(
        google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "test-project")
    )

    def upload_model(self, request=None, **kwargs):  # type: ignore[no-untyped-def]
        uploads.append(request)
        response = UploadModelResponse(model=model_name, model_version_id="2")
        return SimpleNamespace(
            operation=SimpleNamespace(name=f"{model_name}/operations/1"),
            result=lambda timeout=None: response,
        )

    def get_model(self, request=None, *, name=None, **kwargs):  # type: ignore[no-untyped-def]
        return Model(name=model_name, version_id="2", display_name="fashion-mnist-cnn")

    monkeypatch.setattr(ModelServiceClient, "upload_model", upload_model)
    monkeypatch.setattr(ModelServiceClient, "get_model", get_model)
    code = vertex.main(
        [
            "--studies-dir",
            str(REPO / "studies"),
            "--project",
            "test-project",
            "--register",
            "gs://test-bucket/tuning/7/model",
            "--parent-model",
            model_name,
            "--run-name",
            "custom-cnn-32-64-128-512-0p25-0p5-20250430123456-best",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert f"registered {model_name} version 2" in capsys.readouterr().out
    (request,) = uploads
    assert request.parent == "projects/test-project/locations/us-central1"
    assert request.parent_model == model_name
    assert request.model.artifact_uri == "gs://test-bucket/tuning/7/model"
    assert request.model.container_spec.image_uri.startswith(
        "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu."
    )
    assert {"best", "fashion-mnist-cnn"} <= set(request.model.version_aliases)
    assert dict(request.model.labels) == {
        "study": "fashion-mnist-cnn",
        "experiment_run": "custom-cnn-32-64-128-512-0p25-0p5-20250430123456-best",
    }


def test_registry_needs_a_cloud_path(capsys: pytest.CaptureFixture[str]) -> None:
    code = vertex.main(
        [
            "--studies-dir",
            str(REPO / "studies"),
            "--project",
            "p",
            "--register",
            "studies/fashion-mnist-cnn/best",
        ]
    )
    assert code == 2
    assert "gs:// folder" in capsys.readouterr().err


def test_custom_job_trains_one_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from google.cloud.aiplatform_v1.types import CustomJob

    sent_jobs: list[Any] = []
    monkeypatch.setattr(
        google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "test-project")
    )

    def create(self, request=None, *, parent=None, custom_job=None, **kwargs):  # type: ignore[no-untyped-def]
        sent_jobs.append(custom_job)
        created = CustomJob(custom_job)
        created.name = "projects/test-project/locations/us-central1/customJobs/77"
        created.state = JobState.JOB_STATE_PENDING
        return created

    def get(self, request=None, *, name=None, **kwargs):  # type: ignore[no-untyped-def]
        job = CustomJob(sent_jobs[-1])
        job.name, job.state = name, JobState.JOB_STATE_SUCCEEDED
        return job

    monkeypatch.setattr(JobServiceClient, "create_custom_job", create)
    monkeypatch.setattr(JobServiceClient, "get_custom_job", get)
    code = vertex.main(
        [
            *BASE,
            "--project",
            "test-project",
            "--custom-job",
            "--param",
            "units=256",
            "--param",
            "filters=64-128-256",
        ]
    )
    assert code == 0, capsys.readouterr().err
    (job,) = sent_jobs
    args = list(job.job_spec.worker_pool_specs[0].container_spec.args)
    assert "--units=256" in args and "--filters=64-128-256" in args
    assert "--hypertune" not in args and "--epochs=20" in args
    assert job.job_spec.base_output_directory.output_uri_prefix == "gs://test-bucket/tuning"

    assert vertex.main([*BASE, "--dry-run", "--custom-job", "--param", "units=100"]) == 2
    assert "units must be between 128 and 1024" in capsys.readouterr().err


def test_fetched_trials_feed_compare_and_dashboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime

    from google.cloud.aiplatform_v1.types import Measurement, Trial

    from search.results.records import load_records
    from search.results.table import study_table
    from search.study_config import load_study

    def trial(number: int, state: Any, units: float, accuracy: float) -> Trial:
        started = datetime.datetime(2026, 11, 26, 8, 0, tzinfo=datetime.UTC)
        return Trial(
            id=str(number),
            state=state,
            parameters=[
                Trial.Parameter(parameter_id="units", value=units),
                Trial.Parameter(parameter_id="filters", value="32-64-128"),
                Trial.Parameter(parameter_id="learning_rate", value=0.001),
            ],
            final_measurement=Measurement(
                metrics=[Measurement.Metric(metric_id="val_accuracy", value=accuracy)]
            ),
            measurements=[
                Measurement(
                    step_count=step,
                    metrics=[
                        Measurement.Metric(metric_id="val_accuracy", value=accuracy - 0.1 / step)
                    ],
                )
                for step in (1, 2)
            ],
            start_time=started,
            end_time=started + datetime.timedelta(seconds=90 + number),
        )

    monkeypatch.setattr(
        google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "test-project")
    )

    def get(self, request=None, *, name=None, **kwargs):  # type: ignore[no-untyped-def]
        return HyperparameterTuningJob(
            name=JOB_NAME,
            display_name="tiny",
            state=JobState.JOB_STATE_SUCCEEDED,
            trials=[
                trial(1, Trial.State.SUCCEEDED, 256.0, 0.91),
                trial(2, Trial.State.INFEASIBLE, 512.0, 0.0),
                trial(3, Trial.State.SUCCEEDED, 1024.0, 0.93),
            ],
        )

    monkeypatch.setattr(JobServiceClient, "get_hyperparameter_tuning_job", get)
    studies = tmp_path / "studies"
    studies.mkdir()
    (studies / "cloud.yaml").write_text("tracking: none\n")
    code = vertex.main(
        [
            "--studies-dir",
            str(studies),
            "--study",
            "cloud",
            "--project",
            "test-project",
            "--fetch",
            JOB_NAME,
        ]
    )
    assert code == 0, capsys.readouterr().err
    config = load_study("cloud", studies_dir=studies)
    records = load_records(config)
    assert [(r.key, r.state, r.params["units"]) for r in records] == [
        ("vertex-1", "complete", 256),
        ("vertex-2", "failed", 512),
        ("vertex-3", "complete", 1024),
    ]
    assert records[0].curve == pytest.approx((0.81, 0.86)) and records[0].seconds == 91
    table = study_table(config)
    assert list(table["run_name"])[:2] == ["vertex-3", "vertex-1"]
    page = (config.output_dir / "dashboard.html").read_text()
    assert "3 trials (2 complete, 1 failed)" in page


def test_a_job_of_two_objectives_has_a_metric_each(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dry run's spec parses as the API's HyperparameterTuningJob with both metrics, and
    each trial's container is told to measure and report both."""
    from trainer.train import build_parser

    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    assert vertex.main([*BASE, "--dry-run", "--objectives", "val_accuracy,latency_ms"]) == 0
    job = HyperparameterTuningJob.from_json(capsys.readouterr().out)
    metrics = {m.metric_id: m.goal for m in job.study_spec.metrics}
    goal = StudySpec.MetricSpec.GoalType
    assert metrics == {"val_accuracy": goal.MAXIMIZE, "latency_ms": goal.MINIMIZE}
    args = list(job.trial_job_spec.worker_pool_specs[0].container_spec.args)
    assert "--objectives=val_accuracy,latency_ms" in args
    assert build_parser().parse_args(args).objectives == ("val_accuracy", "latency_ms")


def test_fetched_trials_bring_every_objective_back(tmp_path: Path) -> None:
    """Each reported metric comes back as the trial's values, so the same front is read."""
    from google.cloud.aiplatform_v1.types import Measurement, Trial

    from search.front import pareto
    from search.results.records import fetched_records
    from search.study_config import load_study
    from search.vertex.fetch import FETCHED_FILE, trial_record

    def trial(number: int, accuracy: float, latency: float) -> Trial:
        return Trial(
            id=str(number),
            state=Trial.State.SUCCEEDED,
            parameters=[Trial.Parameter(parameter_id="units", value=256.0)],
            final_measurement=Measurement(
                metrics=[
                    Measurement.Metric(metric_id="latency_ms", value=latency),
                    Measurement.Metric(metric_id="val_accuracy", value=accuracy),
                ]
            ),
        )

    studies = tmp_path / "studies"
    studies.mkdir()
    (studies / "cloud.yaml").write_text(
        "tracking: none\nobjectives: [val_accuracy, latency_ms]\nconstraints: [latency_ms<=3]\n"
    )
    config = load_study("cloud", studies_dir=studies)
    rows = [trial_record(t, "val_accuracy") for t in (trial(1, 0.9, 2.0), trial(2, 0.8, 1.0))]
    rows.append(trial_record(trial(3, 0.95, 4.0), "val_accuracy"))
    config.output_dir.mkdir()
    (config.output_dir / FETCHED_FILE).write_text(json.dumps({"job": JOB_NAME, "trials": rows}))
    records = fetched_records(config)
    assert records[0].value == 0.9 and records[0].values == {"val_accuracy": 0.9, "latency_ms": 2.0}
    assert [r.feasible for r in records] == [True, True, False]
    assert [r.key for r in pareto(records, config.objective_list())] == ["vertex-1", "vertex-2"]
