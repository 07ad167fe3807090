"""The declared space as Vertex AI ``ParameterSpec``s: the Vertex adapter.

Float -> DoubleParameterSpec (linear or log scale); Int -> IntegerParameterSpec, or a
DiscreteParameterSpec of the grid when it has a step; a numeric Choice -> DiscreteParameterSpec;
a text Choice -> CategoricalParameterSpec. A parameter narrowed to one value is no spec but a
fixed container argument. Vertex calls each trial with ``--<parameter_id>=<value>``, which the
trainer's flags take as they are.
"""

from __future__ import annotations

from typing import Any

from model_space import Choice, Float, Int, Param, SearchSpace


def parameter_specs(space: SearchSpace) -> dict[str, Any]:
    """``{parameter_id: ParameterSpec}`` for every parameter that varies."""
    from google.cloud.aiplatform import hyperparameter_tuning as hpt

    specs: dict[str, Any] = {}
    for param in space:
        if _fixed(param) is not None:
            continue
        if isinstance(param, Float):
            specs[param.name] = hpt.DoubleParameterSpec(
                min=param.low, max=param.high, scale="log" if param.log else "linear"
            )
        elif isinstance(param, Int) and param.step == 1:
            specs[param.name] = hpt.IntegerParameterSpec(
                min=param.low, max=param.high, scale="log" if param.log else "linear"
            )
        elif isinstance(param, Int):
            grid = list(range(param.low, param.high + 1, param.step))
            specs[param.name] = hpt.DiscreteParameterSpec(values=grid, scale="linear")
        elif isinstance(param, Choice) and param.value_type is str:
            specs[param.name] = hpt.CategoricalParameterSpec(values=[str(v) for v in param.values])
        elif isinstance(param, Choice):
            specs[param.name] = hpt.DiscreteParameterSpec(
                values=[float(v) for v in param.values], scale="linear"
            )
    return specs


def fixed_args(space: SearchSpace) -> list[str]:
    """``--name=value`` for every parameter narrowed to one value."""
    return [f"--{param.name}={value}" for param in space if (value := _fixed(param)) is not None]


def _fixed(param: Param) -> Any:
    if isinstance(param, Choice):
        return param.values[0] if len(param.values) == 1 else None
    return param.low if param.low == param.high else None
