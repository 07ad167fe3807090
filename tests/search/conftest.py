"""Tiny real studies: a few hundred Fashion-MNIST images, one or two epochs, seeded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from search.study_config import StudyConfig
from search.study_run import StudyResult
from search.testing.studies import studies_dir as studies_dir
from search.testing.studies import tiny_config, write_study


def search_command(studies_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "search.run",
        "--study",
        "tiny",
        "--studies-dir",
        str(studies_dir),
        *args,
    ]


def trial_runs(client: Any, experiment_id: str) -> list[Any]:
    """The experiment's MLflow runs of trials and retrains, without the study's parent run."""
    from search.tracking.mlflow_tracker import PARENT_TAG

    runs = client.search_runs([experiment_id])
    return [run for run in runs if PARENT_TAG not in run.data.tags]


def quiet_env() -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    for name in ("AIP_MODEL_DIR", "CLOUD_ML_TRIAL_ID", "KERAS_BACKEND"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="session")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyConfig, StudyResult]:
    """One tiny real Optuna study, searched, retrained, registered, with its dashboard.

    Its trials are too short to learn much (inference-mode BatchNormalization needs more
    steps), so ASHA would prune all but one; without a pruner every trial completes and the
    dashboard has the two completed trials its study-wide panels need."""
    from search.study_run import run_study

    studies_dir = tmp_path_factory.mktemp("finished") / "studies"
    write_study(studies_dir, pruner="none")
    config = tiny_config(studies_dir)
    return config, run_study(config)


@dataclass(frozen=True)
class Postgres:
    """A throwaway PostgreSQL server: its URL, and its stop and start (a restart, for real)."""

    url: str
    control: list[str]

    def stop(self) -> None:
        subprocess.run([*self.control, "-m", "fast", "stop"], check=True, capture_output=True)

    def start(self) -> None:
        subprocess.run([*self.control, "start"], check=True, capture_output=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server on loopback, started from Debian's binaries.

    Its folder is outside pytest's private temporary tree, which the ``postgres`` user (the
    server refuses to run as root) cannot enter.
    """
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; ./setup.sh installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed (./setup.sh installs Debian's postgresql)")
    bin_dir = binaries[-1].parent
    data = Path(tempfile.mkdtemp(prefix="search-postgres-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "initdb"),
            "-D",
            str(data / "db"),
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=50"
    control = [
        *as_postgres,
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data / "db"),
        "-o",
        options,
        "-w",
        "-l",
        str(data / "server.log"),
    ]
    server = Postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres", control)
    server.start()
    try:
        yield server
    finally:
        subprocess.run([*control, "-m", "fast", "stop"], check=False, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres: Postgres) -> str:
    return postgres.url


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 240) -> list[str]:
    """Reads ``process``'s output until a line contains ``needle``; returns the lines read."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never appeared:\n{''.join(lines[-30:])}")
