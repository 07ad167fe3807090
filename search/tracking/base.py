"""The tracking interface: start a run, log params and metrics, end it with its state; read
the runs back; register a model where the tracker has a registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

#: The one vocabulary of trial and run states, in records, the compare table and the dashboard.
#: ``interrupted``: its worker was stopped (Ctrl-C, SIGTERM, killed); ``running``: not ended.
State = Literal["running", "complete", "pruned", "failed", "interrupted"]
STATES: tuple[str, ...] = get_args(State)
#: How a run ends.
RunState = Literal["complete", "pruned", "failed", "interrupted"]
ParamValue = float | int | str


@dataclass(frozen=True)
class RunRecord:
    """One run read back from the tracker.

    Attributes:
        key: the engine's trial key (``optuna-7``), ``best-<key>`` for a retrained best, or
            ``""`` for a run the search did not start.
        metrics: final values (``val_accuracy`` is the final one, not the last epoch's).
        curve: ``val_accuracy`` per epoch, where the tracker keeps per-epoch values.
    """

    run_id: str
    name: str
    key: str
    state: State
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    curve: tuple[float, ...] = ()


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

    def runs(self) -> list[RunRecord]:
        """Every run of the experiment, with its final metrics."""
        ...

    def register(self, run_id: str, model_dir: Path, *, study: str, tags: Mapping[str, str]) -> str:
        """Registers the export in ``model_dir`` as a new model version linked to run
        ``run_id``; returns the version, or ``""`` where this tracker has no registry."""
        ...


def state_of(text: str) -> State:
    """A tracker's or engine's state name in the one vocabulary (unknown: ``failed``)."""
    aliases = {
        "finished": "complete",
        "completed": "complete",
        "succeeded": "complete",
        "fail": "failed",
        "killed": "interrupted",
        "cancelled": "interrupted",
        "scheduled": "running",
        "active": "running",
    }
    name = text.strip().lower()
    name = aliases.get(name, name)
    return name if name in STATES else "failed"  # type: ignore[return-value]
