"""The trainer's error types: each is one clear line for the user, and exit code 2."""

from __future__ import annotations


class DataError(Exception):
    """The data set is missing, truncated or corrupt; the message names the file and the fix."""


class ExportError(Exception):
    """The model directory cannot be written; the message names the path and the fix."""


class TrainingDiverged(Exception):
    """The loss became NaN or infinite; the trial or job failed, its settings are not at fault."""
