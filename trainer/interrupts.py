"""Ctrl-C and SIGTERM (a preempted machine) as ``KeyboardInterrupt``, and remembered.

Python raises the interrupt wherever the main thread is. Inside C code that calls back into
Python (Keras building a model, TensorFlow tracing) it can surface as another exception: seen in
a test run, ``SystemError: Objects/listobject.c:338: bad argument to internal function``, which
the trial took for its own failure and the search went on. Code that catches ``Exception`` asks
``as_interrupt(error)`` first (or calls ``raise_if_interrupt(error)``) and raises the interrupt
the error stands for; a handler that only cleans up and re-raises keeps the interrupt as it is.
``tests/test_interrupt_rule.py`` holds every broad handler of the project to that.

A signal is remembered from its arrival until the command has handled it (``handled()``, at
the exit code 130), so a process that goes on afterwards (a test session, a notebook) does not
take its later errors for interrupts.
"""

from __future__ import annotations

import signal
from types import FrameType

_received: list[int] = []


def install() -> None:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` and are remembered (from now on)."""
    handled()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        _received.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def as_interrupt(error: BaseException) -> KeyboardInterrupt | None:
    """``error`` as the interrupt it stands for (``error`` itself, or a new one if an interrupt
    arrived since ``install()``: raise it ``from error``); else None."""
    if isinstance(error, KeyboardInterrupt):
        return error
    return KeyboardInterrupt(f"signal {_received[-1]}") if _received else None


def raise_if_interrupt(error: BaseException) -> None:
    """Raises the interrupt ``error`` stands for, if any (``from error``)."""
    interrupt = as_interrupt(error)
    if interrupt is error:
        raise interrupt
    if interrupt is not None:
        raise interrupt from error


def handled() -> None:
    """The signals received so far have been dealt with: forget them."""
    _received.clear()
