"""The catalogue of bad input, across every command: each case gives one line on stderr that
names the bad value and the fix, exit code 2, nothing half-written, and no secret echoed.

``{tmp}`` in an argument is the test's own folder; every case runs against a copy of the tiny
study in ``{tmp}/studies``. ``clean`` cases must leave neither the study's output folder nor
the model folder behind (input refused before anything is written).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from search import compare, dashboard, run, vertex
from tests.search.conftest import write_study
from trainer import train

COMMANDS: dict[str, Any] = {
    "trainer.train": train,
    "search.run": run,
    "search.compare": compare,
    "search.dashboard": dashboard,
    "search.vertex": vertex,
}
SECRET = "s3cr3t-pw"
STUDY = ["--study", "tiny", "--studies-dir", "{tmp}/studies"]
VERTEX = [*STUDY, "--image", "us-docker.pkg.dev/p/r/i:1", "--dry-run"]


class Case(NamedTuple):
    command: str
    argv: list[str]
    says: tuple[str, ...]
    clean: bool = True


CASES = [
    # trainer.train: the space, the run settings, the data, the export folder
    Case("trainer.train", ["--filters", "32-x-128"], ("32-x-128", "positive integers")),
    Case("trainer.train", ["--filters", "48-96-192"], ("48-96-192", "one of 16-32-64")),
    Case("trainer.train", ["--conv_dropout", "-0.1"], ("-0.1", "between 0 and 0.5")),
    Case("trainer.train", ["--batch_size", "100"], ("100", "one of 32, 64, 128, 256")),
    Case("trainer.train", ["--units", "many"], ("many", "expected an integer")),
    Case("trainer.train", ["--learning_rate", "5"], ("5", "learning_rate must be between")),
    Case("trainer.train", ["--epochs", "0"], ("epochs must be at least 1", "0")),
    Case("trainer.train", ["--epochs", "-3"], ("'-3'", "non-negative")),
    Case("trainer.train", ["--dense-dropout", "0.9"], ("0.9", "between 0.2 and 0.6")),
    Case("trainer.train", ["--dropout", "0.3"], ("--dropout", "unrecognized arguments")),
    Case(
        "trainer.train",
        ["--data-dir", "{tmp}/nowhere", "--model-dir", "{tmp}/model"],
        ("{tmp}/nowhere", "dataset-fashion-mnist"),
    ),
    Case(
        "trainer.train",
        ["--validation-size", "5", "--model-dir", "{tmp}/model"],
        ("validation_size must be between 10", "5"),
    ),
    Case(
        "trainer.train",
        ["--model-dir", "/proc/model", "--epochs", "1"],
        ("/proc/model", "writable"),
    ),
    # search.run: the study file, its keys and flags, storage, data, the cloud
    Case(
        "search.run",
        ["--study", "missing", "--studies-dir", "{tmp}/studies"],
        ("missing", "available: broken, flagged, tiny"),
    ),
    Case("search.run", [*STUDY, "--trials", "0"], ("trials must be a positive integer", "0")),
    Case(
        "search.run",
        [*STUDY, "--retrain-epochs", "20", "--retrain-max-epochs", "10"],
        ("retrain_max_epochs must be at least retrain_epochs (20)", "10"),
    ),
    Case("search.run", [*STUDY, "--engine", "ray"], ("'ray'", "optuna, keras-tuner")),
    Case("search.run", [*STUDY, "--algorithm", "grid"], ("'grid'", "tpe, random, cmaes, qmc")),
    Case("search.run", [*STUDY, "--pruner", "sometimes"], ("'sometimes'", "asha, hyperband")),
    Case("search.run", [*STUDY, "--tracking", "wandb"], ("'wandb'", "mlflow, vertex, none")),
    Case("search.run", [*STUDY, "--budget", "an hour"], ("'an hour'", "such as 60m")),
    Case("search.run", [*STUDY, "--workers", "0"], ("'0'", "positive number or auto")),
    Case("search.run", [*STUDY, "--storage", "not a url"], ("not a url", "sqlite:///")),
    Case(
        "search.run",
        [*STUDY, "--storage", f"mysql://me:{SECRET}@db/optuna"],
        ("mysql", "supported: sqlite, postgresql"),
    ),
    Case(
        "search.run",
        [*STUDY, "--storage", f"postgresql://me:{SECRET}@127.0.0.1:9/optuna"],
        ("Cannot open the study storage", "database server running"),
    ),
    Case("search.run", [*STUDY, "--data-dir", "{tmp}/nowhere"], ("{tmp}/nowhere", "--data-dir")),
    Case("search.run", [*STUDY, "--tracking", "vertex"], ("Google Cloud project", "--project")),
    Case(
        "search.run",
        [*STUDY, "--engine", "keras-tuner", "--workers", "2"],
        ("--workers 2 needs engine optuna", "--workers 1"),
    ),
    Case(
        "search.run",
        [*STUDY, "--enqueue-from", "nosuch"],
        ("'nosuch'", "run it first or fix the name"),
        clean=False,  # the study's own storage was opened
    ),
    Case(
        "search.run",
        [*STUDY, "--retrain-only"],
        ("no completed trial", "without --retrain-only"),
        clean=False,
    ),
    Case("search.run", [*STUDY, "--trails", "3"], ("--trails", "unrecognized arguments")),
    Case(
        "search.run",
        ["--study", "broken", "--studies-dir", "{tmp}/studies"],
        ("broken.yaml", "not valid YAML"),
    ),
    Case(
        "search.run",
        ["--study", "unknown", "--studies-dir", "{tmp}/studies"],
        ("'learning'", "known keys"),
    ),
    Case(
        "search.run", ["--study", "wide", "--studies-dir", "{tmp}/studies"], ("space: units", "128")
    ),
    # the vertex: section, owned by the Vertex plug-ins
    Case(
        "search.run",
        ["--study", "vertex-moved", "--studies-dir", "{tmp}/studies"],
        ("project is a key of the study's vertex: section", "vertex: {project: ...}"),
    ),
    Case(
        "search.compare",
        ["--study", "vertex-typo", "--studies-dir", "{tmp}/studies"],
        ("['projct']", "takes project, location, experiment, tensorboard"),
    ),
    Case(
        "search.vertex",
        ["--study", "vertex-typed", "--studies-dir", "{tmp}/studies", "--dry-run"],
        ("vertex.location must be a string", "5"),
    ),
    # search.run: objectives, constraints, the choose rule
    Case("search.run", [*STUDY, "--objectives", "speed"], ("'speed'", "known objectives")),
    Case(
        "search.run",
        [*STUDY, "--objectives", "latency_ms,val_accuracy"],
        ("primary one, which training measures", "latency_ms"),
    ),
    Case(
        "search.run",
        [*STUDY, "--objectives", "val_accuracy,val_accuracy"],
        ("must not repeat", "val_accuracy"),
    ),
    Case(
        "search.run",
        [*STUDY, "--constraint", "parameters<300000"],
        ("parameters<300000", "NAME<=NUMBER"),
    ),
    Case("search.run", [*STUDY, "--constraint", "size<=3"], ("'size'", "known objectives")),
    Case("search.run", [*STUDY, "--choose", "fastest"], ("'fastest'", "best, knee")),
    Case(
        "search.run",
        [*STUDY, "--objectives", "val_accuracy,model_mb", "--algorithm", "cmaes"],
        ("'cmaes'", "tpe, random, nsga2, qmc"),
    ),
    Case(
        "search.run",
        [*STUDY, "--objectives", "val_accuracy,model_mb", "--pruner", "median"],
        ("'median'", "asha, none"),
    ),
    Case(
        "search.run",
        [*STUDY, "--engine", "keras-tuner", "--constraint", "parameters<=300000"],
        ("engine keras-tuner searches one objective", "engine optuna"),
    ),
    Case(
        "trainer.train",
        ["--objectives", "val_accuracy,speed"],
        ("'speed'", "known objectives"),
    ),
    # precision, the ensemble, study keys of the wrong type
    Case("trainer.train", ["--precision", "bf16"], ("'bf16'", "mixed_bfloat16")),
    Case("search.run", [*STUDY, "--precision", "half"], ("'half'", "auto, float32")),
    Case("search.run", [*STUDY, "--ensemble", "0"], ("ensemble must be a positive", "0")),
    Case(
        "search.run",
        [*STUDY, "--ensemble", "2", "--retrain-seeds", "2"],
        ("ensemble and retrain_seeds", "retrain_seeds: 1"),
    ),
    Case(
        "search.run",
        ["--study", "typed", "--studies-dir", "{tmp}/studies"],
        ("seed must be an integer", "'abc'"),
    ),
    Case(
        "search.run",
        ["--study", "flagged", "--studies-dir", "{tmp}/studies"],
        ("tta must be true or false", "'yes'"),
    ),
    # search.compare and search.dashboard: reading back
    Case("search.compare", STUDY, ("study tiny has no trials or runs yet", "python -m search.run")),
    Case("search.compare", [*STUDY, "--storage", "sqlite:/x"], ("sqlite:/x", "sqlite:///")),
    Case("search.dashboard", [*STUDY, "--tracking", "wandb"], ("'wandb'", "mlflow, vertex, none")),
    Case(
        "search.dashboard",
        ["--study", "missing", "--studies-dir", "{tmp}/studies"],
        ("missing", "available"),
    ),
    # search.vertex: the job, its parameters, the registry, the cloud
    Case(
        "search.vertex", [*STUDY, "--image", "i"], ("Google Cloud project", "GOOGLE_CLOUD_PROJECT")
    ),
    Case("search.vertex", [*VERTEX, "--base-output-dir", "/tmp/out"], ("'/tmp/out'", "gs:// path")),
    Case(
        "search.vertex",
        [*VERTEX, "--base-output-dir", "gs://b/o", "--trials", "2", "--parallel-trials", "5"],
        ("parallel_trials (5) cannot exceed trials (2)",),
    ),
    Case(
        "search.vertex",
        [*VERTEX, "--base-output-dir", "gs://b/o", "--custom-job", "--param", "units=abc"],
        ("units=abc", "expected an integer"),
    ),
    Case(
        "search.vertex",
        [*VERTEX, "--base-output-dir", "gs://b/o", "--custom-job", "--param", "nosuch=1"],
        ("'nosuch'", "the space has filters"),
    ),
    Case(
        "search.vertex",
        [*VERTEX, "--base-output-dir", "gs://b/o", "--algorithm", "grid"],
        ("grid search needs every parameter discrete", "narrow them"),
    ),
    Case(
        "search.vertex",
        [*STUDY, "--project", "p", "--register", "/local/model"],
        ("'/local/model'", "gs://"),
    ),
]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    studies = tmp_path / "studies"
    write_study(studies)
    write_study(studies, "unknown", learning=0.1)
    write_study(studies, "wide", space={"units": {"low": 64, "high": 128}})
    write_study(studies, "typed", seed="abc")
    write_study(studies, "flagged", tta="yes")
    write_study(studies, "vertex-moved", project="p")
    write_study(studies, "vertex-typo", vertex={"projct": "p"})
    write_study(studies, "vertex-typed", vertex={"location": 5})
    (studies / "broken.yaml").write_text("trials: [3\n")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("AIP_MODEL_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[f"{c.command} {' '.join(c.argv[-2:])}" for c in CASES])
def test_bad_input_is_one_line_naming_the_value_and_the_fix(
    case: Case, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [arg.replace("{tmp}", str(folder)) for arg in case.argv]
    try:
        code = COMMANDS[case.command].main(argv)
    except SystemExit as exit_info:  # argparse's own refusals
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:") or ": error:" in line]
    assert len(lines) == 1, err[-2000:]
    # nothing but that line (argparse's refusals keep their usage line above it)
    others = [line for line in err.splitlines() if line.strip() and line not in lines]
    assert all(line.startswith("usage:") or line.startswith(" ") for line in others), err[-2000:]
    for words in case.says:
        assert words.replace("{tmp}", str(folder)) in lines[0], lines[0]
    assert SECRET not in err
    if case.clean:
        assert not (folder / "studies" / "tiny").exists(), "the study folder was written"
        assert not (folder / "model").exists() and not (folder / "models").exists()


def test_the_catalogue_covers_every_command() -> None:
    assert len(CASES) >= 25
    assert {case.command for case in CASES} == set(COMMANDS)


#: Cases run as a user runs them, in a process of their own: stderr holds the one error line
#: and nothing else (no backend start-up notices, before or after the backend loads).
ALONE = [
    ["trainer.train", "--epochs", "0"],
    ["trainer.train", "--model-dir", "/proc/model", "--epochs", "1"],
    ["search.run", "--study", "typed", "--studies-dir", "{tmp}/studies"],
    ["search.run", *STUDY, "--data-dir", "{tmp}/nowhere"],
]


@pytest.mark.slow
@pytest.mark.parametrize("argv", ALONE, ids=[" ".join(a[:1] + a[-2:]) for a in ALONE])
def test_stderr_holds_only_the_error_line(argv: list[str], folder: Path) -> None:
    import subprocess
    import sys

    command = [arg.replace("{tmp}", str(folder)) for arg in argv]
    done = subprocess.run(
        [sys.executable, "-m", *command], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="the notices are TensorFlow's",
)
def test_verbose_keeps_the_backends_start_up_notices(folder: Path) -> None:
    """``-v`` hides nothing: the notices left out of a plain run are there, and the error."""
    import subprocess
    import sys

    argv = ["search.run", "-v", *STUDY, "--data-dir", str(folder / "nowhere")]
    command = [arg.replace("{tmp}", str(folder)) for arg in argv]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as users run
    done = subprocess.run(
        [sys.executable, "-m", *command],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    # both on every CPU: trainer.startup turns oneDNN on where TensorFlow would not (no
    # AVX-512, such as an AMD EPYC of this project's CI pool)
    assert "All log messages before absl::InitializeLog() is called" in done.stderr
    assert "oneDNN custom operations are on" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error:")
