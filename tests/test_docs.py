"""The README and docs/ agree with the code: the flag tables name real flags with the defaults
the code and the default study give, every flag is documented, the values listed are the ones
the code takes, links lead somewhere, and the README stays short with CI's test command."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from pathlib import Path

import pytest

from search import run, settings_table
from search.components import ENGINES, TRACKERS
from search.settings import declared
from search.study_config import DEFAULT_STUDY, StudyConfig, load_study
from search.tracking.vertex_settings import VertexSettings
from trainer import train
from trainer.objectives import OBJECTIVES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
#: Flags a command has for everyone (the parser's, or the shared study flags) and that its
#: page need not put in its table.
COMMON = {"--help", "--verbose", "--quiet", "--study"}


def _table(page: Path, header: str) -> dict[str, list[str]]:
    """The rows of the table whose header row starts with ``header``: first cell -> cells."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in page.read_text().splitlines():
        if line.startswith(f"| {header}"):
            inside = True
            continue
        if inside and not line.startswith("|"):
            break
        if inside and not line.startswith("| ---"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0]] = cells
    assert rows, f"no table headed {header!r} in {page.name}"
    return rows


def _flags(cell: str) -> list[str]:
    return re.findall(r"`(--[a-z0-9-]+)`", cell)


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--")
    }


def test_the_settings_table_is_the_one_the_declarations_make() -> None:
    page = (ROOT / "docs" / "search.md").read_text()
    inside = page.split(settings_table.BEGIN, 1)[1].split(settings_table.END, 1)[0]
    assert inside.strip() == settings_table.table(), (
        "docs/search.md's settings table is stale: run python -m search.settings_table --write"
    )


def test_every_study_key_is_declared_with_its_help_and_in_the_table() -> None:
    keys = {f.name for f in fields(StudyConfig)} - {"name", "studies_dir", "vertex"}
    keys |= {f"vertex.{f.name}" for f in fields(VertexSettings)}
    found = {s.key: s for s in declared(StudyConfig)}
    assert set(found) == keys
    assert all(s.declared.help for s in found.values())
    rows = _table(ROOT / "docs" / "search.md", "flag (study key)")
    assert len(rows) == len(keys)


def test_every_declared_flag_is_a_flag_of_search_run_and_on_its_page() -> None:
    page = ROOT / "docs" / "search.md"
    options = _long_options(run.build_parser())
    flags = {s.flag for s in declared(StudyConfig) if s.flag}
    assert flags <= options, flags - options
    missing = {o for o in options - COMMON if f"`{o}`" not in page.read_text()}
    assert not missing, f"search.run flags not in docs/search.md: {sorted(missing)}"


def test_the_table_names_the_default_studys_values() -> None:
    rows = _table(ROOT / "docs" / "search.md", "flag (study key)")
    config = load_study(DEFAULT_STUDY, {}, studies_dir=ROOT / "studies")
    assert rows["`--retrain-epochs`"][1].startswith(f"{config.retrain_epochs} ")
    assert rows["`--budget`"][1].startswith(f"`{config.budget}`")
    assert rows["`--tta` / `--no-tta`"][1].startswith("on" if config.tta else "off")


def test_the_help_lists_the_values_the_code_takes() -> None:
    text = {s.key: s.declared.help + s.declared.doc for s in declared(StudyConfig)}
    for name, engine in ENGINES.items():
        assert name in text["engine"]
        for algorithm in engine.algorithms:
            assert algorithm in text["algorithm"], algorithm
        for pruner in engine.pruners:
            assert pruner in text["pruner"], pruner
    for objective in OBJECTIVES:
        assert objective in text["objectives"], objective
    for tracker in TRACKERS:
        assert tracker in text["tracking"], tracker


def test_the_trainer_table_names_real_flags_with_the_parsers_defaults() -> None:
    rows = _table(ROOT / "docs" / "training.md", "flag | values")
    parser = train.build_parser()
    defaults = {
        option: action.default for action in parser._actions for option in action.option_strings
    }
    for first, cells in rows.items():
        flag = first.strip("`")
        assert flag in defaults, f"{flag}: not a flag of trainer.train"
        shown = cells[2].strip("`")
        default = settings_table.shown(defaults[flag]).strip("`")
        assert shown == default or float(shown) == float(defaults[flag]), flag


LINK = re.compile(r"\]\(([^)#\s]*)(#[^)\s]*)?\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_links_lead_to_files_and_headings_that_exist(page: Path) -> None:
    for target, anchor in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://")):
            continue
        path = (page.parent / target) if target else page
        assert path.exists(), f"{page.name}: {target} does not exist"
        if anchor and path.suffix == ".md":
            headings = [
                _anchor(line.lstrip("#"))
                for line in path.read_text().splitlines()
                if line.startswith("#")
            ]
            assert anchor[1:] in headings, f"{page.name}: {target}{anchor} has no such heading"


def test_the_readme_is_short_and_shows_the_commands_ci_runs() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert "./setup.sh && .venv/bin/python -m search.run --trials 30" in text
    assert "./setup.sh && .venv/bin/python -m pytest" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./setup.sh\n" in ci and "\n.venv/bin/python -m pytest\n" in ci
