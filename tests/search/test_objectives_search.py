"""Objectives and constraints end to end, on tiny real studies: the front, the infeasible
configurations left untrained, the chosen export measured again independently."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import pandas as pd
import pytest
from mlflow import MlflowClient

from search.dashboard.page import front_panel
from search.engines import open_engine
from search.front import choose
from search.results.records import load_records
from search.study_config import StudyConfig, StudyError
from search.study_run import run_study
from tests.search.conftest import tiny_config, write_study

pytestmark = pytest.mark.slow

SIZES = {"filters": {"values": ["16-32-64", "32-64-128"]}, "units": {"low": 128, "high": 256}}


@pytest.fixture(scope="module")
def two_objectives(tmp_path_factory: pytest.TempPathFactory) -> StudyConfig:
    """Five trials on accuracy and latency, retrained and exported."""
    studies_dir = tmp_path_factory.mktemp("front") / "studies"
    write_study(
        studies_dir,
        trials=5,
        epochs=2,
        pruner="none",
        objectives=["val_accuracy", "latency_ms"],
        space={**SIZES, "batch_size": {"value": 32}},
    )
    config = tiny_config(studies_dir)
    run_study(config)
    return config


def _dominated(row: pd.Series, table: pd.DataFrame) -> bool:
    better = (table["metric.val_accuracy"] >= row["metric.val_accuracy"]) & (
        table["metric.latency_ms"] <= row["metric.latency_ms"]
    )
    strictly = (table["metric.val_accuracy"] > row["metric.val_accuracy"]) | (
        table["metric.latency_ms"] < row["metric.latency_ms"]
    )
    return bool((better & strictly).any())


def test_the_compare_table_marks_the_front(two_objectives: StudyConfig) -> None:
    table = pd.read_csv(two_objectives.output_dir / "compare.csv")
    trials = table[table["state"] == "complete"].dropna(subset=["pareto"])
    assert len(trials) == 5 and trials["metric.latency_ms"].gt(0).all()
    assert {"feasible", "pareto", "metric.val_accuracy", "metric.latency_ms"} <= set(table)
    for _, row in trials.iterrows():
        assert bool(row["pareto"]) == (not _dominated(row, trials)), row["run_name"]
    assert trials["pareto"].astype(bool).sum() >= 1
    assert trials["feasible"].astype(bool).all()  # no constraints: every trained trial is


def test_the_export_records_every_objective_and_the_front(two_objectives: StudyConfig) -> None:
    metadata = json.loads((two_objectives.best_dir / "metadata.json").read_text())
    assert set(metadata["objectives"]) == {"val_accuracy", "latency_ms"}
    assert metadata["objectives"]["val_accuracy"]["value"] == metadata["validation"]["accuracy"]
    assert metadata["objectives"]["latency_ms"]["value"] > 0
    search = metadata["search"]
    table = pd.read_csv(two_objectives.output_dir / "compare.csv")
    front_names = set(table.loc[table["pareto"].eq(True), "run_name"])
    records = load_records(two_objectives)
    assert {r.run_name for r in records if r.key in search["front"]} == front_names
    assert search["choose"] == "best" and search["objectives"] == ["val_accuracy", "latency_ms"]
    best = max((r for r in records if r.state == "complete"), key=lambda r: (r.value, -r.number))
    assert search["chosen"] == best.key


def test_the_dashboard_draws_the_front_with_the_chosen_point(two_objectives) -> None:
    page = (two_objectives.output_dir / "dashboard.html").read_text()
    assert 'id="panel-front"' in page
    metadata = json.loads((two_objectives.best_dir / "metadata.json").read_text())
    panel = front_panel(load_records(two_objectives), two_objectives.objective_list(), metadata)
    traces = {trace.name: trace for trace in panel.figure.data}
    assert len(traces["trials"].x) == 5
    assert len(traces["Pareto front"].x) == len(metadata["search"]["front"])
    assert traces["retrained"].text[0].startswith(metadata["search"]["chosen"] + ":")


def test_choose_knee_retrains_the_fronts_bend(two_objectives: StudyConfig) -> None:
    config = tiny_config(two_objectives.studies_dir, choose="knee")
    result = run_study(config, search=False)
    knee = choose(load_records(config), config.objective_list(), "knee")
    assert result.best_model is not None and knee is not None
    metadata = json.loads((config.best_dir / "metadata.json").read_text())
    assert metadata["search"]["chosen"] == knee.key and metadata["search"]["choose"] == "knee"
    assert metadata["params"]["filters"] == knee.params["filters"]


def test_a_rule_no_trial_meets_is_one_clear_error(two_objectives: StudyConfig) -> None:
    config = tiny_config(two_objectives.studies_dir, choose="latency_ms<=0.00001")
    with pytest.raises(StudyError, match="no complete, feasible trial meets choose rule"):
        run_study(config, search=False)


def test_reopening_a_study_with_other_objectives_is_refused(two_objectives) -> None:
    config = tiny_config(two_objectives.studies_dir, objectives=["val_accuracy"])
    with pytest.raises(StudyError, match="was created with 2 objective"):
        open_engine(config)


def test_a_constraint_leaves_breaking_configurations_untrained(tmp_path: Path, fashion) -> None:
    studies_dir = tmp_path / "studies"
    small = {"filters": "16-32-64", "units": 128, "convs_per_block": 1}
    write_study(
        studies_dir,
        trials=2,
        epochs=1,
        constraints=["parameters<=150000"],
        space={**SIZES, "batch_size": {"value": 32}},
        enqueue=[{"filters": "32-64-128", "units": 256}, small],
    )
    config = tiny_config(studies_dir)
    run_study(config)

    records = load_records(config)
    infeasible = [r for r in records if r.feasible is False]
    assert infeasible and all(r.state == "failed" for r in infeasible)
    assert all("infeasible, not trained: parameters" in r.reason for r in infeasible)
    assert all(r.values["parameters"] > 150_000 for r in infeasible)
    assert sum(r.state in ("complete", "pruned") for r in records) == 2  # they do not count
    client = MlflowClient(config.mlflow_uri)
    for record in infeasible:  # its run exists, and no epoch of it was trained
        run = client.get_run(record.metrics.get("run_id") or _run_id(config, record.key))
        assert run.info.status == "FAILED"
        assert client.get_metric_history(run.info.run_id, "loss") == []
    trained = [r for r in records if r.state in ("complete", "pruned")]
    assert all(r.values["parameters"] <= 150_000 and r.feasible for r in trained)

    exported = keras.models.load_model(config.best_dir / "model.keras")
    assert exported.count_params() <= 150_000
    table = pd.read_csv(config.output_dir / "compare.csv")
    assert not table.loc[table["state"] == "failed", "feasible"].astype(bool).any()


def _run_id(config: StudyConfig, key: str) -> str:
    import optuna

    study = optuna.load_study(study_name=config.name, storage=config.storage_url)
    return str(study.trials[int(key.split("-")[1])].user_attrs["run_id"])
