"""The Keras Tuner engine (``engine: keras-tuner``): RandomSearch, BayesianOptimization or
Hyperband over the same space; the tuner itself in ``keras_tuner_tuner``.

Its state lives in ``studies/<name>/keras_tuner/``; running the same command again reloads it:
finished trials are kept and counted, a trial cut off mid-way is run again under its own ID.
Keras Tuner imports TensorFlow, so only the search imports it: the records are read from the
trials' ``trial.json`` files.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from search.engines import BestTrial, TrialRecord, best_of

if TYPE_CHECKING:
    from search.study_config import StudyConfig
    from search.trial import TrialRunner

#: Keras Tuner's trial statuses in the one vocabulary; IDLE and STOPPED trials never ran.
STATES = {"COMPLETED": "complete", "FAILED": "failed", "INVALID": "failed", "RUNNING": "running"}


class KerasTunerEngine:
    """The tuner's folder; nothing is created until the search runs."""

    def __init__(self, config: StudyConfig, *, create: bool = True) -> None:
        self.config = config

    def search(self, runner: TrialRunner) -> BestTrial | None:
        from search.engines.keras_tuner_tuner import CnnTuner, best_trial
        from search.progress import Progress

        progress = Progress(self.config.trials)
        tuner = CnnTuner(self.config, runner, progress)
        progress.done = sum(record.state != "running" for record in self.records())
        best = best_trial(tuner)
        if best:
            progress.best, progress.best_trial = best.val_accuracy, best.key
        progress.begin(f"keras-tuner ({self.config.algorithm})")
        tuner.search(verbose=0)
        return best_trial(tuner)

    def best(self) -> BestTrial | None:
        best = best_of(self.records())
        if best is None or best.value is None:
            return None
        space = self.config.search_space()
        params = space.validate(
            {k: v for k, v in best.params.items() if k in space.names}, fill_defaults=False
        )
        return BestTrial(key=best.key, number=best.number, params=params, val_accuracy=best.value)

    def records(self) -> list[TrialRecord]:
        records = []
        for path in (self.config.output_dir / "keras_tuner").glob("trial_*/trial.json"):
            document: dict[str, Any] = json.loads(path.read_text())
            state: Any = STATES.get(document.get("status", ""))
            if state is None:
                continue
            score = document.get("score")
            values = dict(document["hyperparameters"]["values"])
            records.append(
                TrialRecord(
                    number=int(document["trial_id"]),
                    key=f"keras-tuner-{document['trial_id']}",
                    state=state,
                    value=float(score) if score is not None and state == "complete" else None,
                    params={k: v for k, v in values.items() if not k.startswith("tuner/")},
                    reason=str(document.get("message") or ""),
                )
            )
        return sorted(records, key=lambda record: record.number)
