"""The engine's storage: an SQLAlchemy URL checked before any trial, and a study-wide lock.

SQLite (one machine) and PostgreSQL (several workers, several machines) are supported. The
lock makes "count the study's trials, then start one" atomic across workers, so together they
run exactly the requested number of trials.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from filelock import FileLock
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from search.study_config import StudyError

SUPPORTED = ("sqlite", "postgresql")
#: How long an SQLite writer waits for another worker's write to end before "database is
#: locked" (Python's default is 5 s; Optuna's heartbeats and trials of several local workers
#: write together).
SQLITE_BUSY_SECONDS = 60.0


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


def engine_kwargs(url: str) -> dict[str, Any]:
    """SQLAlchemy's engine settings for the storage: SQLite waits for another worker's write
    (a busy timeout); PostgreSQL checks a pooled connection before use, so a restarted server
    costs a reconnect, not the trial."""
    if make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_SECONDS}}
    return {"pool_pre_ping": True}


def describe(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


class StudyLock:
    """A lock shared by every worker of one study: a file lock for SQLite (``filelock``, on
    every platform), an advisory lock on the server for PostgreSQL."""

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
            with FileLock(self._file):
                yield
            return
        with self._engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": self._key})
            try:
                yield
            finally:
                connection.execute(
                    sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
