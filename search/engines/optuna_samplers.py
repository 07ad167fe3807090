"""Optuna samplers and pruners by the names a study file uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import optuna
from optuna.trial import FrozenTrial

#: The constraints' violations a trial holds (positive: broken), for ``constraints_func``.
CONSTRAINTS = "constraints"


def make_sampler(algorithm: str, seed: int, constraints: int = 0) -> optuna.samplers.BaseSampler:
    """``tpe`` (multivariate, constant liar for parallel workers; multi-objective TPE with
    several objectives), ``random``, ``cmaes``, ``qmc``, ``nsga2``. With ``constraints`` (how
    many the study has), TPE and NSGA-II read each trial's violations from its user attribute
    ``constraints`` and prefer feasible regions."""
    constraints_func = _constraints_func(constraints) if constraints else None
    if algorithm == "tpe":
        return optuna.samplers.TPESampler(
            multivariate=True, constant_liar=True, seed=seed, constraints_func=constraints_func
        )
    if algorithm == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints_func)
    if algorithm == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if algorithm == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if algorithm == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"Unknown Optuna algorithm {algorithm!r}.")


def _constraints_func(count: int) -> Callable[[FrozenTrial], Sequence[float]]:
    def violations(trial: FrozenTrial) -> Sequence[float]:
        values = trial.user_attrs.get(CONSTRAINTS) or [0.0] * count
        return [float(v) if v == v else 1.0 for v in values]  # NaN: not measured, broken

    return violations


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    """``asha`` (successive halving), ``hyperband``, ``median`` or ``none``; steps are epochs."""
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=epochs, reduction_factor=3
        )
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"Unknown pruner {name!r}.")
