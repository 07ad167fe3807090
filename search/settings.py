"""One declaration per study setting: its default, its help and its flag, in the field of the
dataclass that holds it (``StudyConfig``, or a plug-in's section such as ``vertex:``).

The commands' flags are made from these declarations (``StudyParser.settings_flags`` in
``search.cli``), and so is the settings table of docs/search.md (``search.settings_table``), so
the flag, its help, the table and the default cannot disagree. A section (a field whose value
is a dataclass of settings) is one mapping in a study file, validated by the plug-in that owns
it; its flags keep their short names (``--project`` sets ``vertex.project``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin, get_type_hints

#: The groups a command's ``--help`` shows its study flags in, in this order.
GROUPS = {
    "search": "the search",
    "retrain": "the retrain of the chosen trial",
    "stores": "the engine, and where the study and its runs are kept",
    "vertex": "Vertex AI Experiments (--tracking vertex)",
}


@dataclass(frozen=True)
class Declared:
    """What a setting's field declares besides its default."""

    help: str
    group: str = "search"
    #: the flag that overrides it, ``""`` for a study key without a flag (``space``).
    flag: str | None = None
    metavar: str | None = None
    #: a repeatable flag (``--constraint A --constraint B``) rather than one value.
    repeat: bool = False
    #: what the docs' table adds to the help (links, measured reasons).
    doc: str = ""


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Any = dataclasses.MISSING,
    **declared: Any,
) -> Any:
    """A dataclass field that declares a study setting (see ``Declared``)."""
    return field(
        default=default, default_factory=factory, metadata={"setting": Declared(help, **declared)}
    )


@dataclass(frozen=True)
class Setting:
    """One study setting as a flag and a table row see it."""

    key: str  #: its study key (``retrain_epochs``), or ``section.key`` (``vertex.project``)
    name: str  #: its own name (``project``), the flag's
    annotation: Any
    default: Any
    declared: Declared
    section: str | None = None

    @property
    def flag(self) -> str | None:
        if self.declared.flag == "":
            return None
        return self.declared.flag or f"--{self.name.replace('_', '-')}"

    @property
    def kind(self) -> type:
        """The scalar type a flag's text becomes (``int``, ``str``, ``bool``)."""
        kinds = [k for k in _members(self.annotation) if k is not type(None)]
        return kinds[0] if len(kinds) == 1 and kinds[0] in (int, bool) else str


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


@functools.cache
def sections(cls: type) -> dict[str, type]:
    """The fields of ``cls`` that are sections: their names and the dataclass each holds (read
    once per class: every command start and every study load asks)."""
    hints = get_type_hints(cls)
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(cls)
        if dataclasses.is_dataclass(hints[f.name])
    }


def declared(cls: type, section: str | None = None) -> Iterator[Setting]:
    """Every setting ``cls`` declares, those of its sections after its own."""
    hints = get_type_hints(cls)
    inner = sections(cls)
    for item in dataclasses.fields(cls):
        if item.name in inner:
            continue
        if "setting" not in item.metadata:
            continue
        default = (
            item.default_factory()
            if item.default_factory is not dataclasses.MISSING
            else item.default
        )
        yield Setting(
            key=f"{section}.{item.name}" if section else item.name,
            name=item.name,
            annotation=hints[item.name],
            default=default,
            declared=item.metadata["setting"],
            section=section,
        )
    for name, kind in inner.items():
        yield from declared(kind, name)


def flag_options(found: Setting, help_of: str | None = None) -> dict[str, Any]:
    """``add_argument``'s options for the flag of setting ``found``: its help (or this
    command's ``help_of``: a Vertex tuning job's ``--trials`` is its max_trial_count), its
    destination, its type or action."""
    options: dict[str, Any] = {"help": help_of or found.declared.help, "dest": found.name}
    if found.declared.metavar:
        options["metavar"] = found.declared.metavar
    if found.declared.repeat:
        options["action"] = "append"
    elif found.kind is bool:
        options["action"] = argparse.BooleanOptionalAction
    elif found.kind is int:
        options["type"] = int
    return options


@functools.cache
def by_flag_key(cls: type) -> dict[str, Setting]:
    """``cls``'s settings by the key their flag sets (a section's by their own name)."""
    return {s.name: s for s in declared(cls)}
