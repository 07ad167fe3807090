"""The trainer's error types. All but ``TrainingDiverged`` are ``UserError``s: one clear line
for the user, and exit code 2 (see ``model_space.errors``)."""

from __future__ import annotations

import errno

from model_space.errors import UserError

__all__ = [
    "CloudError",
    "DataError",
    "DiskFull",
    "ExportError",
    "MissingExtra",
    "SettingsError",
    "StoreLocked",
    "StoreUnreachable",
    "TrainingDiverged",
    "UserError",
    "chain",
    "disk_full",
    "fault",
]


class MissingExtra(UserError):
    """An optional part of the package (an extra: a backend, a tracker, PostgreSQL's driver,
    Keras Tuner, the dashboards) is not installed; the message names the ``pip install`` that
    adds it (``trainer.extras``)."""


class DataError(UserError):
    """The data set is missing, truncated or corrupt; the message names the file and the fix."""


class ExportError(UserError):
    """The model directory cannot be written; the message names the path and the fix."""


class SettingsError(UserError, ValueError):
    """A run setting (epochs, seed, subset, validation size) is out of range."""


class CloudError(UserError):
    """Google Cloud refused or cannot be reached: credentials, project, quota, permission."""


class TrainingDiverged(Exception):
    """The loss became NaN or infinite; the trial or job failed, its settings are not at fault."""


class DiskFull(UserError):
    """No space was left where a file was being written. What was being written is removed
    (every write is whole or not at all) and what finished before stays, so the same command
    continues once there is space. Not a trial's own failure: the search stops."""


#: The error numbers and the messages (TensorFlow's, SQLite's) of a full disk or quota.
NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
NO_SPACE_TEXTS = ("No space left on device", "database or disk is full", "Disk quota exceeded")


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def disk_full(error: BaseException, path: str | None = None) -> DiskFull | None:
    """``error`` as a ``DiskFull`` (writing ``path``, or the file its chain names) when it or
    an exception it was raised from or during says the disk is full; else None."""
    for current in chain(error):
        if isinstance(current, DiskFull):
            return current
        if (isinstance(current, OSError) and current.errno in NO_SPACE_ERRNOS) or any(
            text in str(current) for text in NO_SPACE_TEXTS
        ):
            where = path or getattr(current, "filename", None)
            place = f" writing {where}" if where else ""
            return DiskFull(
                f"no space left on the device{place}: free some space there and run the same "
                "command again (nothing was left half-written; what finished is kept)"
            )
    return None


class StoreLocked(UserError):
    """A SQLite store (the Optuna study's, MLflow's) stayed locked by another process for
    longer than its wait (Optuna's storage 60 s, MLflow's 20 s). Not a trial's own failure:
    the search stops, and the same command continues it."""


#: SQLite's message when another connection holds the lock past the busy wait.
LOCKED_TEXT = "database is locked"


class StoreUnreachable(UserError):
    """The study's database server (PostgreSQL: Optuna's storage, MLflow's store) went away:
    restarted, or the network between. Not a trial's own failure: the search stops, and the
    same command continues it once the server is back."""


#: How the PostgreSQL driver and SQLAlchemy say the server went away or refused.
UNREACHABLE_TEXTS = (
    "Connection refused",
    "connection failed",
    "server closed the connection unexpectedly",
    "terminating connection due to administrator command",
    "the database system is shutting down",
    "the database system is starting up",
    "consuming input failed",
)


def fault(error: BaseException) -> UserError | None:
    """``error`` as the fault of the machine it stands for (a full disk, a SQLite store
    locked by another process, the database server gone, an extra not installed): one line
    naming the fix, and the search stops; else None."""
    full = disk_full(error)
    if full is not None:
        return full
    from trainer.extras import missing_extra

    missing = missing_extra(error)
    if missing is not None:
        return missing
    for current in chain(error):
        if isinstance(current, StoreLocked | StoreUnreachable):
            return current
        if any(text in str(current) for text in UNREACHABLE_TEXTS):
            return StoreUnreachable(
                "the study's database server went away (restarted, or the network between): "
                "run the same command again once it answers; finished trials are kept"
            )
        if LOCKED_TEXT in str(current):
            return StoreLocked(
                "a SQLite store of the study (optuna.db or mlflow.db) stayed locked by another "
                "process: close what holds it (an mlflow ui or a sqlite3 shell on it, another "
                "search of the study) and run the same command again; for workers on several "
                "machines, use PostgreSQL (--storage, --tracking-uri)"
            )
    return None
