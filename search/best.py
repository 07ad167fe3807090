"""The best trial, retrained on every training image, tested once, exported, logged, registered."""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import keras

from model_space import run_name
from model_space.tta import served_model
from search.budget import RETRAIN_OVERHEAD_SECONDS, Throughput
from search.budget_stop import StopAtBudget
from search.contract import TrialRecord
from search.engines import BestTrial
from search.ensemble import Member, ensemble_allowed, members, plan
from search.study_config import StudyConfig
from search.tracking import RunState, Tracker
from search.trial import EpochTracking, TrialRunner
from trainer import interrupts, storage
from trainer.data import CLASS_NAMES, FashionMnist
from trainer.evaluate import evaluate
from trainer.export import METADATA_FILE
from trainer.job import JobResult, train_job, train_model
from trainer.settings import RunSettings
from trainer.splits import split

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BestModel:
    job: JobResult
    run_id: str
    registered_version: str = ""
    #: the test accuracy of each retrained seed, the exported (first) one first
    seed_accuracies: tuple[float, ...] = field(default_factory=tuple)


def retrain_best(
    config: StudyConfig,
    best: BestTrial,
    data: FashionMnist,
    runner: TrialRunner,
    search_summary: dict[str, Any] | None = None,
    records: Sequence[TrialRecord] = (),
) -> BestModel:
    """Retrains ``best`` for up to ``retrain_epochs`` with validation early stopping, evaluates
    it once on the test set, exports it to ``studies/<name>/best/`` and logs it as its own run.
    With MLflow tracking, registers it as a new version of ``fashion-mnist-cnn``.

    Under a time budget it trains as many epochs as the time left holds (at most
    ``retrain_max_epochs``, default ``retrain_epochs``); with ``retrain_seeds`` K > 1, K - 1
    more seeds are trained and tested, and the mean and standard deviation of their test
    accuracy are logged and written to the export's metadata.

    With ``ensemble`` N > 1, it spends what the budget left on up to N members
    (``search.ensemble``: close configurations among ``records``, then more seeds), exported as
    one model, the mean of their probabilities."""
    tracker = runner.tracker
    candidates = _candidates(config, best, records)
    count, epochs, epoch_seconds = _plan(config, best, runner, candidates, records)
    chosen = candidates[:count]
    settings = RunSettings(
        epochs=epochs,
        data_dir=config.data_dir,
        model_dir=str(config.best_dir.absolute()),
        subset=config.retrain_subset,
        validation_size=config.validation_size,
        seed=config.seed,
        tta=config.tta,
        checkpoint_dir=str(config.checkpoint_dir(f"best-{best.key}").absolute()),
        objectives=config.objectives,
        precision=config.precision,
    )
    name = run_name(best.params, datetime.now(UTC), experiment=tracker.experiment, suffix="best")
    logger.info(
        "retraining the best trial %s (val_accuracy %.4f) for up to %d epochs as %s%s",
        best.key,
        best.val_accuracy,
        epochs,
        name,
        f", an ensemble of {count}: {', '.join(f'{m.source} seed {m.seed}' for m in chosen)}"
        if count > 1
        else "",
    )
    run = tracker.start_run(
        name,
        {
            **best.params,
            "source_trial": best.key,
            "epochs": epochs,
            "seed": config.seed,
            "tta": str(config.tta).lower(),
            "retrain_seeds": config.retrain_seeds,
            "ensemble": count,
            "precision": config.precision,
        },
        key=f"best-{best.key}",
    )

    def guard(index: int) -> list[keras.callbacks.Callback]:
        """Member ``index`` stops in time for the later members' planned epochs (their own
        guards then absorb any slowdown, as the last epoch's margin does for the last)."""
        if not runner.budget.limited:
            return []
        later = sum(epochs * seconds for seconds in epoch_seconds[index:count])
        reserve = (count - index + 1) * RETRAIN_OVERHEAD_SECONDS + later
        return [StopAtBudget(runner.budget, reserve, anneal=True)]

    try:
        job = train_job(
            best.params,
            settings,
            data=data,
            name=name,
            callbacks=[EpochTracking(run), *guard(1)],
            more_members=[(m.params, m.seed) for m in chosen[1:]],
            member_callbacks=guard,
        )
        accuracies = (job.test.accuracy, *_more_seeds(config, best, data, epochs))
    except KeyboardInterrupt:
        run.end("interrupted", "the worker was interrupted")
        raise
    except Exception as error:
        interrupt = interrupts.as_interrupt(error)
        if interrupt is not None:
            run.end("interrupted", "the worker was interrupted")
            raise interrupt from error
        run.end("failed", f"{type(error).__name__}: {error}")
        raise
    try:
        extra: dict[str, Any] = {"search": search_summary} if search_summary else {}
        if len(accuracies) > 1:
            extra["seeds"] = {**seed_summary(accuracies), "first_seed": config.seed}
        ensemble = job.metadata.get("ensemble")
        described = [
            {**d, "source_trial": m.source}
            for m, d in zip(chosen, ensemble["members"] if ensemble else [], strict=bool(ensemble))
        ]
        if ensemble:
            extra["ensemble"] = {**ensemble, "members": described}
        if extra:
            _add_to_metadata(config, extra)
        run.log_metrics(_final_metrics(job, accuracies))
        run.log_confusion_matrix(CLASS_NAMES, job.test.confusion_matrix)
        sources = ",".join(f"{d['source_trial']}:{d['seed']}" for d in described if d["kept"])
        run.set_tags(
            {
                "source_trial": best.key,
                "model_dir": job.model_dir,
                "role": "best",
                **({"ensemble_members": sources} if described else {}),
            }
        )
        version = _register(config, tracker, run.run_id, job, best)
    except BaseException as error:  # the export stands; the run must not stay RUNNING
        state: RunState = "interrupted" if interrupts.as_interrupt(error) else "failed"
        run.end(state, f"logging or registering failed: {type(error).__name__}: {error}")
        raise
    run.end("complete")
    return BestModel(job, run.run_id, version, accuracies)


def _candidates(
    config: StudyConfig, best: BestTrial, records: Sequence[TrialRecord]
) -> list[Member]:
    """The ensemble's candidate members, the chosen trial first (only it without one)."""
    if config.ensemble < 2:
        return [Member(best.params, config.seed, best.key)]
    why_not = ensemble_allowed(config.objectives, config.before_training_metrics())
    if why_not:
        logger.info("one model is retrained, not an ensemble: %s", why_not)
        return [Member(best.params, config.seed, best.key)]
    space = config.search_space()
    valid = [replace(r, params=space.validate(r.params)) for r in records if r.params]
    return members(best.key, best.params, best.val_accuracy, valid, config.ensemble, config.seed)


def _plan(
    config: StudyConfig,
    best: BestTrial,
    runner: TrialRunner,
    candidates: Sequence[Member],
    records: Sequence[TrialRecord],
) -> tuple[int, int, list[float]]:
    """How many of ``candidates`` are retrained, for how many epochs each, and the seconds
    an epoch of each is expected to take (empty without a budget)."""
    if not runner.budget.limited or best.throughput is None:
        return len(candidates), config.retrain_epochs, []
    measured = {r.key: Throughput.from_attrs(r.metrics) for r in records}
    epoch_seconds = [
        runner.retrain_epoch_seconds(measured.get(m.source) or best.throughput) for m in candidates
    ]
    left = runner.budget.left() / config.retrain_seeds
    count, epochs = plan(left, epoch_seconds, config.retrain_epochs, config.retrain_max_epochs)
    if count < len(candidates):
        logger.info(
            "time budget: %.1f min left: %d of %d ensemble members fit (an epoch of each takes "
            "about %s s)",
            runner.budget.left() / 60,
            count,
            len(candidates),
            ", ".join(f"{s:.0f}" for s in epoch_seconds),
        )
    if epochs != config.retrain_epochs:
        fewer = epochs < config.retrain_epochs
        logger.log(
            logging.WARNING if fewer else logging.INFO,
            "time budget: %.1f min left and an epoch takes about %.0f s, so the retrain runs "
            "%d epochs%s",
            runner.budget.left() / 60,
            sum(epoch_seconds[:count]),
            epochs,
            f" instead of {config.retrain_epochs}"
            if fewer
            else f", more than retrain_epochs ({config.retrain_epochs}): the search left the time",
        )
    return count, epochs, epoch_seconds


def _more_seeds(
    config: StudyConfig, best: BestTrial, data: FashionMnist, epochs: int
) -> list[float]:
    """The test accuracy of seeds 2..K, trained and tested like the first, not exported."""
    if config.retrain_seeds < 2:
        return []
    splits = split(
        data,
        validation_size=config.validation_size,
        subset=config.retrain_subset,
        seed=config.seed,
    )
    accuracies = []
    for offset in range(1, config.retrain_seeds):
        logger.info("retraining seed %d of %d", offset + 1, config.retrain_seeds)
        model, _ = train_model(
            best.params,
            splits,
            epochs=epochs,
            seed=config.seed + offset,
            precision=config.precision,
        )
        served = served_model(model, config.tta)
        accuracies.append(evaluate(served, splits.x_test, splits.y_test).accuracy)
    return accuracies


def seed_summary(accuracies: tuple[float, ...]) -> dict[str, Any]:
    return {
        "test_accuracy": list(accuracies),
        "mean": statistics.fmean(accuracies),
        "std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
    }


def _add_to_metadata(config: StudyConfig, extra: dict[str, Any]) -> None:
    """Adds ``extra``'s keys to the export's metadata.json, replaced whole (never torn)."""
    path = config.best_dir / METADATA_FILE
    document = {**json.loads(path.read_text()), **extra}
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    storage.write_bytes(str(path), text.encode())


def _final_metrics(job: JobResult, accuracies: tuple[float, ...]) -> dict[str, float]:
    low, high = job.test.accuracy_interval()
    metrics = {
        "val_accuracy": job.validation.accuracy,
        "val_loss": job.validation.loss,
        "best_epoch_val_accuracy": job.fit.val_accuracy,
        "test_accuracy": job.test.accuracy,
        "test_accuracy_95_low": low,
        "test_accuracy_95_high": high,
        "val_minus_test": job.gap,
        "test_loss": job.test.loss,
        "best_epoch": float(job.fit.best_epoch),
        "epochs_run": float(job.fit.epochs_run),
        "parameter_count": float(job.metadata["parameter_count"]),
    }
    for name, measured in job.metadata.get("objectives", {}).items():
        metrics.setdefault(name, float(measured["value"]))
    for row in job.test.per_class:
        slug = row.name.lower().replace("/", "_").replace("-", "_").replace(" ", "_")
        metrics[f"test_f1_{slug}"] = row.f1
    for index, member in enumerate(job.metadata.get("ensemble", {}).get("members", []), start=1):
        metrics[f"member_{index}_test_accuracy"] = float(member["test_accuracy"])
        metrics[f"member_{index}_val_accuracy"] = float(member["validation_accuracy"])
    if len(accuracies) > 1:
        summary = seed_summary(accuracies)
        metrics["test_accuracy_mean"] = summary["mean"]
        metrics["test_accuracy_std"] = summary["std"]
    return metrics


def _register(
    config: StudyConfig, tracker: Tracker, run_id: str, job: JobResult, best: BestTrial
) -> str:
    version = tracker.register(
        run_id,
        config.best_dir,
        study=config.name,
        tags={
            "study": config.name,
            "run_name": job.run_name,
            "source_trial": best.key,
            "val_accuracy": f"{job.validation.accuracy:.4f}",
            "test_accuracy": f"{job.test.accuracy:.4f}",
        },
    )
    if not version:
        logger.info("tracking %s: the best model is exported but not registered", config.tracking)
    return version
