"""The failure policy: which exceptions are a trial's own failure, and which are bugs.

A trial fails by its own fault when its configuration cannot train here: out of memory (Python's
``MemoryError``, TensorFlow's ``ResourceExhaustedError``, an XLA ``RESOURCE_EXHAUSTED``, torch's
``OutOfMemoryError``), or a value the space or the trainer refuses (a ``UserError``). A NaN loss
and a broken constraint are not exceptions: the trial reports them itself. Such a trial is
recorded failed with its reason, counts toward ``trials``, and the search goes on.

Anything else (a ``TypeError`` from a refactor, a ``KeyError``, an ``AssertionError``) is a bug:
the trial's run ends failed with the error, the engine records the trial as failed and not
counted (its checkpoint stays, so the same command continues it once the bug is fixed), and
the search stops at once with the traceback and exit code 1. A full disk or a store locked by
another process stops it the same way, but as one line and exit code 2
(``trainer.errors.fault``). Optuna's default does the same
(``catch=()``); a bug repeated in every trial would otherwise look like a finished search.
"""

from __future__ import annotations

from model_space.errors import UserError
from trainer.errors import fault

#: Exception class names that mean "out of memory" in the backends, matched by name so that
#: none of them is imported here.
OUT_OF_MEMORY = ("ResourceExhaustedError", "OutOfMemoryError")


def is_trial_failure(error: BaseException) -> bool:
    """Whether ``error`` is the trial's own failure (the search goes on), not a bug. A full
    disk or a locked store is neither: every later trial would fail too, so it stops the
    search as one line."""
    if fault(error) is not None:
        return False
    if isinstance(error, MemoryError | UserError):
        return True
    for kind in type(error).__mro__:
        if kind.__name__ in OUT_OF_MEMORY:
            return True
    return type(error).__name__ == "XlaRuntimeError" and "RESOURCE_EXHAUSTED" in str(error)
