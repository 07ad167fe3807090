"""The extras: what ``pyproject.toml`` declares, and the one line a missing one gets."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from search.components import require
from trainer.errors import MissingExtra, fault
from trainer.extras import EXTRA_OF_MODULE, PACKAGE, missing_extra

PROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())[
    "project"
]
EXTRAS = PROJECT["optional-dependencies"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_core_holds_no_backend_tracker_or_server() -> None:
    assert PROJECT["name"] == PACKAGE
    heavy = {"tensorflow", "tensorflow-cpu", "jax", "mlflow", "google-cloud-aiplatform",
             "psycopg", "keras-tuner", "plotly"}  # fmt: skip
    assert not _names(PROJECT["dependencies"]) & heavy
    assert {"keras", "optuna"} <= _names(PROJECT["dependencies"])


def test_every_extra_a_message_names_is_declared_and_in_all() -> None:
    named = set(EXTRA_OF_MODULE.values())
    assert named <= set(EXTRAS)
    (everything,) = EXTRAS["all"]
    assert set(everything.split("[")[1].rstrip("]").split(",")) == set(EXTRAS) - {"all", "dev"}
    assert f"{PACKAGE}[all]" in EXTRAS["dev"]


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("psycopg", "postgres"),
        ("google.cloud.aiplatform", "vertex"),
        ("plotly.graph_objs", "dashboard"),
    ],
)
def test_a_missing_module_of_an_extra_is_a_fault_naming_its_install(
    module: str, extra: str
) -> None:
    try:
        try:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
        except ModuleNotFoundError as error:
            raise RuntimeError("while opening the storage") from error
    except RuntimeError as outer:
        found = fault(outer)
    assert isinstance(found, MissingExtra)
    assert str(found) == f"{module} is not installed here: pip install '{PACKAGE}[{extra}]'"


def test_a_missing_module_of_the_project_is_a_bug() -> None:
    assert (
        missing_extra(ModuleNotFoundError("No module named 'search.nope'", name="search.nope"))
        is None
    )
    assert fault(ModuleNotFoundError("No module named 'nope'", name="nope")) is None


def test_require_finds_without_importing() -> None:
    require(("optuna",), "engine optuna")
    with pytest.raises(MissingExtra, match=r"engine x needs keras_tuner_absent") as raised:
        EXTRA_OF_MODULE["keras_tuner_absent"] = "keras-tuner"
        try:
            require(("keras_tuner_absent",), "engine x", "--engine optuna")
        finally:
            del EXTRA_OF_MODULE["keras_tuner_absent"]
    assert str(raised.value).endswith(f"pip install '{PACKAGE}[keras-tuner]' (or --engine optuna)")
