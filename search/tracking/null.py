"""``--tracking none``: runs that record nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from search.tracking.base import ParamValue, RunState


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
