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
    "SettingsError",
    "TrainingDiverged",
    "UserError",
    "disk_full",
]


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


def disk_full(error: BaseException, path: str | None = None) -> DiskFull | None:
    """``error`` as a ``DiskFull`` (writing ``path``, or the file its chain names) when it or
    an exception it was raised from or during says the disk is full; else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
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
        current = current.__cause__ or current.__context__
    return None
