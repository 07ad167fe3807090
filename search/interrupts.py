"""Ctrl-C and SIGTERM (a preempted machine) as ``KeyboardInterrupt``, and remembered.

Python raises the interrupt wherever the main thread is. Inside C code that calls back into
Python (Keras building a model, TensorFlow tracing) it can surface as another exception: seen in
a test run, ``SystemError: Objects/listobject.c:338: bad argument to internal function``, which
the trial took for its own failure and the search went on. Code that catches ``Exception`` asks
``received()`` first and treats the error as the interrupt it stands for.
"""

from __future__ import annotations

import signal
from types import FrameType

_received: list[int] = []


def install() -> None:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` and are remembered."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        _received.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def received() -> bool:
    """Whether Ctrl-C or SIGTERM arrived since ``install()``."""
    return bool(_received)


def as_interrupt(error: BaseException) -> KeyboardInterrupt | None:
    """``error`` as the interrupt it stands for, if one arrived; else None."""
    if isinstance(error, KeyboardInterrupt):
        return error
    if _received:
        interrupt = KeyboardInterrupt(f"signal {_received[-1]}")
        interrupt.__cause__ = error
        return interrupt
    return None
