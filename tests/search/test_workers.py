"""Workers sharing a study: two processes on a real PostgreSQL server, and ``--workers N``
under one parent on SQLite; exactly the requested trials either way."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pandas
import pytest
from optuna.trial import TrialState

from search import compare
from search.engines.optuna_storage import normalise
from search.engines.optuna_study import is_counted
from search.study_config import load_study
from search.tracking import open_tracker
from search.workers import WORKER_ENV
from tests.search.conftest import (
    Postgres,
    quiet_env,
    search_command,
    tiny_config,
    wait_for_line,
    write_study,
)

pytestmark = pytest.mark.slow


def test_two_workers_share_one_postgres_study(studies_dir: Path, postgres_url: str) -> None:
    command = search_command(
        studies_dir,
        "--storage",
        postgres_url,
        "--trials",
        "4",
        "--epochs",
        "1",
        "--no-retrain",
        "--tracking",
        "none",
    )
    workers = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=quiet_env()
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], (
        outputs[0][-2000:] + outputs[1][-2000:]
    )

    started = [set(re.findall(r"trial optuna-(\d+) started", output)) for output in outputs]
    assert started[0].isdisjoint(started[1]), "no trial number runs twice"
    assert started[0] | started[1] == {"0", "1", "2", "3"}
    assert all(started), "both workers ran trials"

    trials = optuna.load_study(study_name="tiny", storage=normalise(postgres_url)).get_trials()
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)

    argv = ["--study", "tiny", "--studies-dir", str(studies_dir), "--storage", postgres_url]
    assert compare.main([*argv, "--tracking", "none"]) == 0
    table = pandas.read_csv(studies_dir / "tiny" / "compare.csv")
    assert len(table) == 4 and list(table.columns[:2]) == ["run_name", "state"]
    assert set(table["state"]) <= {"complete", "pruned"}


def test_two_workers_ride_out_a_postgres_restart(
    studies_dir: Path, postgres: Postgres, tmp_path: Path
) -> None:
    """The server stops for 8 s while both workers train (a restart, for real): each call in
    between waits for it and goes on, heartbeats skip a beat; both workers finish, each trial
    number ran once, one MLflow run per trial (their shared SQLite store, created by both at
    once, too)."""
    write_study(studies_dir, name="restart", heartbeat_seconds=30)
    command = search_command(
        studies_dir, "--study", "restart", "--storage", postgres.url, "--trials", "6",
        "--epochs", "3", "--pruner", "none", "--no-retrain",
    )  # fmt: skip
    logs = [tmp_path / f"worker-{index}.log" for index in range(2)]
    workers = [
        subprocess.Popen(
            command, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True, env=quiet_env()
        )
        for log in logs
    ]
    deadline = time.monotonic() + 300
    while sum("epoch 1/3" in log.read_text() for log in logs) < 2:
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers)
        time.sleep(0.1)
    postgres.stop()
    time.sleep(8)
    postgres.start()
    codes = [worker.wait(timeout=600) for worker in workers]
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert any("the study's database server is away" in output for output in outputs)
    assert "Traceback" not in "".join(outputs)

    storage = normalise(postgres.url)
    trials = optuna.load_study(study_name="restart", storage=storage).get_trials()
    assert sorted(t.number for t in trials) == list(range(6))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    config = load_study("restart", {"storage": postgres.url}, studies_dir=studies_dir)
    tracker = open_tracker(config, create=False)
    keys = sorted(run.key for run in tracker.runs())
    assert keys == sorted(f"optuna-{n}" for n in range(6)), "one run per trial"


def test_workers_share_a_sqlite_study_and_the_retrain_reuses_their_compiled_programs(
    studies_dir: Path,
) -> None:
    """``--workers 2`` under JAX: exactly the requested trials, each number once, two at a
    time, one MLflow run each; the retrain in the parent loads the workers' XLA programs from
    the study's compilation cache."""
    env = {**quiet_env(), "KERAS_BACKEND": "jax"}
    command = search_command(studies_dir, "--workers", "2", "--trials", "4", "--epochs", "1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    config = tiny_config(studies_dir)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    spans = [(t.datetime_start, t.datetime_complete) for t in trials]
    assert any(a[0] < b[1] and b[0] < a[1] for a, b in itertools.combinations(spans, 2))
    for worker in ("[w1]", "[w2]"):
        assert re.search(rf"^{re.escape(worker)} .*trial optuna-\d+ started", done.stderr, re.M)

    runs = open_tracker(config, create=False).runs()
    keys = sorted(run.key for run in runs if run.key.startswith("optuna-"))
    assert keys == ["optuna-0", "optuna-1", "optuna-2", "optuna-3"]
    assert (config.output_dir / "jax_cache").is_dir()
    (loaded,) = re.findall(
        r"^\S+ \S+ INFO search.study_run: JAX .*?(\d+) programs loaded", done.stderr, re.M
    )
    assert int(loaded) > 0, "the retrain compiled everything again"


def test_ctrl_c_stops_every_worker_and_the_same_command_resumes(studies_dir: Path) -> None:
    command = search_command(
        studies_dir, "--workers", "2", "--trials", "4", "--epochs", "3", "--no-retrain"
    )
    command += ["--pruner", "none", "--tracking", "none"]
    parent = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=quiet_env()
    )
    wait_for_line(parent, "epoch 1/3")
    parent.send_signal(signal.SIGINT)
    output = parent.communicate(timeout=120)[0]
    assert parent.returncode == 130, output[-2000:]
    assert "run the same command to resume" in output

    config = tiny_config(studies_dir)
    study = optuna.load_study(study_name="tiny", storage=config.storage_url)
    assert not [t for t in study.get_trials() if t.state == TrialState.RUNNING], "a worker lives"

    again = subprocess.run(command, capture_output=True, text=True, env=quiet_env(), timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    counted = [t for t in study.get_trials() if is_counted(t)]
    assert len(counted) == 4 and all(t.state != TrialState.RUNNING for t in counted)


def test_keras_tuner_refuses_workers_in_one_line(studies_dir: Path) -> None:
    command = search_command(studies_dir, "--workers", "2", "--engine", "keras-tuner")
    done = subprocess.run(command, capture_output=True, text=True, env=quiet_env(), timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "--workers 2 needs engine optuna" in line


def test_workers_killed_again_and_again_are_started_again_and_lose_nothing(
    studies_dir: Path, fashion
) -> None:  # type: ignore[no-untyped-def]
    """``kill -9`` (what the out-of-memory killer sends) to a worker in the middle of a trial,
    three times in one ``--workers 2`` search: the parent starts each again, the killed
    trials are failed uncounted and continued, and the command ends 0 with every requested
    trial, one run per trial, and a complete export."""
    import keras
    import numpy as np

    command = search_command(
        studies_dir, "--workers", "2", "--trials", "6", "--epochs", "3", "--pruner", "none",
        "--retrain-epochs", "1",
    )  # fmt: skip
    parent = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=quiet_env()
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(parent.stdout or []))
    reader.start()
    for _ in range(3):
        # the worker that printed a trial's first epoch is inside that trial: kill that one (a
        # worker just started again may not have a trial yet, and its death would fail none)
        seen = len(lines)
        deadline = time.monotonic() + 240
        while not (shown := [line for line in lines[seen:] if "epoch 1/3" in line]):
            assert time.monotonic() < deadline and parent.poll() is None, "".join(lines[-40:])
            time.sleep(0.1)
        slot = re.match(r"\[w(\d+)\] ", shown[0])
        assert slot, shown[0]
        os.kill(_worker_pid(parent.pid, int(slot.group(1))), signal.SIGKILL)
    parent.wait(timeout=600)
    reader.join()
    output = "".join(lines)
    assert parent.returncode == 0, output[-4000:]
    assert len(re.findall(r"was killed \(signal 9\); starting it again", output)) == 3

    config = tiny_config(studies_dir)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    counted = [t for t in trials if is_counted(t)]
    assert len(counted) == 6 and all(t.state == TrialState.COMPLETE for t in counted)
    killed = [t for t in trials if not is_counted(t)]
    assert len(killed) == 3 and all(t.state == TrialState.FAIL for t in killed)

    runs = open_tracker(config, create=False).runs()
    trial_runs = [run for run in runs if run.key.startswith("optuna-")]
    assert sorted(run.key for run in trial_runs) == sorted(f"optuna-{t.number}" for t in trials)
    states = {run.key: run.state for run in trial_runs}
    assert {states[f"optuna-{t.number}"] for t in killed} == {"interrupted"}
    assert {states[f"optuna-{t.number}"] for t in counted} == {"complete"}

    metadata = json.loads((config.output_dir / "best" / "metadata.json").read_text())
    keras.config.set_dtype_policy("float32")
    exported = keras.models.load_model(config.output_dir / "best" / "model.keras")
    predicted = exported.predict(fashion.test_images, verbose=0).argmax(axis=1)
    assert np.mean(predicted == fashion.test_labels) == pytest.approx(
        metadata["test"]["accuracy"], abs=1e-4
    )


def _worker_pid(parent: int, slot: int) -> int:
    """The process id of ``--workers`` slot ``slot`` (its ``SEARCH_WORKER`` environment)."""
    children = subprocess.run(
        ["pgrep", "-P", str(parent)], capture_output=True, text=True, check=True
    ).stdout.split()
    for child in children:
        try:
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except (ProcessLookupError, FileNotFoundError):
            continue  # ended between pgrep and the read (a killed worker being torn down)
        if any(entry.startswith(f"{WORKER_ENV}={slot}/".encode()) for entry in environ):
            return int(child)
    raise AssertionError(f"no worker {slot} among the children {children}")
