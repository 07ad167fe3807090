"""Every run of a study side by side: the table ``aiplatform.get_experiment_df()`` gives.

Columns: ``run_name``, ``state``, ``param.<name>`` and ``metric.<name>`` (final values),
sorted by ``metric.val_accuracy``, best first. Read from the study's tracking store (MLflow),
or from the Optuna storage when the study tracks nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from search.study_config import StudyConfig, StudyError

OBJECTIVE_COLUMN = "metric.val_accuracy"
SUMMARY_METRICS = (
    "val_accuracy",
    "test_accuracy",
    "epochs_run",
    "trial_seconds",
    "parameter_count",
)
HIDDEN_PARAMS = ("param.seed", "param.engine", "param.algorithm", "param.subset", "param.epochs")


def study_table(config: StudyConfig) -> pd.DataFrame:
    fetched = _fetched_rows(config)
    if config.tracking == "mlflow" and not (fetched and not config.has_tracking_store):
        rows = _mlflow_rows(config)
    elif config.tracking == "vertex":
        rows = _vertex_rows(config)
    elif config.engine == "optuna" and (config.has_optuna_storage):
        rows = _optuna_rows(config)
    elif fetched:
        rows = []
    else:
        raise StudyError(
            f"study {config.name} has no runs to compare: run it with --tracking mlflow, or "
            "fetch a Vertex AI tuning job with python -m search.vertex --fetch JOB."
        )
    rows += fetched
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["run_name", "state", OBJECTIVE_COLUMN])
    if OBJECTIVE_COLUMN not in table:
        table[OBJECTIVE_COLUMN] = float("nan")
    ordered = ["run_name", "state"]
    ordered += sorted(c for c in table.columns if c.startswith("param."))
    ordered += sorted(c for c in table.columns if c.startswith("metric."))
    ordered += [c for c in table.columns if c not in ordered]
    table = table[ordered].sort_values(OBJECTIVE_COLUMN, ascending=False, na_position="last")
    return table.reset_index(drop=True)


def write_table(config: StudyConfig, table: pd.DataFrame) -> Path:
    path = config.output_dir / "compare.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def _mlflow_rows(config: StudyConfig) -> list[dict[str, Any]]:
    from mlflow import MlflowClient

    from search.tracking.mlflow_tracker import STATE_TAG

    if not config.has_tracking_store:
        database = config.output_dir / "mlflow.db"
        raise StudyError(f"study {config.name} has no runs yet ({database} does not exist).")
    client = MlflowClient(tracking_uri=config.mlflow_uri)
    experiment = client.get_experiment_by_name(config.name)
    if experiment is None:
        raise StudyError(f"study {config.name} has no experiment in {config.mlflow_uri}.")
    rows = []
    for run in client.search_runs([experiment.experiment_id], max_results=50_000):
        row: dict[str, Any] = {
            "run_name": run.info.run_name,
            "state": run.data.tags.get(STATE_TAG, run.info.status.lower()),
            "run_id": run.info.run_id,
        }
        row.update({f"param.{k}": _number(v) for k, v in run.data.params.items()})
        row.update({f"metric.{k}": v for k, v in run.data.metrics.items()})
        rows.append(row)
    return rows


def _vertex_rows(config: StudyConfig) -> list[dict[str, Any]]:
    """``aiplatform.get_experiment_df`` already has this shape; states come from the runs'
    ``trial_state`` param where the search logged one."""
    from google.cloud import aiplatform

    from search.tracking import make_tracker

    make_tracker(config)  # checks the project and credentials, and calls aiplatform.init
    frame = aiplatform.get_experiment_df(
        config.experiment or config.name, include_time_series=False
    )
    rows = []
    for record in frame.to_dict("records"):
        row = {k: v for k, v in record.items() if k.startswith(("param.", "metric."))}
        state = row.pop("param.trial_state", None) or str(record.get("state", "")).lower()
        row.pop("param.trial_key", None)
        rows.append({"run_name": record.get("run_name"), "state": state, **row})
    return rows


def _fetched_rows(config: StudyConfig) -> list[dict[str, Any]]:
    from search.results.records import fetched_records

    return [
        {
            "run_name": record.key,
            "state": record.state,
            **{f"param.{k}": v for k, v in record.params.items()},
            "metric.val_accuracy": record.value,
            "metric.trial_seconds": record.seconds,
        }
        for record in fetched_records(config)
    ]


def _optuna_rows(config: StudyConfig) -> list[dict[str, Any]]:
    from search.engines.optuna_engine import RUN_NAME, open_study

    rows = []
    for trial in open_study(config).get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "run_name": trial.user_attrs.get(RUN_NAME, f"optuna-{trial.number}"),
            "state": trial.state.name.lower(),
        }
        row.update({f"param.{k}": v for k, v in trial.params.items()})
        if trial.value is not None:
            row["metric.val_accuracy"] = trial.value
        rows.append(row)
    return rows


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def format_table(table: pd.DataFrame, limit: int | None = None) -> str:
    """A readable view: names, states, the objective and the searched parameters."""
    if table.empty:
        return "no runs"
    metrics = [f"metric.{name}" for name in SUMMARY_METRICS]
    columns = ["run_name", "state", *metrics, *(c for c in table.columns if c.startswith("param."))]
    shown = table[[c for c in columns if c in table.columns and c not in HIDDEN_PARAMS]]
    shown = shown.head(limit) if limit else shown
    shown = shown.rename(columns=lambda c: c.split(".", 1)[-1])
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
