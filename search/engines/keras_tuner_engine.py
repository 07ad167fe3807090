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

from search.budget import Throughput
from search.contract import Runner, record_fields, trial_key
from search.engines import BestTrial, TrialRecord, best_of

if TYPE_CHECKING:
    from search.study_config import StudyConfig

#: Keras Tuner's trial statuses in the one vocabulary; IDLE and STOPPED trials never ran.
STATES = {"COMPLETED": "complete", "FAILED": "failed", "INVALID": "failed", "RUNNING": "running"}


class KerasTunerEngine:
    """The tuner's folder; nothing is created until the search runs."""

    def __init__(self, config: StudyConfig, *, create: bool = True) -> None:
        self.config = config

    def search(self, runner: Runner) -> BestTrial | None:
        from search.engine_loop import TrialLoop
        from search.engines.keras_tuner_tuner import CnnTuner

        loop = TrialLoop("keras-tuner", runner)
        tuner = CnnTuner(self.config, loop, self.records)
        loop.begin(self.records(), f"keras-tuner ({self.config.algorithm})")
        tuner.search(verbose=0)
        return self.best()

    def best(self) -> BestTrial | None:
        best = best_of(self.records())
        if best is None or best.value is None:
            return None
        space = self.config.search_space()
        params = space.validate(
            {k: v for k, v in best.params.items() if k in space.names}, fill_defaults=False
        )
        return BestTrial(
            key=best.key,
            number=best.number,
            params=params,
            val_accuracy=best.value,
            throughput=Throughput.from_attrs(best.metrics),
            values=dict(best.values),
        )

    def records(self) -> list[TrialRecord]:
        records = []
        for path in (self.config.output_dir / "keras_tuner").glob("trial_*/trial.json"):
            document: dict[str, Any] = json.loads(path.read_text())
            state: Any = STATES.get(document.get("status", ""))
            if state is None:
                continue
            score = document.get("score")
            value = float(score) if score is not None and state == "complete" else None
            values = dict(document["hyperparameters"]["values"])
            fields = record_fields(_kept(document))
            fields["values"].update({"val_accuracy": value} if value is not None else {})
            records.append(
                TrialRecord(
                    number=int(document["trial_id"]),
                    key=trial_key("keras-tuner", int(document["trial_id"])),
                    state=state,
                    value=value,
                    params={k: v for k, v in values.items() if not k.startswith("tuner/")},
                    **{**fields, "reason": str(document.get("message") or fields["reason"])},
                )
            )
        return sorted(records, key=lambda record: record.number)


def _kept(document: dict[str, Any]) -> dict[str, float]:
    """The numbers ``run_trial`` returned, as Keras Tuner stored them: each metric's last
    observation."""
    kept = {}
    for name, metric in (document.get("metrics") or {}).get("metrics", {}).items():
        observations = metric.get("observations") or []
        if observations and observations[-1].get("value"):
            kept[name] = float(observations[-1]["value"][0])
    return kept
