"""The declared space as Keras Tuner's ``hp.Int/Float/Choice``: the Keras Tuner adapter."""

from __future__ import annotations

from typing import Any

from model_space import Choice, Int, SearchSpace


def declare(space: SearchSpace) -> Any:
    """A ``keras_tuner.HyperParameters`` holding every parameter of ``space``."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for param in space:
        if isinstance(param, Choice):
            hp.Choice(param.name, list(param.values), default=param.default)
        elif param.low == param.high:
            hp.Fixed(param.name, param.low)
        elif isinstance(param, Int):
            # Keras Tuner reads an Int's step as a multiplier on a log scale.
            step = None if param.log else param.step
            hp.Int(
                param.name,
                param.low,
                param.high,
                step=step,
                sampling=_scale(param.log),
                default=param.default,
            )
        else:
            hp.Float(
                param.name, param.low, param.high, sampling=_scale(param.log), default=param.default
            )
    return hp


def point(hp: Any, space: SearchSpace) -> dict[str, Any]:
    """The values of ``space``'s parameters in ``hp``, validated."""
    return space.validate({name: hp.get(name) for name in space.names}, fill_defaults=False)


def _scale(log: bool) -> str:
    return "log" if log else "linear"
