"""A wall-clock budget for a whole ``search.run``: trials stop in time for the retrain to fit.

The clock starts when the command starts. A new trial starts only while the time left covers a
typical trial plus the retrain of the best trial so far, estimated from that trial's measured
throughput; a running trial stops at an epoch's end when one more epoch would eat into the
retrain's time; and the retrain trains only as many epochs as the time left holds (its
learning-rate schedule is then complete over those epochs). So the command ends within its
budget by construction, unlike a timeout checked only between trials (optuna/optuna#3009).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Building, compiling, evaluating on the test set twice over (flip TTA), exporting and
#: registering the retrained model, beyond its epochs (measured: 40 to 70 s on 2 CPU cores).
RETRAIN_OVERHEAD_SECONDS = 90.0
#: Epoch times on a shared machine vary by 20%: estimates are taken this much larger.
SAFETY = 1.15

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: Any) -> float:
    """``"60m"``, ``"1h30m"``, ``"90s"``, ``"2h"`` -> seconds.

    Raises:
        ValueError: anything else, with the accepted forms.
    """
    match = _DURATION.match(str(text).strip().lower()) if text is not None else None
    if not match or not any(match.groups()):
        raise ValueError(f"budget must be a duration such as 60m, 1h30m or 900s, but got {text!r}.")
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    total = 3600 * hours + 60 * minutes + seconds
    if total <= 0:
        raise ValueError(
            f"budget must be longer than zero, such as 60m, 1h30m or 900s, but got {text!r}."
        )
    return total


@dataclass(frozen=True)
class Throughput:
    """Images per second of one configuration, measured on a trial's steady epochs."""

    train: float
    validation: float
    compile_seconds: float = 0.0
    #: the fastest steady epoch, training and validation (the first epoch compiles)
    steady_epoch_seconds: float = 0.0

    def epoch_seconds(self, train_images: int, validation_images: int) -> float:
        return train_images / self.train + validation_images / self.validation

    def as_attrs(self) -> dict[str, float]:
        return {
            "train_images_per_second": self.train,
            "val_images_per_second": self.validation,
            "compile_seconds": self.compile_seconds,
            "steady_epoch_seconds": self.steady_epoch_seconds,
        }

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> Throughput | None:
        try:
            return cls(
                float(attrs["train_images_per_second"]),
                float(attrs["val_images_per_second"]),
                float(attrs.get("compile_seconds", 0.0)),
                float(attrs.get("steady_epoch_seconds", 0.0)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    @classmethod
    def measure(
        cls, history: Mapping[str, Sequence[float]], train_images: int, validation_images: int
    ) -> Throughput | None:
        """From the per-epoch ``epoch_seconds`` and ``val_seconds`` that ``EpochLog`` logs;
        the first epoch (compilation) counts only when it is the only one. The fastest steady
        epoch is taken, as ``timeit`` does: other work on a shared machine only ever slows an
        epoch (epochs of one trial were seen to take 23 to 42 s on 2 cores), and a slowed
        estimate would cut the search short for a retrain that runs faster."""
        epochs = list(history.get("epoch_seconds", ()))
        validations = list(history.get("val_seconds", ()))
        if not epochs or len(validations) != len(epochs):
            return None
        steady = slice(1, None) if len(epochs) > 1 else slice(None)
        pairs = list(zip(epochs[steady], validations[steady], strict=True))
        train = min(epoch - validation for epoch, validation in pairs)
        validation = min(validation for _, validation in pairs)
        if train <= 0 or validation <= 0:
            return None
        fastest = min(epochs[steady])
        compile_seconds = max(0.0, epochs[0] - fastest)
        return cls(train_images / train, validation_images / validation, compile_seconds, fastest)


class Budget:
    """The time a command may take; ``seconds=None`` is no limit."""

    def __init__(
        self,
        seconds: float | None,
        clock: Callable[[], float] = time.monotonic,
        started: float | None = None,
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self.started = clock() if started is None else started

    @property
    def limited(self) -> bool:
        return self.seconds is not None

    def left(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - (self.clock() - self.started)

    def allows_trial(self, trial_seconds: float, retrain_seconds: float) -> bool:
        """Whether a trial of about ``trial_seconds`` and then the retrain still fit."""
        return self.left() >= SAFETY * (trial_seconds + retrain_seconds)


def epochs_that_fit(seconds: float, epoch_seconds: float, most: int) -> int:
    """The most whole epochs, up to ``most``, of ``epoch_seconds`` that fit in ``seconds``
    with ``SAFETY``'s share of one epoch to spare (0 or less: none fits).

    The margin is one epoch's, not every epoch's: a fit under ``StopAtBudget`` re-plans at
    each epoch's end from its latest epoch, so a slowdown surprises it for the epoch under way
    only, and the last epoch's margin keeps the command within its budget. A margin on every
    epoch left (15% of 17 epochs: 2.5 epochs) was taken away at the first decision and never
    given back, although the later decisions would have cut in time."""
    if epoch_seconds <= 0:
        return most if seconds >= 0 else 0
    return min(most, math.floor(seconds / epoch_seconds - (SAFETY - 1)))


def retrain_seconds(epochs: int, epoch_seconds: float, runs: int = 1) -> float:
    """The estimated wall time of ``runs`` retrains of ``epochs`` epochs."""
    return runs * (epochs * epoch_seconds + RETRAIN_OVERHEAD_SECONDS)
