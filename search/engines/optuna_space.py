"""The declared space as Optuna's ``trial.suggest_*`` calls: the Optuna adapter."""

from __future__ import annotations

from typing import Any

import optuna

from model_space import Choice, Float, Int, SearchSpace


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Samples one point of ``space`` through ``trial``."""
    point: dict[str, Any] = {}
    for param in space:
        if isinstance(param, Int):
            step = 1 if param.log else param.step
            point[param.name] = trial.suggest_int(
                param.name, param.low, param.high, step=step, log=param.log
            )
        elif isinstance(param, Float):
            point[param.name] = trial.suggest_float(
                param.name, param.low, param.high, log=param.log
            )
        elif isinstance(param, Choice):
            point[param.name] = trial.suggest_categorical(param.name, list(param.values))
    return space.validate(point, fill_defaults=False)


def distributions(space: SearchSpace) -> dict[str, optuna.distributions.BaseDistribution]:
    """The Optuna distribution of each parameter, as ``suggest`` declares it."""
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    trial = study.ask()
    suggest(trial, space)
    return dict(trial.distributions)
