"""The engine's storage: an SQLAlchemy URL checked before any trial, and a study-wide lock.

SQLite (one machine) and PostgreSQL (several workers, several machines) are supported. The
lock makes "count the study's trials, then start one" atomic across workers, so together they
run exactly the requested number of trials.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from search.study_config import StudyError

SUPPORTED = ("sqlite", "postgresql")


def normalise(url: str) -> str:
    """Checks the URL's form; ``postgresql://`` uses the installed psycopg 3 driver.

    Raises:
        StudyError: not a URL, or not SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StudyError(
            f"--storage {url!r} is not an SQLAlchemy URL; use sqlite:///path/to/optuna.db or "
            "postgresql://user:password@host:5432/database."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in SUPPORTED:
        raise StudyError(
            f"--storage {parsed.render_as_string()} uses {backend}; supported: sqlite, postgresql."
        )
    if backend == "postgresql" and parsed.get_driver_name() in ("psycopg2", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.database:
        Path(parsed.database).absolute().parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def describe(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


class StudyLock:
    """A lock shared by every worker of one study: a file lock for SQLite, an advisory lock
    on the server for PostgreSQL."""

    def __init__(self, url: str, study: str) -> None:
        parsed = make_url(url)
        self._key = int.from_bytes(hashlib.sha256(study.encode()).digest()[:8], "big", signed=True)
        self._engine: Any = None
        self._file: Path | None = None
        if parsed.get_backend_name() == "sqlite":
            self._file = Path(f"{parsed.database or 'memory'}.{study}.lock").absolute()
        else:
            self._engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)

    @contextmanager
    def held(self) -> Iterator[None]:
        if self._file is not None:
            with open(self._file, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self._engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": self._key})
            try:
                yield
            finally:
                connection.execute(
                    sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
