"""Command-line flags generated from the declared space: one flag per parameter, same name.

A Vertex AI tuning trial calls the container with ``--<parameter_id>=<value>``, so the flag
names are the space's names exactly (``--conv_dropout``); ``--conv-dropout`` is accepted too.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from model_space import CNN_SPACE, Choice, Float, Int, Param, SearchSpace, parse_filters


class OneLineParser(argparse.ArgumentParser):
    """Reports a usage error as one line (and exit 2) instead of the whole usage text; takes
    ``--version``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--version", action=_Version, help="show the version and exit")

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_space_flags(parser: argparse.ArgumentParser, space: SearchSpace = CNN_SPACE) -> None:
    group = parser.add_argument_group("search space (flag names are the tuning job's parameters)")
    for param in space:
        flags = [f"--{param.name}"]
        if "_" in param.name:
            flags.append(f"--{param.name.replace('_', '-')}")
        group.add_argument(
            *flags,
            dest=param.name,
            type=flag_type(param),
            default=param.default,
            metavar=param.name.upper(),
            help=f"{param.help}; {describe(param)} (default {param.default})",
        )


def describe(param: Param) -> str:
    if isinstance(param, Choice):
        return "one of " + ", ".join(str(v) for v in param.values)
    scale = ", log scale" if param.log else ""
    step = f", step {param.step}" if isinstance(param, Int) and param.step > 1 else ""
    return f"{param.low:g} to {param.high:g}{step}{scale}"


def flag_type(param: Param) -> Callable[[str], Any]:
    """Converts and validates one flag value; a bad value is argparse's one-line error."""

    def convert(text: str) -> Any:
        try:
            if param.name == "filters":
                parse_filters(text)
            return param.validate(_parse(param, text))
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from error

    convert.__name__ = param.name
    return convert


def _parse(param: Param, text: str) -> Any:
    if isinstance(param, Int) or (isinstance(param, Choice) and param.value_type is int):
        return parse_int(text)
    if isinstance(param, Float) or (isinstance(param, Choice) and param.value_type is float):
        return float(text)
    return text


def parse_int(text: str) -> int:
    """``"128"`` and ``"128.0"`` (as a discrete tuning parameter may arrive) both give 128."""
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"expected an integer, but got {text!r}.") from None
    if not number.is_integer():
        raise ValueError(f"expected an integer, but got {text!r}.")
    return int(number)


class _Version(argparse.Action):
    """``--version``, its package metadata read only when asked (not at every start)."""

    def __init__(self, option_strings: Any, dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"{parser.prog} {package_version()}")  # on stdout, as argparse's own
        parser.exit()


def package_version() -> str:
    """The installed project's version."""
    from importlib import metadata

    try:
        return metadata.version("keras-cnn-search")
    except metadata.PackageNotFoundError:
        return "(not installed: pip install -e . in the checkout)"
