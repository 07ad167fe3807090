"""The project as a user installs it: a wheel built from the checkout, installed with its
``[jax]`` extra alone (no TensorFlow, no MLflow) into a fresh virtual environment by pip from
the constraints, searching from a folder that has no ``studies/`` of its own; a part of an
extra it lacks is one line naming the ``pip install`` that adds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh environment's ``bin`` folder, with the wheel and its ``[jax]`` extra."""
    root = tmp_path_factory.mktemp("wheel")
    wheels = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(REPO)],
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    (wheel,) = wheels.glob("keras_cnn_search-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
         "-c", str(REPO / "constraints.txt"), f"{wheel}[jax]"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def _env(backend: str = "jax") -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KERAS_BACKEND": backend}
    for name in ("AIP_MODEL_DIR", "CLOUD_ML_TRIAL_ID", "PYTHONPATH"):
        env.pop(name, None)
    return env


#: A tiny search of the shipped default study.
TINY = (
    *("--trials", "1", "--epochs", "1", "--subset", "300", "--validation-size", "300"),
    *("--retrain-epochs", "1", "--retrain-subset", "300", "--ensemble", "1", "--no-tta"),
)


def test_the_installed_package_is_the_wheels(installed: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(installed / "python"), "-c", "import search, trainer; print(search.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=_env(),
    ).stdout  # fmt: skip
    assert str(installed.parent) in found, found
    version = subprocess.run(
        [str(installed / "cnn-search"), "--version"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=_env(),
    ).stdout  # fmt: skip
    assert version.split()[-1] == "0.1.0"
    absent = subprocess.run(
        [str(installed / "python"), "-c",
         "import importlib.util as u; "
         "print(*[m for m in ('tensorflow', 'mlflow', 'plotly', 'keras_tuner', 'psycopg', "
         "'hypertune') if u.find_spec(m)])"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=_env(),
    ).stdout  # fmt: skip
    assert absent.split() == [], f"[jax] installed {absent}"


def test_a_search_from_another_folder_with_the_shipped_study(
    installed: Path, tmp_path: Path
) -> None:
    """The default study is read from the package, and searched on JAX without TensorFlow;
    its outputs go under the working folder's ``studies/``."""
    done = subprocess.run(
        [str(installed / "cnn-search"), *TINY, "--tracking", "none"],
        capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metadata = json.loads((tmp_path / "studies/fashion-mnist-cnn/best/metadata.json").read_text())
    assert 0.0 < metadata["test"]["accuracy"] <= 1.0
    assert (tmp_path / "studies/fashion-mnist-cnn/best/model.keras").is_file()
    assert not (tmp_path / "studies" / "fashion-mnist-cnn.yaml").exists()
    assert "SavedModel export needs KERAS_BACKEND=tensorflow" in done.stderr


@pytest.mark.parametrize(
    ("flags", "backend", "line"),
    [
        ((), "jax", "tracking mlflow needs mlflow, which is not installed here: "
         "pip install 'keras-cnn-search[mlflow]' (or --tracking none)"),
        (("--engine", "keras-tuner", "--tracking", "none"), "jax",
         "engine keras-tuner needs keras_tuner, which is not installed here: "
         "pip install 'keras-cnn-search[keras-tuner]' (or --engine optuna)"),
        (("--tracking", "none"), "tensorflow",
         "Keras's backend tensorflow needs tensorflow, which is not installed here: "
         "pip install 'keras-cnn-search[tensorflow]' (or the [jax] extra and KERAS_BACKEND=jax)"),
    ],
    ids=["tracker", "engine", "backend"],
)  # fmt: skip
def test_a_missing_extra_is_one_line_naming_its_install(
    installed: Path, tmp_path: Path, flags: tuple[str, ...], backend: str, line: str
) -> None:
    done = subprocess.run(
        [str(installed / "cnn-search"), *TINY, *flags],
        capture_output=True, text=True, cwd=tmp_path, env=_env(backend), timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.strip().splitlines() == [f"error: {line}"]
    assert not list(tmp_path.glob("studies/*/best")), "nothing is exported"
