"""``python -m search.settings_table [--write]``: docs/search.md's table of every study setting,
made from the settings' declarations (``search.settings``) and the default study's values.

``--write`` puts it between the page's markers; without it the table is printed. A test fails
when the page's table is not what this makes, so a setting's help, flag or default changed in
the code shows up as a stale page, never as a page that disagrees.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from search.settings import Setting, declared
from search.study_config import DEFAULT_STUDY, SHIPPED_STUDIES, StudyConfig, load_study

PAGE = Path(__file__).resolve().parents[1] / "docs" / "search.md"
BEGIN = "<!-- settings table: made by `python -m search.settings_table --write` -->"
END = "<!-- end of the settings table -->"
HEADER = "| flag (study key) | default | what it sets |\n| --- | --- | --- |"


def shown(value: Any) -> str:
    """A setting's value as the table writes it."""
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value is None or value in ((), [], {}):
        return "none"
    if isinstance(value, Mapping):
        return "narrows " + ", ".join(f"`{key}`" for key in value)
    if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        return f"{len(value)} points"
    if isinstance(value, list | tuple):
        return "`" + ",".join(str(v) for v in value) + "`"
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def _value(config: StudyConfig, found: Setting) -> Any:
    holder: Any = getattr(config, found.section) if found.section else config
    return getattr(holder, found.name)


def _first_cell(found: Setting) -> str:
    key = f"`{found.key}`"
    if found.flag is None:
        return f"{key} (study file only)"
    flag = f"`{found.flag}`"
    if found.kind is bool:
        flag += f" / `--no-{found.flag.removeprefix('--')}`"
    same = found.flag.removeprefix("--").replace("-", "_") == found.key
    return flag if same else f"{flag} ({key})"


def table(config: StudyConfig | None = None) -> str:
    """The table's markdown: a row per setting, the default study's value with the code's
    where they differ."""
    config = config or load_study(DEFAULT_STUDY, {}, studies_dir=SHIPPED_STUDIES)
    rows = [HEADER]
    for found in declared(StudyConfig):
        here = _value(config, found)
        value = shown(here)
        if here != found.default:
            value += f" ({shown(found.default)} in a study without the key)"
        text = (found.declared.help + found.declared.doc).replace("|", "\\|")
        rows.append(f"| {_first_cell(found)} | {value} | {text} |")
    return "\n".join(rows)


def replaced(page: str, made: str) -> str:
    """``page`` with its table between the markers replaced by ``made``."""
    if BEGIN not in page or END not in page:
        raise ValueError(f"the page has no {BEGIN!r} ... {END!r} markers")
    before, rest = page.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return f"{before}{BEGIN}\n{made}\n{END}{after}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search.settings_table", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write it into {PAGE.name}")
    args = parser.parse_args(argv)
    made = table()
    if args.write:
        PAGE.write_text(replaced(PAGE.read_text(), made))
        print(f"written to {PAGE}")
    else:
        print(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
