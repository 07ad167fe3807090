"""The Optuna storage under several local workers: the study lock and SQLite's busy wait."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from search.engines.optuna_storage import StudyLock
from search.engines.optuna_study import open_study
from search.testing.studies import tiny_config


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
