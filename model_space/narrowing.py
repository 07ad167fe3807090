"""Narrowing the declared space for one study, never widening it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from model_space import Choice, Float, Int, Param, SearchSpace
from model_space.errors import SpaceError


def narrow(space: SearchSpace, narrowing: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
    """Returns ``space`` with some parameters narrowed.

    Each entry is ``{low: , high: }`` (numbers), ``{values: [...]}`` (choices) or ``{value: }``
    (fixed). New bounds and values must lie inside the declared ones.

    Raises:
        ValueError: an unknown parameter or key, or a bound outside the declaration.
    """
    if not isinstance(narrowing, Mapping):
        raise SpaceError(f"expected a mapping of parameter names, but got {narrowing!r}.")
    params = []
    for param in space:
        change = narrowing.get(param.name)
        params.append(param if change is None else _narrow_one(param, change))
    unknown = sorted(set(narrowing) - set(space.names))
    if unknown:
        raise SpaceError(f"unknown parameter(s) {unknown}; the space has {', '.join(space.names)}.")
    return SearchSpace(tuple(params))


def _narrow_one(param: Param, change: Mapping[str, Any]) -> Param:
    if not isinstance(change, Mapping):
        raise SpaceError(f"{param.name}: expected low/high, values or value, but got {change!r}.")
    allowed = {"value", "values"} if isinstance(param, Choice) else {"value", "low", "high"}
    unknown = sorted(set(change) - allowed)
    if unknown:
        raise SpaceError(
            f"{param.name}: unknown key(s) {unknown}; use {', '.join(sorted(allowed))}."
        )
    if isinstance(param, Choice):
        if "value" in change:
            value = param.validate(change["value"])
            return dataclasses.replace(param, values=(value,), default=value)
        values = tuple(param.validate(v) for v in change.get("values", param.values))
        default = param.default if param.default in values else values[0]
        return dataclasses.replace(param, values=values, default=default)
    if "value" in change:
        return _narrow_range(param, {"low": change["value"], "high": change["value"]})
    return _narrow_range(param, change)


def _narrow_range(param: Int | Float, change: Mapping[str, Any]) -> Param:
    low = param.validate(change.get("low", param.low))
    high = param.validate(change.get("high", param.high))
    default = min(max(param.default, low), high)
    if isinstance(param, Int):
        return dataclasses.replace(param, low=int(low), high=int(high), default=int(default))
    return dataclasses.replace(param, low=float(low), high=float(high), default=float(default))
