"""The Optuna storage under several local workers: the study lock, SQLite's busy wait, and a
PostgreSQL server that stays away past the retry's wait."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from search import cli
from search.engines import optuna_retry
from search.engines.optuna_storage import StudyLock
from search.engines.optuna_study import open_study
from search.study_config import load_study
from search.testing.studies import tiny_config
from tests.search.conftest import Postgres


def test_the_study_lock_is_held_by_one_holder_at_a_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    order: list[str] = []
    first_holds = threading.Event()

    def first() -> None:
        with StudyLock(url, "s").held():
            first_holds.set()
            time.sleep(0.5)
            order.append("first released")

    thread = threading.Thread(target=first)
    thread.start()
    first_holds.wait()
    with StudyLock(url, "s").held():
        order.append("second holds")
    thread.join()
    assert order == ["first released", "second holds"]


def test_a_worker_waits_out_another_workers_write_instead_of_failing(tmp_path: Path) -> None:
    """Another process writes for 6 s, past Python's default 5-second busy timeout, which
    failed the trial with "database is locked"."""
    studies_dir = tmp_path / "studies"
    from search.testing.studies import write_study

    write_study(studies_dir)
    config = tiny_config(studies_dir)
    study = open_study(config)
    database = studies_dir / "tiny" / "optuna.db"
    assert database.exists()
    blocker = sqlite3.connect(database, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    timer = threading.Timer(6.0, blocker.rollback)
    timer.start()
    try:
        trial = study.ask()  # writes: waits for the blocker's transaction to end
    finally:
        timer.join()
        blocker.close()
    assert trial.number == 0


def test_a_server_away_past_the_wait_is_one_line_and_exit_2(
    tmp_path: Path,
    postgres: Postgres,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server stops and stays away longer than the retry waits (3 s here, 60 s in use):
    the call gives up, and the command's error is one line naming the server, exit 2."""
    from search.testing.studies import write_study

    studies_dir = tmp_path / "studies"
    write_study(studies_dir, name="away")
    config = load_study("away", {"storage": postgres.url}, studies_dir=studies_dir)
    study = open_study(config)
    monkeypatch.setattr(optuna_retry, "RETRY_SECONDS", 3.0)
    postgres.stop()
    try:
        code = cli.run_main(study.ask, "interrupted")
    finally:
        postgres.start()
    assert code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and "database server" in line, line
    assert any("trying again" in r.getMessage() for r in caplog.records)  # before giving up
    assert study.ask().number == 0  # the server back, the same study goes on
