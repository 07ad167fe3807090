from __future__ import annotations

from pathlib import Path

import pytest

from model_space import CNN_SPACE, Choice, Float, Int
from search.study_config import STUDIES_DIR, StudyConfig, StudyError, load_study
from search.testing.studies import write_study

REPO = Path(__file__).resolve().parents[2]


def test_default_study_file_is_valid() -> None:
    config = load_study(studies_dir=REPO / STUDIES_DIR)
    assert (config.engine, config.algorithm, config.pruner, config.tracking) == (
        "optuna",
        "tpe",
        "asha",
        "mlflow",
    )
    assert config.trials == 30
    assert config.search_space()["filters"].values == ("32-64-128",)  # type: ignore[union-attr]
    assert config.output_dir == REPO / "studies" / "fashion-mnist-cnn"
    assert config.storage_url.endswith("studies/fashion-mnist-cnn/optuna.db")
    assert config.mlflow_uri.endswith("studies/fashion-mnist-cnn/mlflow.db")


def test_flags_override_the_file(studies_dir: Path) -> None:
    config = load_study("tiny", {"trials": 7, "seed": 3, "pruner": None}, studies_dir=studies_dir)
    assert (config.trials, config.seed, config.pruner) == (7, 3, "asha")


def test_switching_engine_picks_its_default_algorithm(studies_dir: Path) -> None:
    assert (
        load_study("tiny", {"engine": "keras-tuner"}, studies_dir=studies_dir).algorithm
        == "bayesian"
    )
    chosen = load_study(
        "tiny", {"engine": "keras-tuner", "algorithm": "hyperband"}, studies_dir=studies_dir
    )
    assert chosen.algorithm == "hyperband"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"engine": "hyperopt"}, "engine must be one of optuna, keras-tuner"),
        ({"algorithm": "bayesian"}, r"algorithm \(engine optuna\) must be one of tpe"),
        ({"pruner": "patient"}, "pruner must be one of"),
        ({"trials": 0}, "trials must be a positive integer"),
        ({"tracking": "wandb"}, "tracking must be one of mlflow, vertex, none"),
        ({"epochs": "many"}, r"epochs must be an integer, but got 'many'"),
        ({"seed": "abc"}, r"seed must be an integer, but got 'abc'"),
        ({"tta": "yes"}, r"tta must be true or false, but got 'yes'"),
        ({"subset": 1.5}, r"subset must be an integer or null, but got 1.5"),
        ({"trials": True}, r"trials must be an integer, but got True"),
        ({"storage": 5432}, r"storage must be a string or null, but got 5432"),
        ({"precision": "bf16"}, "precision must be one of auto, float32, mixed_bfloat16"),
        ({"ensemble": 0}, "ensemble must be a positive integer"),
    ],
)
def test_bad_settings_name_the_key(studies_dir: Path, overrides: dict, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        load_study("tiny", overrides, studies_dir=studies_dir)


def test_unknown_key_in_the_file_is_named(studies_dir: Path) -> None:
    (studies_dir / "typo.yaml").write_text("trials: 3\nepoch: 2\n")
    with pytest.raises(StudyError, match=r"Unknown study key\(s\) \['epoch'\]"):
        load_study("typo", studies_dir=studies_dir)


def test_missing_and_malformed_files(studies_dir: Path) -> None:
    with pytest.raises(StudyError, match=r"No study file .*nope.yaml; available: tiny"):
        load_study("nope", studies_dir=studies_dir)
    (studies_dir / "broken.yaml").write_text("trials: [3\n")
    with pytest.raises(StudyError, match="not valid YAML"):
        load_study("broken", studies_dir=studies_dir)
    (studies_dir / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(StudyError, match="must be a mapping"):
        load_study("list", studies_dir=studies_dir)


def test_space_narrowing(studies_dir: Path) -> None:
    space = load_study(
        "tiny",
        {"space": {"units": {"low": 256, "high": 768}, "augmentation": {"value": 0.0}}},
        studies_dir=studies_dir,
    ).search_space()
    units, augmentation = space["units"], space["augmentation"]
    assert isinstance(units, Int) and (units.low, units.high, units.default) == (256, 768, 512)
    assert isinstance(augmentation, Float) and augmentation.low == augmentation.high == 0.0
    assert space.names == CNN_SPACE.names


def test_a_space_section_left_empty_searches_the_whole_space(studies_dir: Path) -> None:
    """The default study says to remove its filters line on a GPU; the empty section remains."""
    default = (REPO / STUDIES_DIR / "fashion-mnist-cnn.yaml").read_text()
    edited = "\n".join(line for line in default.splitlines() if "filters:" not in line)
    (studies_dir / "gpu.yaml").write_text(edited)
    space = load_study("gpu", studies_dir=studies_dir).search_space()
    assert space["filters"] == CNN_SPACE["filters"]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"units": {"low": 64}}, "units must be between 128 and 1024"),
        ({"dropout": {"value": 0.1}}, r"unknown parameter\(s\) \['dropout'\]"),
        ({"filters": {"values": ["8-16"]}}, "filters must be one of"),
        ({"units": {"step": 64}}, r"unknown key\(s\) \['step'\]"),
    ],
)
def test_narrowing_never_widens(studies_dir: Path, space: dict, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        load_study("tiny", {"space": space}, studies_dir=studies_dir)


def test_choice_narrowing_keeps_a_valid_default() -> None:
    config = StudyConfig(space={"filters": {"values": ["64-128-256"]}})
    filters = config.search_space()["filters"]
    assert isinstance(filters, Choice) and filters.default == "64-128-256"


@pytest.mark.parametrize("name", ["fashion-mnist-cnn-gpu", "fashion-mnist-cnn-vertex"])
def test_the_whole_space_studies_are_valid(name: str) -> None:
    config = load_study(name, studies_dir=REPO / STUDIES_DIR)
    assert config.subset is None
    assert config.search_space()["filters"] == CNN_SPACE["filters"]


def test_the_default_study_starts_from_its_baseline_within_the_hour() -> None:
    config = load_study(studies_dir=REPO / STUDIES_DIR)
    assert config.budget_seconds is not None and config.budget_seconds <= 58 * 60
    first, *strongest = config.enqueued_points()
    assert first == config.search_space().defaults()  # the seed configuration
    assert strongest and config.tta


def test_the_vertex_section_is_read_and_its_flags_override_it(studies_dir: Path) -> None:
    write_study(
        studies_dir, "cloud", tracking="none", vertex={"project": "p", "location": "europe-west4"}
    )
    config = load_study("cloud", studies_dir=studies_dir)
    assert (config.vertex.project, config.vertex.location) == ("p", "europe-west4")
    assert config.vertex.experiment is None
    flagged = load_study("cloud", {"project": "q", "experiment": "e"}, studies_dir=studies_dir)
    assert (flagged.vertex.project, flagged.vertex.location) == ("q", "europe-west4")
    assert flagged.vertex.experiment == "e"
    assert load_study("tiny", studies_dir=studies_dir).vertex.location == "us-central1"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"project": "p"}, r"project is a key of the study's vertex: section"),
        ({"vertex": {"region": "x"}}, r"Unknown vertex key\(s\) \['region'\]"),
        ({"vertex": "p"}, "vertex must be a mapping of its keys"),
        ({"vertex": {"project": 3}}, "vertex.project must be a string or null, but got 3"),
    ],
)
def test_a_misplaced_or_wrong_vertex_key_is_named(
    studies_dir: Path, settings: dict, message: str
) -> None:
    write_study(studies_dir, "cloud", **settings)
    with pytest.raises(StudyError, match=message):
        load_study("cloud", studies_dir=studies_dir)
