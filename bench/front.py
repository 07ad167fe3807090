"""The front a multi-objective search finds, and what it costs: algorithms and pruning side by
side in one run.

Each variant (``ALGORITHM-PRUNER``: ``tpe-asha``, ``tpe-none``, ``nsga2-asha``...) searches the
same small study of two objectives (``val_accuracy`` and ``latency_ms`` by default) from the
same seed, one after the other in this process, with tracking off and no retrain. Printed per
variant: its minutes, trials complete and pruned, the front's size, and the front's
hypervolume (the area it dominates, accuracy up and the second objective down, against one
reference point for all variants: the worst value of each objective seen in any variant), and
that hypervolume per hour of search::

    python bench/front.py --trials 20 --variants tpe-asha,tpe-none,nsga2-asha
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import yaml

from search.contract import TrialRecord
from search.front import pareto
from search.results.records import load_records
from search.study_config import load_study
from search.study_run import run_study
from trainer.objectives import Objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=2000)
    parser.add_argument("--validation-size", type=int, default=5000)
    parser.add_argument("--objectives", default="val_accuracy,latency_ms")
    parser.add_argument("--variants", default="tpe-asha,tpe-none,nsga2-asha")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    results: list[tuple[str, float, list[TrialRecord], list[Objective]]] = []
    with tempfile.TemporaryDirectory() as folder:
        for variant in args.variants.split(","):
            algorithm, pruner = variant.split("-")
            studies = Path(folder) / variant
            studies.mkdir()
            study: dict[str, Any] = {
                "trials": args.trials,
                "epochs": args.epochs,
                "subset": args.subset,
                "validation_size": args.validation_size,
                "seed": args.seed,
                "algorithm": algorithm,
                "pruner": pruner,
                "tracking": "none",
                "objectives": args.objectives.split(","),
            }
            (studies / "front.yaml").write_text(yaml.safe_dump(study))
            config = load_study("front", studies_dir=studies)
            started = time.perf_counter()
            run_study(config, retrain=False)
            minutes = (time.perf_counter() - started) / 60
            results.append((variant, minutes, load_records(config), config.objective_list()))
    _report(results)


def _report(results: list[tuple[str, float, list[TrialRecord], list[Objective]]]) -> None:
    objectives = results[0][3]
    primary, other = objectives[0], objectives[1]
    complete = [r for _, _, records, _ in results for r in records if r.state == "complete"]
    reference = (
        min(r.values[primary.name] for r in complete),
        max(r.values[other.name] for r in complete),
    )
    print(f"reference point: {primary.name} {reference[0]:.4f}, {other.name} {reference[1]:.4g}")
    print(
        f"{'variant':<12} {'minutes':>7} {'complete':>8} {'pruned':>6} {'front':>5} "
        f"{'hypervolume':>11} {'per hour':>8}  front ({primary.name}, {other.name})"
    )
    for variant, minutes, records, _ in results:
        front = pareto(records, objectives)
        volume = _hypervolume(
            [(r.values[primary.name], r.values[other.name]) for r in front], reference
        )
        states = [r.state for r in records]
        points = ", ".join(
            f"({r.values[primary.name]:.3f}, {r.values[other.name]:.3g})"
            for r in sorted(front, key=lambda r: r.values[other.name])
        )
        print(
            f"{variant:<12} {minutes:>7.1f} {states.count('complete'):>8} "
            f"{states.count('pruned'):>6} {len(front):>5} {volume:>11.4g} "
            f"{volume / minutes * 60:>8.4g}  {points}"
        )


def _hypervolume(front: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """The area the front dominates (higher first coordinate, lower second) above and left
    of ``reference``."""
    area, floor = 0.0, reference[0]
    for accuracy, cost in sorted(front, key=lambda p: p[1]):
        if accuracy > floor and cost < reference[1]:
            area += (accuracy - floor) * (reference[1] - cost)
            floor = accuracy
    return area


if __name__ == "__main__":
    main()
