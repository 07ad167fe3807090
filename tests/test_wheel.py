"""The project as a user installs it: a wheel built from the checkout, installed into a fresh
virtual environment, searching from a folder that has no ``studies/`` of its own.

The fresh environment reaches the dependencies through a path line to this environment's
site-packages (a plain path line: the checkout's editable install there is not read), so the
test needs no network; the project's own code comes from the wheel alone."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh environment's ``bin`` folder, with the wheel installed."""
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
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    (Path(purelib) / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return venv / "bin"


def _env() -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    for name in ("AIP_MODEL_DIR", "CLOUD_ML_TRIAL_ID", "KERAS_BACKEND", "PYTHONPATH"):
        env.pop(name, None)
    return env


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


def test_a_search_from_another_folder_with_the_shipped_study(
    installed: Path, tmp_path: Path
) -> None:
    """The default study is read from the package; its outputs go under the working folder's
    ``studies/``."""
    done = subprocess.run(
        [str(installed / "cnn-search"), "--trials", "1", "--epochs", "1", "--subset", "300",
         "--validation-size", "300", "--retrain-epochs", "1", "--retrain-subset", "300",
         "--ensemble", "1", "--tracking", "none", "--no-tta"],
        capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metadata = json.loads((tmp_path / "studies/fashion-mnist-cnn/best/metadata.json").read_text())
    assert 0.0 < metadata["test"]["accuracy"] <= 1.0
    assert (tmp_path / "studies/fashion-mnist-cnn/best/model.keras").is_file()
    assert not (tmp_path / "studies" / "fashion-mnist-cnn.yaml").exists()
