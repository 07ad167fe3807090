"""``python -m trainer.train``: flags named as the space, one-line errors, hypertune."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model_space import CNN_SPACE
from trainer.train import build_parser, main

TINY = ["--subset", "100", "--validation-size", "100", "--epochs", "1", "--augmentation", "0"]


def test_every_space_parameter_is_a_flag_of_the_same_name() -> None:
    options = {opt for action in build_parser()._actions for opt in action.option_strings}
    assert {f"--{name}" for name in CNN_SPACE.names} <= options
    args = build_parser().parse_args(["--conv-dropout=0.1", "--batch_size=64.0", "--units", "256"])
    assert (args.conv_dropout, args.batch_size, args.units) == (0.1, 64, 256)


def test_defaults_are_the_space_defaults() -> None:
    args = build_parser().parse_args([])
    assert {name: getattr(args, name) for name in CNN_SPACE.names} == CNN_SPACE.defaults()


def test_missing_data_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    code = main(["--data-dir", str(tmp_path / "nowhere"), "--model-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: --data-dir") and "dataset-fashion-mnist" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_zero_epochs_is_refused(tmp_path: Path, capsys) -> None:
    assert main(["--epochs", "0", "--model-dir", str(tmp_path / "m")]) == 2
    assert "epochs must be at least 1" in capsys.readouterr().err


def test_unwritable_model_dir_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    assert main([*TINY, "--model-dir", str(tmp_path / "file" / "model")]) == 2
    err = capsys.readouterr().err.strip()
    assert "Cannot write to --model-dir" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_tuning_trial_reports_and_exports_to_aip_model_dir(tmp_path: Path, monkeypatch) -> None:
    metric_file = tmp_path / "hypertune" / "output.metrics"
    monkeypatch.setenv("AIP_MODEL_DIR", str(tmp_path / "trial-7" / "model"))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "7")
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metric_file))
    assert main([*TINY, "--units=128", "--batch_size=32"]) == 0
    lines = metric_file.read_text().splitlines()
    report = json.loads(lines[-1])
    assert report["trial"] == "7"
    assert 0.0 <= float(report["val_accuracy"]) <= 1.0
    exported = json.loads((tmp_path / "trial-7" / "model" / "metadata.json").read_text())
    assert float(report["val_accuracy"]) == pytest.approx(exported["validation"]["accuracy"])
    assert exported["params"]["units"] == 128


@pytest.mark.slow
def test_entrypoint_runs_as_a_process(tmp_path: Path) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("AIP_MODEL_DIR", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainer.train",
            *TINY,
            "--model-dir",
            str(tmp_path / "m"),
            "--hypertune",
        ],
        capture_output=True,
        text=True,
        env={**env, "CLOUD_ML_HP_METRIC_FILE": str(tmp_path / "metrics")},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "test accuracy" in result.stdout
    assert "epoch 1/1" in result.stderr
    assert (tmp_path / "m" / "saved_model.pb").exists()
    assert "val_accuracy" in (tmp_path / "metrics").read_text()


@pytest.mark.slow
def test_a_trial_reports_each_objective_under_its_own_tag(tmp_path: Path, monkeypatch) -> None:
    """What a two-metric Vertex tuning job reads: one tag per objective, the primary last;
    the export's metadata has each objective measured on the served model."""
    metric_file = tmp_path / "output.metrics"
    monkeypatch.setenv("AIP_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "3")
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metric_file))
    objectives = "val_accuracy,latency_ms,parameters"
    assert main([*TINY, "--units=128", "--batch_size=32", f"--objectives={objectives}"]) == 0
    reports = [json.loads(line) for line in metric_file.read_text().splitlines()]
    names = set(objectives.split(","))
    tags = [next(k for k in r if k in names) for r in reports]
    assert sorted(tags) == sorted(objectives.split(",")) and tags[-1] == "val_accuracy"
    exported = json.loads((tmp_path / "model" / "metadata.json").read_text())
    measured = exported["objectives"]
    assert set(measured) == set(objectives.split(","))
    assert measured["parameters"]["value"] == exported["parameter_count"]
    assert measured["latency_ms"]["value"] > 0 and measured["latency_ms"]["threads"] >= 1
    by_tag = {tag: float(r[tag]) for tag, r in zip(tags, reports, strict=True)}
    assert by_tag["parameters"] == measured["parameters"]["value"]
