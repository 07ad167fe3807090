"""The three kinds of searched parameter, as frozen data validated when built.

Every engine adapter (Optuna, Keras Tuner, Vertex AI, the trainer's flags) reads these
declarations; none of them declares a bound of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

from model_space.errors import SpaceError

ChoiceValue: TypeAlias = int | float | str


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]`` on a grid of ``step``."""

    name: str
    low: int
    high: int
    default: int
    step: int = 1
    log: bool = False
    help: str = ""

    def __post_init__(self) -> None:
        _check_bounds(self.name, self.low, self.high)
        if self.step < 1 or (self.high - self.low) % self.step:
            raise SpaceError(
                f"{self.name}: step {self.step} must be >= 1 and divide high - low "
                f"({self.high} - {self.low})."
            )
        if self.log and (self.low < 1 or self.step != 1):
            raise SpaceError(f"{self.name}: a log-scale integer needs low >= 1 and step 1.")
        self.validate(self.default)

    def validate(self, value: Any) -> int:
        """Returns ``value`` as an int, or raises ValueError naming the allowed range."""
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise SpaceError(f"{self.name} must be an integer, but got {value!r}.")
        number = int(value)
        if not self.low <= number <= self.high or (number - self.low) % self.step:
            grid = f" in steps of {self.step}" if self.step > 1 else ""
            raise SpaceError(
                f"{self.name} must be between {self.low} and {self.high}{grid}, but got {number}."
            )
        return number


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``, sampled on a log scale when ``log``."""

    name: str
    low: float
    high: float
    default: float
    log: bool = False
    help: str = ""

    def __post_init__(self) -> None:
        _check_bounds(self.name, self.low, self.high)
        if self.log and self.low <= 0:
            raise SpaceError(f"{self.name}: a log-scale float needs low > 0, but got {self.low}.")
        self.validate(self.default)

    def validate(self, value: Any) -> float:
        """Returns ``value`` as a float, or raises ValueError naming the allowed range."""
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise SpaceError(f"{self.name} must be a finite number, but got {value!r}.")
        if not self.low <= value <= self.high:
            raise SpaceError(
                f"{self.name} must be between {self.low:g} and {self.high:g}, but got {value:g}."
            )
        return float(value)


@dataclass(frozen=True)
class Choice:
    """A categorical parameter; ``values`` are all of one type (int, float or str)."""

    name: str
    values: tuple[ChoiceValue, ...]
    default: ChoiceValue
    help: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.values:
            raise SpaceError(f"{self.name}: a choice needs at least one value.")
        if len(set(self.values)) != len(self.values):
            raise SpaceError(f"{self.name}: values must be distinct, but got {self.values}.")
        if len({type(value) for value in self.values}) != 1:
            raise SpaceError(f"{self.name}: values must share one type, but got {self.values}.")
        self.validate(self.default)

    @property
    def value_type(self) -> type:
        return type(self.values[0])

    def validate(self, value: Any) -> ChoiceValue:
        """Returns ``value`` if it is one of ``values``, else raises ValueError listing them."""
        if value in self.values and type(value) is self.value_type:
            return cast(ChoiceValue, value)
        allowed = ", ".join(str(v) for v in self.values)
        raise SpaceError(f"{self.name} must be one of {allowed}, but got {value!r}.")


Param: TypeAlias = Int | Float | Choice


def _check_name(name: str) -> None:
    if not name or not name.isidentifier() or name.lower() != name:
        raise SpaceError(f"Parameter names must be lowercase identifiers, but got {name!r}.")


def _check_bounds(name: str, low: float, high: float) -> None:
    _check_name(name)
    if not low <= high:
        raise SpaceError(f"{name}: `low <= high` must hold, but got (low={low}, high={high}).")
