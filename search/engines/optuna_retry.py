"""Optuna's storage, retried while its database server is away.

A PostgreSQL restart (a maintenance window, a failover) takes seconds; without a retry every
worker whose trial reports an epoch or ends during those seconds stops. ``RetryingStorage`` is
Optuna's ``RDBStorage`` whose calls, on a connection that was refused or cut after the study
was opened (``trainer.errors.StoreUnreachable``), are tried again with a growing pause for up
to ``RETRY_SECONDS``; after that the error stands, and the command stops with one line. Any
other error is raised at once. Heartbeats are not retried here: a missed beat is the next beat's
(``optuna_search.Heartbeat``).

A write whose commit reached the server while the reply was lost would be repeated; Optuna's
writes of a trial's values and state fail loudly when repeated on a finished trial, and one
whose creation was repeated is failed by the heartbeat check like any trial of a dead worker.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from optuna.storages import RDBStorage

from trainer import interrupts
from trainer.errors import StoreUnreachable, fault

logger = logging.getLogger(__name__)

#: How long a call keeps trying while the server is away.
RETRY_SECONDS = 60.0
#: The pauses between tries, the last repeated.
PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Not retried: the heartbeat thread handles its own misses; the rest never reach the server.
NOT_RETRIED = frozenset({"record_heartbeat", "remove_session", "get_heartbeat_interval"})
#: Private, but called from outside the storage: by Optuna's ``_CachedStorage`` (which every
#: study wraps around its storage: its reads and trial creation go through these) and by
#: ``fail_stale_trials`` at every ``ask``. Unretried, a restart stopped the search at once.
RETRIED_PRIVATE = frozenset(
    {
        "_create_new_trial",
        "_get_best_trial_id",
        "_get_stale_trial_ids",
        "_get_trials",
        "_set_trial_param",
    }
)
#: Set while a retried call runs in this thread: a call it makes is not retried again.
_inside = threading.local()


def _retried(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: RetryingStorage, *args: Any, **kwargs: Any) -> Any:
        if getattr(_inside, "active", False):
            return method(self, *args, **kwargs)
        _inside.active = True
        try:
            return _retrying(self, method, name, *args, **kwargs)
        finally:
            _inside.active = False

    return call


def _retrying(
    self: RetryingStorage, method: Callable[..., Any], name: str, *args: Any, **kwargs: Any
) -> Any:
    deadline = time.monotonic() + RETRY_SECONDS
    tries = 0
    while True:
        try:
            result = method(self, *args, **kwargs)
        except Exception as error:  # only a lost server is retried; the rest is raised
            interrupts.raise_if_interrupt(error)
            if not self.retry or not isinstance(fault(error), StoreUnreachable):
                raise
            pause = PAUSES[min(tries, len(PAUSES) - 1)]
            if time.monotonic() + pause > deadline:
                raise
            if tries == 0:
                logger.warning(
                    "the study's database server is away (%s); trying again for up to %.0f s",
                    name,
                    RETRY_SECONDS,
                )
            tries += 1
            self.scoped_session.remove()  # a fresh session on a fresh connection
            time.sleep(pause)
            continue
        if tries:
            logger.info("the study's database server answers again (%s)", name)
        return result


class RetryingStorage(RDBStorage):
    """``RDBStorage`` retried on a lost connection (see the module) once ``retry`` is set: a
    server that does not answer when the study is opened is a wrong ``--storage`` as often
    as not, and is reported at once."""

    retry = False


for _name in dir(RDBStorage):
    _method = getattr(RDBStorage, _name)
    private = _name.startswith("_") and _name not in RETRIED_PRIVATE
    if private or _name in NOT_RETRIED or not callable(_method):
        continue
    setattr(RetryingStorage, _name, _retried(_method, _name))
