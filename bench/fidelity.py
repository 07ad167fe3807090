"""Fidelity by measurement: do cheap trials rank configurations as the retrain budget does?

For ``--configs`` configurations spread over a study's space (Optuna's quasi-random sampler,
seeded), trains each at every candidate trial budget (``--budgets``: training images x epochs)
and at the reference budget (``--reference``, by default the retrain's: all 50,000 training
images for the study's ``retrain_epochs``), always validating on the same 10,000 images, and
prints, per candidate budget, the Spearman rank correlation of its validation accuracies with
the reference's, whether it picks the same best configuration, and its cost. Each training
run uses the trainer's recipe, so a short budget is a complete learning-rate schedule.

Short trials favour small, unregularised models (short-horizon bias, Zela et al. 2018): choose
the cheapest budget whose correlation is high enough, and write it into the study file::

    python bench/fidelity.py --configs 8 --budgets 6000x3,12000x4,12000x6
    python bench/fidelity.py --configs 5 --fix filters=16-32-64 --reference 50000x5  # CPU-sized
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import optuna
import yaml
from scipy.stats import spearmanr

from model_space.narrowing import narrow
from search.engines.optuna_space import suggest
from search.study_config import load_study
from trainer.data import FashionMnist, load_fashion_mnist
from trainer.job import train_model
from trainer.splits import split


@dataclass(frozen=True)
class Budget:
    images: int
    epochs: int

    @classmethod
    def parse(cls, text: str) -> Budget:
        images, _, epochs = text.lower().partition("x")
        try:
            return cls(int(images), int(epochs))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"a budget is IMAGESxEPOCHS such as 12000x6, but got {text!r}"
            ) from None

    def __str__(self) -> str:
        return f"{self.images} images x {self.epochs} epochs"


def configurations(
    study: str, count: int, seed: int, fixed: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """``count`` points spread over the study's space (with the ``fixed`` values) by Optuna's
    QMC (Sobol) sampler."""
    space = narrow(
        load_study(study).search_space(), {k: {"value": v} for k, v in (fixed or {}).items()}
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    sampled = optuna.create_study(sampler=sampler)
    points = []
    for _ in range(count):
        trial = sampled.ask()
        points.append(suggest(trial, space))
        sampled.tell(trial, 0.0)
    return points


def train(
    data: FashionMnist, params: dict[str, Any], budget: Budget, seed: int
) -> tuple[float, float]:
    """The best-epoch validation accuracy and the wall seconds of one training run."""
    splits = split(data, validation_size=10_000, subset=min(budget.images, 50_000), seed=seed)
    started = time.perf_counter()
    _, fitted = train_model(params, splits, epochs=budget.epochs, seed=seed)
    return fitted.val_accuracy, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="fashion-mnist-cnn", help="whose space to sample")
    parser.add_argument("--configs", type=int, default=8, help="configurations to compare")
    parser.add_argument(
        "--budgets",
        type=lambda text: [Budget.parse(part) for part in text.split(",")],
        default=[Budget(6000, 3), Budget(12000, 4), Budget(12000, 6)],
        help="candidate trial budgets, IMAGESxEPOCHS joined by commas",
    )
    parser.add_argument(
        "--reference", type=Budget.parse, help="the budget to rank against (the retrain's)"
    )
    parser.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="hold a parameter at one value (repeatable), e.g. filters=16-32-64 for a CPU run",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, help="also write the measurements as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    reference = args.reference or Budget(50_000, load_study(args.study).retrain_epochs)
    budgets = [*args.budgets, reference]
    data = load_fashion_mnist()
    fixed = dict(_assignment(text) for text in args.fix)
    points = configurations(args.study, args.configs, args.seed, fixed)
    scores: dict[str, list[float]] = {str(b): [] for b in budgets}
    seconds: dict[str, list[float]] = {str(b): [] for b in budgets}
    for number, params in enumerate(points, start=1):
        shown = " ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
        )
        print(f"configuration {number}/{len(points)}: {shown}", flush=True)
        for budget in budgets:
            accuracy, spent = train(data, params, budget, args.seed)
            scores[str(budget)].append(accuracy)
            seconds[str(budget)].append(spent)
            print(f"  {budget}: val_accuracy {accuracy:.4f} in {spent:.0f} s", flush=True)
    print(table(budgets, reference, scores, seconds))
    if args.out:
        document = {"configurations": points, "val_accuracy": scores, "seconds": seconds}
        args.out.write_text(json.dumps(document, indent=2) + "\n")


def _assignment(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    return name, yaml.safe_load(value)


def table(
    budgets: list[Budget],
    reference: Budget,
    scores: dict[str, list[float]],
    seconds: dict[str, list[float]],
) -> str:
    target = scores[str(reference)]
    best = max(range(len(target)), key=target.__getitem__)
    lines = [
        f"{'budget':<28} {'s/config':>9} {'spearman':>9} {'same best':>10} {'val mean':>9}",
    ]
    for budget in budgets:
        values = scores[str(budget)]
        rho = spearmanr(values, target).statistic if len(values) > 2 else float("nan")
        same = max(range(len(values)), key=values.__getitem__) == best
        label = f"{budget}{' (reference)' if budget == reference else ''}"
        lines.append(
            f"{label:<28} {statistics.mean(seconds[str(budget)]):>9.0f} {rho:>9.2f} "
            f"{'yes' if same else 'no':>10} {statistics.mean(values):>9.4f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
