"""The Optuna engine (``engine: optuna``): the search loop in ``optuna_search``, the study
and its records in ``optuna_study``.

Several ``python -m search.run`` processes pointed at one storage share the study: counting
its trials and starting a new one happen under one lock, so together they run exactly
``trials``. Reading the records imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.engines import BestTrial, TrialRecord
from search.engines.optuna_study import best_trial, open_study, trial_records

if TYPE_CHECKING:
    import optuna

    from search.study_config import StudyConfig
    from search.trial import TrialRunner


class OptunaEngine:
    """The study in its storage. With ``create=False`` a study that has no storage yet is
    not created: it has no records and no best trial."""

    def __init__(self, config: StudyConfig, *, create: bool = True) -> None:
        self.config = config
        self.study: optuna.Study | None = (
            open_study(config) if create or config.has_optuna_storage else None
        )

    def search(self, runner: TrialRunner) -> BestTrial | None:
        from search.engines.optuna_search import OptunaSearch

        return OptunaSearch(self.config, runner, self._study()).optimize()

    def best(self) -> BestTrial | None:
        return (
            best_trial(self.study, self.config.objective_list()) if self.study is not None else None
        )

    def records(self) -> list[TrialRecord]:
        return (
            trial_records(self.study, self.config.objective_list())
            if self.study is not None
            else []
        )

    def _study(self) -> optuna.Study:
        if self.study is None:
            self.study = open_study(self.config)
        return self.study
