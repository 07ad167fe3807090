"""One study-to-table layer: every trial of any engine as a ``TrialRecord``.

Optuna studies are read from their storage, Keras Tuner studies from their ``trial.json``
files (without importing Keras Tuner), and per-epoch curves, trial times and model sizes from
the tracking store when a trial's engine did not keep them. ``as_optuna_study`` turns records
of any engine into an in-memory Optuna study, so Optuna's visualisations serve them all.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from search.engines.optuna_space import distributions
from search.study_config import StudyConfig

_KT_STATES = {
    "COMPLETED": "complete",
    "FAILED": "failed",
    "INVALID": "failed",
    "RUNNING": "running",
}
_OPTUNA_STATES = {
    "complete": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "failed": TrialState.FAIL,
    "interrupted": TrialState.FAIL,
    "running": TrialState.FAIL,
}


@dataclass(frozen=True)
class TrialRecord:
    """One trial: ``value`` is its best ``val_accuracy`` (``None`` unless complete or pruned)."""

    number: int
    key: str
    state: str
    value: float | None
    params: dict[str, Any]
    curve: tuple[float, ...] = ()
    seconds: float | None = None
    parameter_count: int | None = None
    run_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def load_records(config: StudyConfig) -> list[TrialRecord]:
    """Every trial of the study, ordered by number; empty when the study has none yet."""
    records = _optuna_records(config) if config.engine == "optuna" else _keras_tuner_records(config)
    if config.tracking == "mlflow":
        records = _with_tracked_runs(config, records)
    return sorted(records, key=lambda record: record.number) + fetched_records(config)


def fetched_records(config: StudyConfig) -> list[TrialRecord]:
    """The trials of a Vertex AI tuning job fetched with ``search.vertex --fetch``."""
    from search.vertex.fetch import FETCHED_FILE

    path = config.output_dir / FETCHED_FILE
    if not path.exists():
        return []
    return [
        TrialRecord(
            number=trial["number"],
            key=f"vertex-{trial['number']}",
            state=trial["state"],
            value=trial["value"] if trial["state"] in ("complete", "pruned") else None,
            params=trial["params"],
            curve=tuple(trial["curve"]),
            seconds=trial["seconds"],
            extra={"reason": trial.get("reason", "")},
        )
        for trial in sorted(json.loads(path.read_text())["trials"], key=lambda t: t["number"])
    ]


def as_optuna_study(records: list[TrialRecord], config: StudyConfig) -> optuna.Study:
    """An in-memory Optuna study holding ``records`` (complete, pruned and failed)."""
    space_distributions = distributions(config.search_space())
    study = optuna.create_study(direction="maximize", storage=optuna.storages.InMemoryStorage())
    for record in records:
        state = _OPTUNA_STATES.get(record.state, TrialState.FAIL)
        value = record.value if state == TrialState.COMPLETE else None
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=value,
                params={k: v for k, v in record.params.items() if k in space_distributions},
                distributions={k: d for k, d in space_distributions.items() if k in record.params},
                intermediate_values={step: v for step, v in enumerate(record.curve, start=1)},
                user_attrs={"key": record.key},
            )
        )
    return study


def _optuna_records(config: StudyConfig) -> list[TrialRecord]:
    from search.engines.optuna_engine import RUN_NAME, open_study

    if not config.has_optuna_storage:
        return []
    records = []
    for trial in open_study(config).get_trials(deepcopy=False):
        state = trial.state.name.lower()
        if trial.state == TrialState.FAIL:
            state = "failed" if trial.user_attrs.get("counted") else "interrupted"
        curve = tuple(trial.intermediate_values[s] for s in sorted(trial.intermediate_values))
        value = trial.value if trial.value is not None else (max(curve) if curve else None)
        records.append(
            TrialRecord(
                number=trial.number,
                key=f"optuna-{trial.number}",
                state=state,
                value=value if state in ("complete", "pruned") else None,
                params=dict(trial.params),
                curve=curve,
                seconds=trial.user_attrs.get("trial_seconds"),
                parameter_count=trial.user_attrs.get("parameter_count"),
                run_name=trial.user_attrs.get(RUN_NAME, ""),
            )
        )
    return records


def _keras_tuner_records(config: StudyConfig) -> list[TrialRecord]:
    records = []
    for path in (config.output_dir / "keras_tuner").glob("trial_*/trial.json"):
        document = json.loads(path.read_text())
        score = document.get("score")
        state = _KT_STATES.get(document.get("status", ""), "failed")
        records.append(
            TrialRecord(
                number=int(document["trial_id"]),
                key=f"keras-tuner-{document['trial_id']}",
                state=state,
                value=float(score) if score is not None and state == "complete" else None,
                params=dict(document["hyperparameters"]["values"]),
            )
        )
    return records


def _with_tracked_runs(config: StudyConfig, records: list[TrialRecord]) -> list[TrialRecord]:
    """Fills curves, times, sizes and run names from the MLflow runs, matched by trial key."""
    from mlflow import MlflowClient

    from search.tracking.mlflow_tracker import KEY_TAG

    if not config.has_tracking_store:
        return records
    client = MlflowClient(tracking_uri=config.mlflow_uri)
    experiment = client.get_experiment_by_name(config.name)
    if experiment is None:
        return records
    runs = {
        run.data.tags.get(KEY_TAG): run
        for run in client.search_runs([experiment.experiment_id], max_results=50_000)
    }
    filled = []
    for record in records:
        run = runs.get(record.key)
        if run is None:
            filled.append(record)
            continue
        metrics = run.data.metrics
        curve = record.curve or tuple(
            m.value
            for m in sorted(
                client.get_metric_history(run.info.run_id, "val_accuracy"), key=lambda m: m.step
            )
            if m.step > 0 and math.isfinite(m.value)
        )
        filled.append(
            TrialRecord(
                number=record.number,
                key=record.key,
                state=record.state,
                value=record.value,
                params=record.params,
                curve=curve,
                seconds=record.seconds or metrics.get("trial_seconds"),
                parameter_count=record.parameter_count or _int(metrics.get("parameter_count")),
                run_name=record.run_name or (run.info.run_name or ""),
            )
        )
    return filled


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)
