"""Watching a trial's tail: the time from its last epoch's end to the trial's end.

It should take a fraction of a second (the run's last metrics, the checkpoint removed); a study
once saw 6 of 30 trials sit 35-53 s there, intermittently. ``TailWatch`` arms Python's
``faulthandler`` at each epoch's end and disarms it at the next epoch's start, so when a
trial's tail (or any pause between epochs) passes ``DUMP_AFTER_SECONDS``, every thread's stack
is written to stderr, once: the log then says where the time went. ``seconds`` is the tail as
measured, which the trial records and warns about past ``WARN_AFTER_SECONDS``.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import sys
import time
from typing import Any

import keras

logger = logging.getLogger(__name__)

#: A tail longer than this is logged as a warning.
WARN_AFTER_SECONDS = 5.0
#: A tail longer than this writes every thread's stack to stderr.
DUMP_AFTER_SECONDS = 15.0


class TailWatch(keras.callbacks.Callback):
    """A callback of the trial's fit; ``stop()`` it when the trial has ended."""

    def __init__(self, dump_after: float = DUMP_AFTER_SECONDS) -> None:
        super().__init__()
        self.dump_after = dump_after
        self.last_epoch_end: float | None = None
        self.seconds = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        faulthandler.cancel_dump_traceback_later()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.last_epoch_end = time.monotonic()
        with contextlib.suppress(ValueError, OSError, AttributeError):  # stderr without an fd
            faulthandler.dump_traceback_later(self.dump_after, repeat=False, file=sys.stderr)

    def stop(self) -> float:
        """Disarms the watch; returns the tail in seconds (0 when no epoch ended)."""
        faulthandler.cancel_dump_traceback_later()
        if self.last_epoch_end is not None:
            self.seconds = time.monotonic() - self.last_epoch_end
        return self.seconds
