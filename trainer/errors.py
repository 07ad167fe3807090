"""The trainer's error types. All but ``TrainingDiverged`` are ``UserError``s: one clear line
for the user, and exit code 2 (see ``model_space.errors``)."""

from __future__ import annotations

from model_space.errors import UserError

__all__ = [
    "CloudError",
    "DataError",
    "ExportError",
    "SettingsError",
    "TrainingDiverged",
    "UserError",
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
