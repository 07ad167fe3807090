"""The project's one error taxonomy for bad input.

Every error a user can fix derives from ``UserError``: a malformed parameter or space
(``SpaceError``), a study file or flag (``search.study_config.StudyError``), the data set
(``trainer.errors.DataError``), an export folder (``trainer.errors.ExportError``), run
settings (``trainer.errors.SettingsError``), the cloud (``trainer.errors.CloudError``). Its
message is one line naming the fix; commands print it and exit with 2. Commands catch only
``UserError``, so a bug still shows its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input the user can fix; the message names the fix. Commands exit with 2."""

    exit_code = 2


class SpaceError(UserError, ValueError):
    """A parameter value, a parameter declaration or a narrowing of the space is wrong."""
