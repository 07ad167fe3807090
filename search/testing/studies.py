"""Tiny study files in a temporary folder, for the suites and the project's own tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from search.study_config import StudyConfig, load_study

#: A few hundred real images, one or two epochs: a real study in seconds.
TINY_STUDY: dict[str, Any] = {
    "trials": 3,
    "epochs": 2,
    "subset": 300,
    "validation_size": 300,
    "retrain_epochs": 1,
    "retrain_subset": 300,
    "heartbeat_seconds": 2,
    "space": {"batch_size": {"value": 32}, "filters": {"values": ["16-32-64", "32-64-128"]}},
}


def write_study(studies_dir: Path, name: str = "tiny", **settings: Any) -> Path:
    """Writes ``studies_dir/<name>.yaml``: the tiny study with ``settings`` over it."""
    studies_dir.mkdir(parents=True, exist_ok=True)
    path = studies_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**TINY_STUDY, **settings}))
    return path


def tiny_config(studies_dir: Path, **overrides: Any) -> StudyConfig:
    """The tiny study of ``studies_dir``, with ``overrides`` as flags would give them."""
    return load_study("tiny", overrides, studies_dir=studies_dir)


@pytest.fixture
def studies_dir(tmp_path: Path) -> Path:
    """A temporary studies folder holding the tiny study."""
    folder = tmp_path / "studies"
    write_study(folder)
    return folder
