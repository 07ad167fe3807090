"""An Optuna study in its storage: opened under a lock, its trials counted and read back.

Read by the engine (``optuna_engine``) and by ``records`` (the dashboard and the compare
table), which needs no Keras.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.budget import Throughput
from search.contract import record_fields
from search.engines import BestTrial, TrialRecord
from search.engines import optuna_storage as storage_url
from search.engines.optuna_retry import RetryingStorage
from search.engines.optuna_samplers import make_pruner
from search.front import best_record
from search.study_config import StudyConfig, StudyError
from trainer import interrupts
from trainer.objectives import Objective

logger = logging.getLogger(__name__)

#: Every objective and constraint metric a trial measured (``search.contract.trial_attrs``).
VALUES = "values"
#: A trial whose configuration broke a constraint before training: failed, not counted.
INFEASIBLE = "infeasible"
#: The primary objective per epoch, where Optuna keeps no intermediate values (several
#: objectives).
CURVE = "curve"

COUNTED = "counted"
SETUP_LOCK = "optuna-storage-setup"
RUN_ID = "run_id"
RUN_NAME = "run_name"
#: The machine and process that run a trial, so a dead local worker is noticed at once.
HOST = "host"
PID = "pid"
#: The interrupted trial whose checkpoint a trial continues.
RESUMES = "resumes"


@contextmanager
def quiet_heartbeat_warnings() -> Iterator[None]:
    """Heartbeats and stale-trial checks are used here outside ``Study.optimize`` on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        yield


def open_study(config: StudyConfig) -> optuna.Study:
    """Opens (or creates) the study in its storage.

    Raises:
        StudyError: the storage URL is malformed or its database cannot be reached.
    """
    url = storage_url.normalise(config.storage_url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        # Workers starting together on a new database would race to create Optuna's tables
        # ("duplicate key value violates unique constraint"): one at a time.
        with storage_url.StudyLock(url, SETUP_LOCK).held(), quiet_heartbeat_warnings():
            storage = RetryingStorage(
                url,
                engine_kwargs=storage_url.engine_kwargs(url),
                heartbeat_interval=config.heartbeat_seconds,
                grace_period=2 * config.heartbeat_seconds,
            )
            study = optuna.create_study(
                study_name=config.name,
                storage=storage,
                directions=[o.direction for o in config.objective_list()],
                pruner=make_pruner(
                    "none" if config.multi_objective else config.pruner, config.epochs
                ),
                load_if_exists=True,
            )
    except Exception as error:
        interrupts.raise_if_interrupt(error)
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StudyError(
            f"Cannot open the study storage {storage_url.describe(url)}: {reason}. "
            "Check --storage (is the database server running, the database created?)."
        ) from error
    storage.retry = True
    _check_directions(study, config)
    return study


def _check_directions(study: optuna.Study, config: StudyConfig) -> None:
    wanted = [o.direction for o in config.objective_list()]
    found = [d.name.lower() for d in study.directions]
    if found != wanted:
        raise StudyError(
            f"study {config.name} was created with {len(found)} objective(s) ({', '.join(found)}) "
            f"but objectives {', '.join(config.objectives)} ask for {', '.join(wanted)}: give "
            "this search its own study name (a new study file), or the objectives it had."
        )


def is_counted(trial: FrozenTrial) -> bool:
    """Whether a trial counts toward the study's ``trials``: finished, or running now (an
    infeasible one, never trained, does not count)."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    return trial.state == TrialState.FAIL and bool(trial.user_attrs.get(COUNTED))


def is_interrupted(trial: FrozenTrial) -> bool:
    """A failed trial that was cut off (its worker stopped or killed): run again."""
    return (
        trial.state == TrialState.FAIL
        and not trial.user_attrs.get(COUNTED)
        and not trial.user_attrs.get(INFEASIBLE)
    )


def best_trial(study: optuna.Study, objectives: Sequence[Objective]) -> BestTrial | None:
    """The complete, feasible trial of the best primary objective (``search.front``)."""
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    record = best_record(trial_records(study, objectives), objectives)
    if record is None or record.value is None:
        return None
    best = trials[record.number]
    return BestTrial(
        key=record.key,
        number=record.number,
        params=dict(best.params),
        val_accuracy=float(record.value),
        run_id=str(best.user_attrs.get(RUN_ID, "")),
        throughput=Throughput.from_attrs(best.user_attrs),
        values=dict(record.values),
    )


def best_points_of(config: StudyConfig, source: str, count: int = 3) -> list[dict[str, Any]]:
    """The parameters of the ``count`` best completed trials of study ``source`` (in this
    study's storage when ``--storage`` is given, else in its own folder), as points of this
    study's space; those outside it are skipped with a warning.

    Raises:
        StudyError: no such study, or it has no completed trial.
    """
    url = config.storage or f"sqlite:///{(config.studies_dir / source / 'optuna.db').absolute()}"
    try:
        study = optuna.load_study(study_name=source, storage=storage_url.normalise(url))
    except Exception as error:
        interrupts.raise_if_interrupt(error)
        raise StudyError(
            f"enqueue_from: cannot read study {source!r} from {storage_url.describe(url)} "
            f"({type(error).__name__}); run it first or fix the name."
        ) from error
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise StudyError(f"enqueue_from: study {source!r} has no completed trial yet.")
    space = config.search_space()
    points = []
    for trial in sorted(complete, key=lambda t: float(t.values[0]), reverse=True)[:count]:
        known = {k: v for k, v in trial.params.items() if k in space.names}
        try:
            points.append(space.validate(known))
        except ValueError as error:
            logger.warning("enqueue_from: %s trial %d skipped: %s", source, trial.number, error)
    return points


def fail_dead_local_trials(study: optuna.Study) -> int:
    """Fails (not counted, so run again) the running trials whose worker ran on this machine
    and is gone: a rerun right after a crash takes them over at once. Trials of other machines
    are left to the heartbeat. Returns how many. Call it under the study lock."""
    host, failed = socket.gethostname(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get(PID)
        if trial.user_attrs.get(HOST) != host or not isinstance(pid, int) or _alive(pid):
            continue
        logger.info(
            "trial optuna-%d: its worker (process %d) is gone; it runs again", trial.number, pid
        )
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        failed += 1
    return failed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def trial_records(study: optuna.Study, objectives: Sequence[Objective]) -> list[TrialRecord]:
    """Every trial but those still queued, in the one state vocabulary; ``value`` is the
    primary objective's (a pruned trial's: its best epoch's)."""
    return [
        _record(trial, objectives)
        for trial in study.get_trials(deepcopy=False)
        if trial.state != TrialState.WAITING
    ]


def _record(trial: FrozenTrial, objectives: Sequence[Objective]) -> TrialRecord:
    state: Any = trial.state.name.lower()
    if trial.state == TrialState.FAIL:
        state = "interrupted" if is_interrupted(trial) else "failed"
    if trial.intermediate_values:
        curve = tuple(trial.intermediate_values[s] for s in sorted(trial.intermediate_values))
    else:
        curve = tuple(float(v) for v in trial.user_attrs.get(CURVE, ()))
    primary = objectives[0]
    fields = record_fields(trial.user_attrs)
    values = fields.pop("values")
    if trial.state == TrialState.COMPLETE and trial.values:
        values.update({o.name: float(v) for o, v in zip(objectives, trial.values, strict=False)})
    value = values.get(primary.name)
    if value is None and curve:
        value = max(curve) if primary.direction == "maximize" else min(curve)
    return TrialRecord(
        number=trial.number,
        key=f"optuna-{trial.number}",
        state=state,
        value=value if state in ("complete", "pruned") else None,
        params=dict(trial.params),
        curve=curve,
        run_name=trial.user_attrs.get(RUN_NAME, ""),
        values=values,
        **fields,
    )
