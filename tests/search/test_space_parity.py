"""Every adapter sees the same names, types and bounds as the declared space."""

from __future__ import annotations

import optuna
import pytest

from model_space import CNN_SPACE, Choice, Float, Int, SearchSpace
from model_space.narrowing import narrow
from search.engines.keras_tuner_space import declare
from search.engines.optuna_space import distributions
from trainer.train import build_parser

NARROWED = narrow(
    CNN_SPACE, {"units": {"low": 256, "high": 512}, "filters": {"values": ["16-32-64"]}}
)


@pytest.mark.parametrize("space", [CNN_SPACE, NARROWED], ids=["declared", "narrowed"])
def test_optuna_adapter_matches_the_space(space: SearchSpace) -> None:
    found = distributions(space)
    assert list(found) == list(space.names)
    for param in space:
        dist = found[param.name]
        if isinstance(param, Int):
            assert isinstance(dist, optuna.distributions.IntDistribution)
            assert (dist.low, dist.high, dist.step, dist.log) == (
                param.low,
                param.high,
                param.step,
                param.log,
            )
        elif isinstance(param, Float):
            assert isinstance(dist, optuna.distributions.FloatDistribution)
            assert (dist.low, dist.high, dist.log) == (param.low, param.high, param.log)
        else:
            assert isinstance(dist, optuna.distributions.CategoricalDistribution)
            assert tuple(dist.choices) == param.values


@pytest.mark.parametrize("space", [CNN_SPACE, NARROWED], ids=["declared", "narrowed"])
def test_keras_tuner_adapter_matches_the_space(space: SearchSpace) -> None:
    import keras_tuner

    hp = declare(space)
    declared = {h.name: h for h in hp.space}
    assert list(declared) == list(space.names)
    for param in space:
        found = declared[param.name]
        if isinstance(param, Int):
            assert isinstance(found, keras_tuner.engine.hyperparameters.Int)
            assert (found.min_value, found.max_value, found.step) == (
                param.low,
                param.high,
                param.step,
            )
            assert found.sampling == ("log" if param.log else "linear")
        elif isinstance(param, Float):
            assert isinstance(found, keras_tuner.engine.hyperparameters.Float)
            assert (found.min_value, found.max_value) == (param.low, param.high)
            assert found.sampling == ("log" if param.log else "linear")
        else:
            assert isinstance(found, keras_tuner.engine.hyperparameters.Choice)
            assert tuple(found.values) == param.values
        assert hp.get(param.name) == param.default


def test_trainer_flags_match_the_space() -> None:
    parser = build_parser()
    flags = {action.dest: action for action in parser._actions if action.dest in CNN_SPACE.names}
    assert list(flags) == list(CNN_SPACE.names)
    for param in CNN_SPACE:
        action = flags[param.name]
        assert f"--{param.name}" in action.option_strings
        assert action.default == param.default
        if isinstance(param, Choice):
            for value in param.values:
                assert action.type(str(value)) == value
            continue
        assert action.type(str(param.low)) == param.low
        assert action.type(str(param.high)) == param.high
        with pytest.raises(Exception, match=param.name):
            action.type(str(param.high * 10 + 1))
        with pytest.raises(Exception, match=param.name):
            action.type(str(param.low - 1))


@pytest.mark.parametrize("space", [CNN_SPACE, NARROWED], ids=["declared", "narrowed"])
def test_vertex_adapter_matches_the_space(space: SearchSpace) -> None:
    from google.cloud.aiplatform import hyperparameter_tuning as hpt

    from search.vertex.spec import fixed_args, parameter_specs

    specs = parameter_specs(space)
    fixed = [arg.split("=")[0].removeprefix("--") for arg in fixed_args(space)]
    assert sorted([*specs, *fixed]) == sorted(space.names)
    for param in space:
        if param.name in fixed:
            continue
        spec = specs[param.name]
        if isinstance(param, Float):
            assert isinstance(spec, hpt.DoubleParameterSpec)
            assert (spec.min, spec.max, spec.scale) == (
                param.low,
                param.high,
                "log" if param.log else "linear",
            )
        elif isinstance(param, Int) and param.step == 1:
            assert isinstance(spec, hpt.IntegerParameterSpec)
            assert (spec.min, spec.max) == (param.low, param.high)
        elif isinstance(param, Int):
            assert isinstance(spec, hpt.DiscreteParameterSpec)
            assert spec.values == list(range(param.low, param.high + 1, param.step))
        elif param.value_type is str:
            assert isinstance(spec, hpt.CategoricalParameterSpec)
            assert tuple(spec.values) == param.values
        else:
            assert isinstance(spec, hpt.DiscreteParameterSpec)
            assert tuple(spec.values) == tuple(float(v) for v in param.values)


def test_fixed_parameters_become_container_args() -> None:
    from search.vertex.spec import fixed_args, parameter_specs

    space = narrow(CNN_SPACE, {"augmentation": {"value": 0.0}, "filters": {"values": ["16-32-64"]}})
    assert fixed_args(space) == ["--filters=16-32-64", "--augmentation=0.0"]
    assert "augmentation" not in parameter_specs(space) and "filters" not in parameter_specs(space)
