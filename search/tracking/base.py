"""The tracking interface: start a run, log params and metrics, end it with its state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

#: How a run ended. ``interrupted``: its worker was stopped (Ctrl-C, SIGTERM, killed).
RunState = Literal["complete", "pruned", "failed", "interrupted"]
ParamValue = float | int | str


class Run(Protocol):
    """One Experiments run."""

    @property
    def run_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Logs final metrics (``step=None``) or one epoch's metrics (``step`` = epoch)."""

    def log_confusion_matrix(self, labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> None:
        """Logs a confusion matrix, ``matrix[true][predicted]``, with class names."""

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Attaches searchable tags (such as the engine's trial number)."""

    def end(self, state: RunState, reason: str = "") -> None:
        """Ends the run; ``reason`` says why a failed run failed."""


class Tracker(Protocol):
    """Where a study's runs go: one experiment per study."""

    @property
    def experiment(self) -> str: ...

    def start_run(self, name: str, params: Mapping[str, ParamValue], key: str) -> Run:
        """Starts a run. ``key`` identifies the engine's trial (``optuna-7``): a run of the same
        key that never finished (its worker was interrupted or killed) is discarded first, so
        a trial that its engine runs again never leaves two runs."""
        ...

    def close_orphans(self, keys: Sequence[str]) -> int:
        """Ends as ``interrupted`` the runs still open for these trial keys; returns how many."""
        ...
