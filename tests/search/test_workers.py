"""Two workers share one study on a real PostgreSQL server: exactly the requested trials."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import optuna
import pandas
import pytest
from optuna.trial import TrialState

from search import compare
from search.engines.optuna_storage import normalise
from tests.search.conftest import quiet_env, search_command

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
