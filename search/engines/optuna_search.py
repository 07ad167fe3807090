"""The Optuna search loop: ask/tell under a study-wide lock, heartbeats, pruning from Keras.

Several ``python -m search.run`` processes pointed at one storage share the study: counting
its trials and starting a new one happen under one lock, so together they run exactly
``trials``. A trial whose worker died (no heartbeat for twice ``heartbeat_seconds``) is marked
failed and not counted; a trial stopped by Ctrl-C or SIGTERM likewise. Finished trials
(complete, pruned, or failed by their own fault) count toward ``trials`` and are never re-run.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import socket
import threading
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.contract import trial_attrs
from search.engine_loop import Asked, TrialLoop
from search.engines import BestTrial, TrialRecord
from search.engines import optuna_storage as storage_url
from search.engines.optuna_halving import ReportToOptuna, SuccessiveHalving
from search.engines.optuna_samplers import make_sampler
from search.engines.optuna_space import suggest
from search.engines.optuna_study import (
    COUNTED,
    HOST,
    PID,
    RESUMES,
    RUN_ID,
    RUN_NAME,
    best_points_of,
    best_trial,
    fail_dead_local_trials,
    is_counted,
    is_interrupted,
    quiet_heartbeat_warnings,
    trial_records,
)
from search.study_config import StudyConfig
from search.trial import TrialOutcome, TrialRunner
from trainer import interrupts
from trainer.checkpoint import CHECKPOINT_FILE

logger = logging.getLogger(__name__)

#: Samplers of workers that join later draw from other streams than the first worker's.
SEED_STRIDE = 7919


class OptunaSearch:
    def __init__(self, config: StudyConfig, runner: TrialRunner, study: optuna.Study) -> None:
        self.config = config
        self.runner = runner
        self.study = study
        self.space = config.search_space()
        self.objectives = config.objective_list()
        self.loop = TrialLoop("optuna", runner)
        self.lock = storage_url.StudyLock(storage_url.normalise(config.storage_url), config.name)

    def optimize(self) -> BestTrial | None:
        """Runs trials until the study holds ``config.trials`` counted trials."""
        with self.lock.held(), quiet_heartbeat_warnings():
            fail_dead_local_trials(self.study)
            optuna.storages.fail_stale_trials(self.study)
            trials = self.study.get_trials(deepcopy=False)
            self.study.sampler = make_sampler(
                self.config.algorithm,
                self.config.seed + SEED_STRIDE * len(trials),
            )
            self._close_orphans(trials)
            self._enqueue_interrupted(trials)
            self._enqueue()
        self.loop.begin(
            self._records(), f"optuna ({self.config.algorithm}, pruner {self.config.pruner})"
        )
        while (trial := self._next_trial()) is not None:
            self._run(trial)
        return self._best()

    def _records(self) -> list[TrialRecord]:
        return trial_records(self.study, self.objectives)

    def _best(self) -> BestTrial | None:
        return best_trial(self.study, self.objectives)

    def _enqueue(self) -> None:
        """Adds the study's ``enqueue`` points (and ``enqueue_from``'s best) to the queue, each
        only if no trial of the study has those values yet, so never twice across resumes."""
        points = self.config.enqueued_points()
        if self.config.enqueue_from:
            points += best_points_of(self.config, self.config.enqueue_from)
        for point in points:
            self.study.enqueue_trial(point, skip_if_exists=True)

    def _next_trial(self) -> optuna.Trial | None:
        with self.lock.held(), quiet_heartbeat_warnings():
            fail_dead_local_trials(self.study)
            optuna.storages.fail_stale_trials(self.study)
            trials = self.study.get_trials(deepcopy=False)
            if sum(is_counted(t) for t in trials) >= self.config.trials:
                return None
            if not self.loop.allows_trial(trial_records(self.study, self.objectives)):
                return None
            trial = self.study.ask()
            self.study._storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]
            trial.set_user_attr(HOST, socket.gethostname())
            trial.set_user_attr(PID, os.getpid())
            return trial

    def _enqueue_interrupted(self, trials: list[FrozenTrial]) -> None:
        """Queues first, once, each interrupted trial that left a checkpoint: the trial that
        takes it continues from its last epoch (Optuna cannot run a finished trial number
        again; the interrupted one is not counted, so nothing counts twice)."""
        taken = {
            t.user_attrs.get(RESUMES)
            for t in trials
            if t.state in (TrialState.WAITING, TrialState.RUNNING)
        }
        for trial in trials:
            key = f"optuna-{trial.number}"
            if not is_interrupted(trial) or key in taken:
                continue
            folder = self.config.checkpoint_dir(key)
            if (folder / CHECKPOINT_FILE).exists():
                self.study.enqueue_trial(dict(trial.params), user_attrs={RESUMES: key})
                logger.info("trial %s was interrupted: the next trial continues it", key)
            elif folder.exists():  # killed before its first checkpoint was complete
                shutil.rmtree(folder, ignore_errors=True)

    def _run(self, trial: optuna.Trial) -> None:
        asked = Asked(
            trial.number,
            suggest(trial, self.space),
            resumes=str(trial.user_attrs.get(RESUMES) or ""),
            pruning=self._pruning(trial),
            on_start=lambda run: _link(trial, run.run_id, run.name),
        )
        with Heartbeat(self.study, trial, self.config.heartbeat_seconds):
            try:
                outcome = self.loop.run(asked)
            except KeyboardInterrupt:
                trial.set_user_attr("interrupted", True)
                self.study.tell(trial, state=TrialState.FAIL)
                raise
            except Exception as error:  # a bug (search.failures): not counted, run again
                interrupt = interrupts.as_interrupt(error)
                if interrupt is not None:
                    trial.set_user_attr("interrupted", True)
                else:
                    trial.set_user_attr("bug", f"{type(error).__name__}: {error}"[:2000])
                self.study.tell(trial, state=TrialState.FAIL)
                if interrupt is not None:
                    raise interrupt from error
                raise
        self._tell(trial, outcome)

    def _pruning(self, trial: optuna.Trial) -> ReportToOptuna | SuccessiveHalving:
        """Optuna's own pruner with one objective; with several (which Optuna's pruners
        refuse) successive halving on the primary one."""
        metric = self.objectives[0]
        if not self.config.multi_objective:
            return ReportToOptuna(trial, metric.name)
        return SuccessiveHalving(
            self.study, trial, self.objectives, enabled=self.config.pruner != "none"
        )

    def _tell(self, trial: optuna.Trial, outcome: TrialOutcome) -> None:
        attrs = trial_attrs(outcome, self.objectives[0].name)
        for name, value in attrs.items():
            trial.set_user_attr(name, value)
        for constraint, violation in zip(self.config.constraints, outcome.violations, strict=False):
            trial.set_constraint(constraint, violation if math.isfinite(violation) else 1.0)
        if outcome.state == "complete":
            self.study.tell(trial, [attrs["values"][o.name] for o in self.objectives])
        elif outcome.state == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            trial.set_user_attr(COUNTED, outcome.trained)  # an untrained, infeasible one is not
            self.study.tell(trial, state=TrialState.FAIL)

    def _close_orphans(self, trials: list[FrozenTrial]) -> None:
        dead = [f"optuna-{t.number}" for t in trials if is_interrupted(t)]
        closed = self.runner.tracker.close_orphans(dead)
        if closed:
            logger.info("closed %d run(s) left open by a worker that was killed", closed)


def _link(trial: optuna.Trial, run_id: str, run_name: str) -> None:
    trial.set_user_attr(RUN_ID, run_id)
    trial.set_user_attr(RUN_NAME, run_name)


class Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds while a trial runs."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial, interval: int) -> None:
        self._storage: Any = study._storage
        self._trial_id = trial._trial_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        missed = False
        while not self._stop.wait(self._interval):
            try:
                self._storage.record_heartbeat(self._trial_id)
            except Exception as error:  # the server away: the next beat tries again
                interrupts.raise_if_interrupt(error)
                if not missed:
                    cause = error.__cause__ or error
                    logger.warning("trial heartbeat missed: %s", str(cause).strip().splitlines()[0])
                missed = True
                continue
            if missed:
                logger.info("trial heartbeat recorded again")
                missed = False
