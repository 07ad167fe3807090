"""A whole study: open storage and tracking, load the data, search, retrain the best, compare."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from search.best import BestModel, retrain_best
from search.budget import Budget, Throughput
from search.engines import BestTrial, Engine, open_engine, require_engine
from search.front import choose, pareto
from search.results.records import read_study
from search.study_config import StudyConfig, StudyError
from search.tracking import Tracker, open_tracker
from search.trial import TrialRunner
from trainer import interrupts
from trainer.data import load_fashion_mnist
from trainer.extras import missing_extra
from trainer.keras_session import CompileCache
from trainer.splits import split

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyResult:
    best_trial: BestTrial | None
    best_model: BestModel | None


def run_study(
    config: StudyConfig,
    *,
    retrain: bool = True,
    search: bool = True,
    budget: Budget | None = None,
    searched: bool = False,
    reserve: bool | None = None,
) -> StudyResult:
    """Runs the study's remaining trials (unless ``search`` is False: ``searched`` says other
    processes, the workers, ran them), then retrains the best, all within ``budget`` (default:
    the study's, counted from now). ``reserve`` (default: ``retrain``) keeps the retrain's time
    free of trials: a worker retrains nothing, but its parent does. Under JAX, every XLA
    program is kept in the study's compilation cache (``jax_cache/``), shared by the workers
    and the retrain.

    Raises:
        StudyError: a bad storage URL, or nothing to retrain with ``search=False``.
        DataError: the data set is missing or corrupt.
        MissingExtra: the engine's or the tracker's extra is not installed.
    """
    # a missing cloud project or extra fails before the data is read and anything is written
    open_tracker(config, create=False)
    require_engine(config)
    data = load_fashion_mnist(config.data_dir)
    splits = split(
        data, validation_size=config.validation_size, subset=config.subset, seed=config.seed
    )
    engine = open_engine(config)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    cache = CompileCache.open(str((config.output_dir / "jax_cache").absolute()))
    tracker = open_tracker(config)
    runner = TrialRunner(
        config,
        splits,
        tracker,
        budget or Budget(config.budget_seconds),
        retrain=retrain if reserve is None else reserve,
    )
    if runner.budget.limited:
        logger.info(
            "time budget %s: %.1f min left for the trials and the retrain",
            config.budget,
            runner.budget.left() / 60,
        )
    best = engine.search(runner) if search else engine.best()
    _write_views(config, engine, tracker, dashboard=False)
    if best is None:
        if not search and not searched:
            raise StudyError(
                f"study {config.name} has no completed trial to retrain; run it without "
                "--retrain-only first."
            )
        logger.warning("no trial completed: nothing to retrain")
        if cache is not None:
            logger.info("%s", cache.summary())
        _write_views(config, engine, tracker, compare=False)
        return StudyResult(None, None)
    primary = config.objectives[0]
    logger.info("best trial %s: %s %.4f, %s", best.key, primary, best.val_accuracy, best.params)
    chosen, summary = _chosen(config, engine, best)
    model = (
        retrain_best(config, chosen, data, runner, summary, engine.records()) if retrain else None
    )
    if cache is not None:
        logger.info("%s", cache.summary())
    _write_views(config, engine, tracker, compare=model is not None)
    return StudyResult(best, model)


def _chosen(
    config: StudyConfig, engine: Engine, best: BestTrial
) -> tuple[BestTrial, dict[str, Any]]:
    """The trial ``config.choose`` picks to retrain, and what the export's metadata says of the
    search: the objectives, constraints, the rule, the front (trial keys) and the choice.

    Raises:
        StudyError: no complete, feasible trial meets the rule.
    """
    objectives = config.objective_list()
    records = engine.records()
    chosen = best
    if config.choose != "best":
        record = choose(records, objectives, config.choose)
        if record is None or record.value is None:
            raise StudyError(
                f"no complete, feasible trial meets choose rule {config.choose}: rerun with "
                "--retrain-only and another --choose (best, knee, or a looser bound)."
            )
        chosen = BestTrial(
            key=record.key,
            number=record.number,
            params=config.search_space().validate(record.params),
            val_accuracy=record.value,
            throughput=Throughput.from_attrs(record.metrics),
            values=dict(record.values),
        )
        logger.info("choose %s: retraining trial %s %s", config.choose, chosen.key, chosen.values)
    summary = {
        "objectives": list(config.objectives),
        "constraints": list(config.constraints),
        "choose": config.choose,
        "chosen": chosen.key,
        "chosen_values": chosen.values,
        "front": [r.key for r in pareto(records, objectives)],
    }
    return chosen, summary


def _write_views(
    config: StudyConfig,
    engine: Engine,
    tracker: Tracker,
    *,
    compare: bool = True,
    dashboard: bool = True,
) -> None:
    """The compare table and the dashboard are views of the study read back once: failing to
    write them never fails the search."""
    try:
        records = read_study(config, engine, tracker)
    except Exception as error:
        interrupts.raise_if_interrupt(error)
        logger.warning(
            "study not read back (%s: %s): no views written", type(error).__name__, error
        )
        return
    if compare:
        try:
            from search.results.table import study_table, write_table

            path = write_table(config, study_table(config, records))
            logger.info("comparison table written to %s", path)
        except Exception as error:
            interrupts.raise_if_interrupt(error)
            logger.warning("comparison table not written (%s: %s)", type(error).__name__, error)
    if dashboard:
        try:
            from search.dashboard.page import write_dashboard  # Plotly, only when drawing

            write_dashboard(config, records)
        except Exception as error:
            interrupts.raise_if_interrupt(error)
            missing = missing_extra(error, "the dashboard")
            reason = str(missing) if missing else f"{type(error).__name__}: {error}"
            logger.warning("dashboard not written (%s)", reason)
