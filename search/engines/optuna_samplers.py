"""Optuna samplers and pruners by the names a study file uses."""

from __future__ import annotations

import optuna


def make_sampler(algorithm: str, seed: int) -> optuna.samplers.BaseSampler:
    """``tpe`` (multivariate, constant liar for parallel workers; multi-objective TPE with
    several objectives), ``random``, ``cmaes``, ``qmc``, ``nsga2``. TPE and NSGA-II read the
    constraints each trial was told (``Trial.set_constraint``) and prefer feasible regions."""
    if algorithm == "tpe":
        return optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=seed)
    if algorithm == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if algorithm == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if algorithm == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if algorithm == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"Unknown Optuna algorithm {algorithm!r}.")


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
