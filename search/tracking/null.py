"""``--tracking none``: runs that record nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search.tracking.base import ParamValue, RunRecord, RunState

if TYPE_CHECKING:
    from search.study_config import StudyConfig


@dataclass
class NullRun:
    name: str
    run_id: str = ""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        return None

    def log_confusion_matrix(self, labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> None:
        return None

    def set_tags(self, tags: Mapping[str, str]) -> None:
        return None

    def end(self, state: RunState, reason: str = "") -> None:
        return None


@dataclass
class NullTracker:
    experiment: str

    def start_run(self, name: str, params: Mapping[str, ParamValue], key: str) -> NullRun:
        return NullRun(name)

    def close_orphans(self, keys: Sequence[str]) -> int:
        return 0

    def runs(self) -> list[RunRecord]:
        return []

    def register(self, run_id: str, model_dir: Path, *, study: str, tags: Mapping[str, str]) -> str:
        return ""


def open_tracker(config: StudyConfig, *, create: bool = True) -> NullTracker:
    return NullTracker(experiment=config.name)
