"""Every adapter sees the same names, types and bounds as the declared space."""

from __future__ import annotations

import optuna
import pytest

from model_space import CNN_SPACE, Choice, Float, Int, SearchSpace
from search.narrowing import narrow
from search.space_keras_tuner import declare
from search.space_optuna import distributions
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
