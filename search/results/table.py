"""Every run of a study side by side: the table ``aiplatform.get_experiment_df()`` gives.

A view of the same records the dashboard reads (``records.read_study``): one row per trial,
then one per run that belongs to no trial (the retrained best). Columns: ``run_name``,
``state``, ``feasible`` (it met the study's constraints; an untrained, infeasible configuration
is false), ``pareto`` (on the front of the study's objectives, ``search.front``),
``param.<name>`` and ``metric.<name>`` (final values; one per objective: the primary one is the
trial's best epoch's), sorted by the primary objective, best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from search.engines import TrialRecord
from search.front import pareto
from search.results.records import StudyRecords, read_study
from search.study_config import StudyConfig, StudyError
from search.tracking import RunRecord
from trainer.objectives import Objective, objective

SUMMARY_METRICS = (
    "val_accuracy",
    "val_loss",
    "latency_ms",
    "model_mb",
    "test_accuracy",
    "epochs_run",
    "trial_seconds",
    "compile_seconds",
    "steady_epoch_seconds",
    "parameter_count",
)
HIDDEN_PARAMS = (
    "param.seed",
    "param.engine",
    "param.algorithm",
    "param.subset",
    "param.epochs",
    "param.trial_number",
)


def study_table(config: StudyConfig, records: StudyRecords | None = None) -> pd.DataFrame:
    """The study's runs, best first (from ``records`` when the caller has read them).

    Raises:
        StudyError: the study has neither trials nor runs yet.
    """
    records = records or read_study(config)
    if not records.trials and not records.runs:
        raise StudyError(
            f"study {config.name} has no trials or runs yet: run python -m search.run --study "
            f"{config.name}, or fetch a Vertex AI tuning job with python -m search.vertex "
            "--fetch JOB."
        )
    return as_table(records, config.objective_list())


def as_table(records: StudyRecords, objectives: Sequence[Objective] = ()) -> pd.DataFrame:
    """``records`` as rows; ``objectives`` (default ``val_accuracy``) give the ``metric.``
    columns that always exist, the ``pareto`` column and the order."""
    objectives = list(objectives) or [objective("val_accuracy")]
    primary = f"metric.{objectives[0].name}"
    front = {r.key for r in pareto(records.trials, objectives)}
    rows = [_trial_row(r, objectives[0].name, r.key in front) for r in records.trials]
    table = pd.DataFrame(rows + [_run_row(r) for r in records.runs])
    ordered = ["run_name", "state", "feasible", "pareto"]
    for name in ordered + [f"metric.{o.name}" for o in objectives]:
        if name not in table:
            table[name] = float("nan") if name.startswith("metric.") else None
    ordered += sorted(c for c in table.columns if c.startswith("param."))
    ordered += [f"metric.{o.name}" for o in objectives]
    ordered += sorted(c for c in table.columns if c.startswith("metric.") and c not in ordered)
    ordered += [c for c in table.columns if c not in ordered]
    table = table[ordered].sort_values(
        primary, ascending=objectives[0].direction == "minimize", na_position="last"
    )
    return table.reset_index(drop=True)


def write_table(config: StudyConfig, table: pd.DataFrame) -> Path:
    path = config.output_dir / "compare.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def _trial_row(record: TrialRecord, primary: str, on_front: bool) -> dict[str, Any]:
    metrics = {
        **record.metrics,
        **record.values,
        primary: record.value,
        "trial_seconds": record.seconds,
        "parameter_count": record.parameter_count,
    }
    return {
        "run_name": record.run_name or record.key,
        "state": record.state,
        "feasible": record.feasible if record.feasible is not None else record.state != "failed",
        "pareto": on_front,
        **{f"param.{k}": v for k, v in record.params.items()},
        **{f"metric.{k}": v for k, v in metrics.items() if v is not None},
    }


def _run_row(run: RunRecord) -> dict[str, Any]:
    return {
        "run_name": run.name,
        "state": run.state,
        **{f"param.{k}": v for k, v in run.params.items()},
        **{f"metric.{k}": v for k, v in run.metrics.items()},
    }


def format_table(table: pd.DataFrame, limit: int | None = None) -> str:
    """A readable view: names, states, the objective and the searched parameters."""
    if table.empty:
        return "no runs"
    metrics = [f"metric.{name}" for name in SUMMARY_METRICS]
    columns = [
        "run_name",
        "state",
        *(c for c in ("feasible", "pareto") if table[c].notna().any()),
        *metrics,
        *(c for c in table.columns if c.startswith("param.")),
    ]
    shown = table[[c for c in columns if c in table.columns and c not in HIDDEN_PARAMS]]
    shown = shown.head(limit) if limit else shown
    shown = shown.rename(columns=lambda c: c.split(".", 1)[-1])
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
