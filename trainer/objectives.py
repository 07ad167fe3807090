"""What a search can optimise: every objective by name, how it is measured, and constraints.

An objective is a number of a trained configuration with a direction. Some are known before
training (the served model's size, its latency), so a configuration that breaks a constraint
on them is recorded as infeasible without training; the others come from the fit. The served
model is the one that is exported (``model_space.tta.served_model``): its ``.keras`` file is
stored uncompressed, so its size does not depend on the weights' values, and its latency
depends on its shape only.

Adding an objective is one entry in ``OBJECTIVES`` (and its test): the search, its records, the
compare table, the dashboard, the Vertex AI job and hypertune read this table.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import keras

    from trainer.evaluate import Evaluation
    from trainer.fit import FitResult

Direction = Literal["maximize", "minimize"]

#: Latency: calls timed after warming up (at least this many calls and this long), at batch 1;
#: the median is the figure.
LATENCY_WARMUP_CALLS = 10
LATENCY_WARMUP_SECONDS = 0.5
LATENCY_TIMED_CALLS = 50


@dataclass(frozen=True)
class Subject:
    """What an objective is measured on: the served model; ``fitted`` once it is trained;
    ``validation``, the served model's evaluation on the validation images, once exported
    (a search's trials are compared on their best epoch, an export on what it serves)."""

    served: keras.Model
    fitted: FitResult | None = None
    validation: Evaluation | None = None


@dataclass(frozen=True)
class Objective:
    """One searchable number.

    Attributes:
        name: the study key's and the metric's name (``latency_ms``).
        direction: ``maximize`` or ``minimize``.
        before_training: known from the configuration alone, before any epoch.
        how: how it is measured, in a sentence (metadata.json and docs/objectives.md say it).
        measure: its value for a ``Subject`` (one that is trained when ``before_training`` is
            false).
    """

    name: str
    direction: Direction
    before_training: bool
    how: str
    measure: Callable[[Subject], float]

    def better(self, first: float, second: float) -> bool:
        """Whether ``first`` is strictly better than ``second``."""
        return first > second if self.direction == "maximize" else first < second

    def loss(self, value: float) -> float:
        """``value`` as a number where lower is better."""
        return -value if self.direction == "maximize" else value


def _fitted(subject: Subject) -> FitResult:
    if subject.fitted is None:
        raise ValueError("this objective is measured by training")
    return subject.fitted


def _parameters(subject: Subject) -> float:
    return float(subject.served.count_params())


def _model_mb(subject: Subject) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        subject.served.save(path)
        return path.stat().st_size / 1e6


def _latency_ms(subject: Subject) -> float:
    import numpy as np

    height, width = subject.served.input_shape[1:3]
    image = np.zeros((1, height, width), dtype="uint8")
    calls, started = 0, time.perf_counter()
    while calls < LATENCY_WARMUP_CALLS or time.perf_counter() - started < LATENCY_WARMUP_SECONDS:
        subject.served.predict_on_batch(image)
        calls += 1
    times = []
    for _ in range(LATENCY_TIMED_CALLS):
        started = time.perf_counter()
        subject.served.predict_on_batch(image)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


OBJECTIVES: dict[str, Objective] = {
    objective.name: objective
    for objective in (
        Objective(
            "val_accuracy",
            "maximize",
            False,
            "accuracy on the validation images: a trial's best epoch's; an export's, as served",
            lambda s: s.validation.accuracy if s.validation else _fitted(s).val_accuracy,
        ),
        Objective(
            "val_loss",
            "minimize",
            False,
            "loss on the validation images: a trial's best epoch's; an export's, as served",
            lambda s: s.validation.loss if s.validation else _fitted(s).val_loss,
        ),
        Objective(
            "parameters",
            "minimize",
            True,
            "the served model's parameter count",
            _parameters,
        ),
        Objective(
            "latency_ms",
            "minimize",
            True,
            f"the served model's median wall time of one predict_on_batch call at batch 1 on "
            f"the CPU, over {LATENCY_TIMED_CALLS} calls after warming up ({LATENCY_WARMUP_CALLS} "
            f"calls and {LATENCY_WARMUP_SECONDS:g} s at least), in the measuring process with its "
            "thread count (recorded with it)",
            _latency_ms,
        ),
        Objective(
            "model_mb",
            "minimize",
            True,
            "the size of the served model's .keras file in megabytes (10^6 bytes)",
            _model_mb,
        ),
    )
}


def objective(name: str) -> Objective:
    """The objective called ``name``.

    Raises:
        ValueError: no such objective; the message lists the known ones.
    """
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(
            f"unknown objective {name!r}; known objectives: {', '.join(OBJECTIVES)}."
        ) from None


def measure(subject: Subject, names: Sequence[str]) -> dict[str, float]:
    """The values of the objectives ``names`` for ``subject``."""
    return {name: float(objective(name).measure(subject)) for name in names}


def describe(values: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """``values`` with each objective's direction and how it was measured (metadata.json)."""
    described: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        entry = objective(name)
        described[name] = {"value": value, "direction": entry.direction, "how": entry.how}
        if name == "latency_ms":
            described[name]["threads"] = measuring_threads()
    return described


def measuring_threads() -> int:
    """The CPU threads a latency measurement ran with in this process (TensorFlow's intra-op
    pool when it is the backend and set, else the CPUs this process may use)."""
    try:
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            threads = tf.config.threading.get_intra_op_parallelism_threads()
            if threads:
                return int(threads)
    except ImportError:
        pass
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_CONSTRAINT = re.compile(r"^\s*([a-z_]+)\s*(<=|>=)\s*([-+0-9.eE_,]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric <= bound`` or ``metric >= bound`` on an objective's metric."""

    metric: str
    operator: Literal["<=", ">="]
    bound: float

    @classmethod
    def parse(cls, text: Any) -> Constraint:
        """``"parameters<=300000"`` -> a constraint.

        Raises:
            ValueError: not of the form ``NAME<=NUMBER`` / ``NAME>=NUMBER`` on a known objective.
        """
        match = _CONSTRAINT.match(str(text))
        if not match:
            raise ValueError(
                f"a constraint is NAME<=NUMBER or NAME>=NUMBER, such as parameters<=300000, "
                f"but got {text!r}."
            )
        name, operator, number = match.groups()
        objective(name)
        try:
            bound = float(number.replace("_", "").replace(",", ""))
        except ValueError:
            raise ValueError(f"constraint {text!r}: {number!r} is not a number.") from None
        return cls(name, "<=" if operator == "<=" else ">=", bound)

    @property
    def before_training(self) -> bool:
        return objective(self.metric).before_training

    def violation(self, values: Mapping[str, float]) -> float:
        """How far ``values`` break the constraint: positive when broken, else zero or less
        (Optuna's ``constraints_func`` convention)."""
        value = values[self.metric]
        return value - self.bound if self.operator == "<=" else self.bound - value

    def holds(self, values: Mapping[str, float]) -> bool:
        return self.violation(values) <= 0

    def __str__(self) -> str:
        return f"{self.metric}{self.operator}{self.bound:g}"


def measure_before_training(
    params: Mapping[str, Any], names: Sequence[str], *, tta: bool, seed: int
) -> dict[str, float]:
    """The objectives ``names`` (all known before training) of the model that ``params``
    would serve, measured on a freshly built, untrained copy of it."""
    if not names:
        return {}
    import keras

    from model_space.cnn import build_cnn
    from model_space.tta import served_model
    from trainer.keras_session import reset_keras_session

    reset_keras_session()
    keras.utils.set_random_seed(seed)
    served = served_model(build_cnn(params, seed=seed), tta)
    return measure(Subject(served), names)
