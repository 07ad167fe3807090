"""A study read back: every trial of any engine as a ``TrialRecord``, joined with its
tracker's run.

The engine gives each trial's state, value, parameters and (Optuna) per-epoch curve; the
tracker fills what the engine did not keep (curves, times, sizes, run names) and adds its
final metrics; trials fetched from a Vertex AI tuning job come from ``vertex_trials.json``.
Runs that belong to no trial (the retrained best model, every retrain of it, runs the search did
not start, a second run under a trial's key) are kept beside the trials: a key maps to runs,
and no run is dropped.
``as_optuna_study`` turns records of any engine into an in-memory Optuna study, so Optuna's
visualisations serve them all. The dashboard and the compare table both read this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from search.engines import Engine, TrialRecord, open_engine
from search.tracking import RunRecord, Tracker, open_tracker
from trainer.objectives import Constraint

if TYPE_CHECKING:
    from search.study_config import StudyConfig

#: Trial states as Optuna's, for its visualisations (anything unfinished counts as failed).
_OPTUNA_STATES = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED}
#: What ``search.vertex --fetch`` writes in the study folder.
FETCHED_FILE = "vertex_trials.json"


@dataclass(frozen=True)
class StudyRecords:
    """``trials``: every trial, ordered by number (fetched Vertex trials last); ``runs``: the
    tracker's runs that belong to no trial, such as the retrained best model."""

    trials: list[TrialRecord]
    runs: list[RunRecord]


def read_study(
    config: StudyConfig, engine: Engine | None = None, tracker: Tracker | None = None
) -> StudyRecords:
    """Reads the study through its engine and its tracker (opened for reading, creating
    nothing, unless given)."""
    engine = engine or open_engine(config, create=False)
    tracker = tracker or open_tracker(config, create=False)
    by_key: dict[str, list[RunRecord]] = {}
    for found in tracker.runs():
        by_key.setdefault(found.key, []).append(found)
    trials = []
    for record in engine.records():
        runs = by_key.get(record.key, [])
        run = _run_of(record, runs)
        if run is not None:
            runs.remove(run)
        trials.append(_joined(record, run))
    others = [run for runs in by_key.values() for run in runs]
    return StudyRecords(trials + fetched_records(config), others)


def _run_of(record: TrialRecord, runs: list[RunRecord]) -> RunRecord | None:
    """The trial's own run among the runs of its key (the one it names, else the first the
    tracker gives); the others stay beside the trials, never dropped."""
    named = [run for run in runs if record.run_name and run.name == record.run_name]
    candidates = named or runs
    return candidates[0] if candidates else None


def load_records(config: StudyConfig) -> list[TrialRecord]:
    """Every trial of the study; empty when the study has none yet."""
    return read_study(config).trials


def _joined(record: TrialRecord, run: RunRecord | None) -> TrialRecord:
    if run is None:
        return record
    metrics = run.metrics
    return replace(
        record,
        curve=record.curve or run.curve,
        seconds=record.seconds or metrics.get("trial_seconds"),
        parameter_count=record.parameter_count or _int(metrics.get("parameter_count")),
        run_name=record.run_name or run.name,
        metrics=dict(metrics),
        params={**run.params, **record.params},
    )


def fetched_records(config: StudyConfig) -> list[TrialRecord]:
    """The trials of a Vertex AI tuning job fetched with ``search.vertex --fetch``."""
    path = config.output_dir / FETCHED_FILE
    if not path.exists():
        return []
    constraints = config.constraint_list()
    return [
        TrialRecord(
            number=trial["number"],
            key=f"vertex-{trial['number']}",
            state=trial["state"],
            value=trial["value"] if trial["state"] in ("complete", "pruned") else None,
            params=trial["params"],
            curve=tuple(trial["curve"]),
            seconds=trial["seconds"],
            reason=trial.get("reason") or "",
            values=(values := dict(trial.get("values") or {})),
            feasible=_feasible(constraints, values) if constraints else None,
        )
        for trial in sorted(json.loads(path.read_text())["trials"], key=lambda t: t["number"])
    ]


def as_optuna_study(records: list[TrialRecord], config: StudyConfig) -> optuna.Study:
    """An in-memory Optuna study holding ``records`` (complete, pruned and failed)."""
    from search.engines.optuna_space import distributions

    space_distributions = distributions(config.search_space())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = config.objective_list()[0].direction
    study = optuna.create_study(direction=direction, storage=optuna.storages.InMemoryStorage())
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


def _feasible(constraints: list[Constraint], values: dict[str, float]) -> bool | None:
    """Whether ``values`` meet every constraint; ``None`` where a metric was not reported."""
    if any(c.metric not in values for c in constraints):
        return None
    return all(c.holds(values) for c in constraints)


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)
