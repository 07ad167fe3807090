"""The time budget: durations parsed, estimates made, new trials stopped in time (fake clock)."""

from __future__ import annotations

from pathlib import Path

import keras
import optuna
import pytest

import search.trial
from model_space import CNN_SPACE, build_cnn
from search.budget import (
    RETRAIN_OVERHEAD_SECONDS,
    SAFETY,
    Budget,
    Throughput,
    epochs_that_fit,
    parse_duration,
)
from search.budget_stop import StopAtBudget
from search.study_config import StudyError
from search.study_run import run_study
from tests.search.conftest import tiny_config
from trainer.fit import compile_model, fit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "seconds"), [("60m", 3600), ("1h30m", 5400), ("90s", 90), ("2h", 7200), ("1.5m", 90)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["60", "an hour", "0m", "-5m", "", None])
def test_bad_durations_name_the_accepted_forms(text: object) -> None:
    with pytest.raises(ValueError, match="such as 60m, 1h30m or 900s"):
        parse_duration(text)


def test_a_bad_budget_in_a_study_is_a_study_error(studies_dir: Path) -> None:
    with pytest.raises(StudyError, match="budget must be a duration"):
        tiny_config(studies_dir, budget="sixty")


def test_throughput_is_measured_on_steady_epochs() -> None:
    history = {"epoch_seconds": [30.0, 12.0, 14.0, 12.0], "val_seconds": [2.0, 2.0, 4.0, 2.0]}
    measured = Throughput.measure(history, train_images=1000, validation_images=500)
    assert measured is not None
    assert measured.train == pytest.approx(100.0)  # the fastest: 10 s (of 10, 10, 10) for 1000
    assert measured.validation == pytest.approx(250.0)  # the fastest: 2 s (of 2, 4, 2) for 500
    assert measured.compile_seconds == pytest.approx(18.0)
    assert measured.steady_epoch_seconds == pytest.approx(12.0)
    assert measured.epoch_seconds(5000, 1000) == pytest.approx(54.0)
    assert Throughput.from_attrs(measured.as_attrs()) == measured
    assert Throughput.measure({"epoch_seconds": [1.0]}, 10, 10) is None


def test_epochs_that_fit_keep_one_epochs_margin_not_every_epochs() -> None:
    # 130 s hold 3 epochs of 40 s with 15% of one to spare (126 s); 15% of each (138 s) would
    # have held 2
    assert epochs_that_fit(130, 40, most=4) == 3
    assert epochs_that_fit(125, 40, most=4) == 2
    assert epochs_that_fit(1000, 40, most=4) == 4  # never more than asked
    assert epochs_that_fit(40, 40, most=4) == 0  # none fits: the plain stop
    assert epochs_that_fit(10, 0, most=4) == 4 and epochs_that_fit(-1, 0, most=4) == 0


class FakeModel:
    """What ``StopAtBudget`` touches of a model: ``stop_training`` and the optimizer's step."""

    def __init__(self) -> None:
        self.stop_training = False
        self.optimizer = type("Optimizer", (), {"iterations": keras.Variable(0, dtype="int64")})()


def guarded_fit(
    seconds: float, epoch_times: list[float], reserve: float = 90.0
) -> tuple[int, float, float, list[int]]:
    """Runs the retrain's guard over ``len(epoch_times)`` planned epochs of 10 steps on a fake
    clock: (epochs run, the epoch the schedule ended with, seconds left at the end, the epochs
    after which the schedule moved on)."""
    clock = FakeClock()
    guard = StopAtBudget(Budget(seconds, clock=clock), reserve, anneal=True)
    model = FakeModel()
    guard.set_model(model)  # type: ignore[arg-type]
    guard.set_params({"epochs": len(epoch_times), "steps": 10})
    guard.on_train_begin()
    run, moves = 0, []
    for epoch, took in enumerate(epoch_times):
        clock.now += took
        model.optimizer.iterations.assign_add(10)
        before = int(model.optimizer.iterations.numpy())
        run += 1
        guard.on_epoch_end(epoch, {"epoch_seconds": took})
        if int(model.optimizer.iterations.numpy()) > before:
            moves.append(run)
        if model.stop_training or run >= guard.last_epoch:
            break
    return run, guard.last_epoch, seconds - clock.now, moves


def test_the_retrain_keeps_the_epochs_that_fit_with_one_epochs_margin() -> None:
    """The default command's retrain (2-core AMD EPYC, 2026-12-07): 20 planned, the first epoch
    97 s (it traces), the rest 90 s, and time for all of them with 15% of one to spare. All 20
    run; with 15% of every epoch left kept, 18 ran."""
    times = [97.0] + [90.0] * 19
    budget = 90 + sum(times) + 0.15 * 90 + 5
    assert guarded_fit(budget, times)[:2] == (20, 20)


def test_a_slowdown_mid_retrain_anneals_it_and_it_still_ends_in_time() -> None:
    """The machine turns 1.3x slower after epoch 8: the guard moves the schedule on once and
    the fit ends on its last epoch with the retrain's overhead (the reserve) still left."""
    times = [97.0] + [90.0] * 7 + [117.0] * 12
    budget = 90 + 97 + 19 * 90 + 0.15 * 90 + 5
    run, last, left, moves = guarded_fit(budget, times)
    assert run == last < 20 and moves == [9]
    assert left >= 90


def test_the_schedule_moves_on_at_the_warm_ups_end_not_inside_it() -> None:
    """The default command on the AMD EPYC (2026-12-07): 23 epochs planned from a trial's
    83 s, 34.0 minutes left; the retrain ran 97 and 95 s, then about 90. After epoch 2 fewer
    epochs fit than are left, but the first fifth of the plan (4.6 epochs) warms the rate up:
    the move waits for epoch 5, and by then the faster epochs hold one more (21, not 20)."""
    times = [96.9, 95.2] + [90.0] * 21
    run, last, left, moves = guarded_fit(34.0 * 60, times)
    assert moves == [5] and run == last == 21
    assert left >= 90
    # 4 planned, a warm-up under one epoch: the move comes with the first steady epoch
    run, last, left, moves = guarded_fit(96.9 + 95.2 + 90 + 1.3 * 95.2, times[:4])
    assert (run, last, moves) == (3, 3, [2])


@pytest.mark.slow
def test_a_running_fit_stops_when_one_more_epoch_would_eat_the_reserve(small_splits) -> None:
    clock = FakeClock()
    budget = Budget(100, clock=clock)

    class Tick(search.trial.keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            clock.now += 40

    params = {**CNN_SPACE.defaults(), "augmentation": 0.0, "batch_size": 128}
    model = build_cnn(params, seed=0)
    compile_model(model, params, total_steps=4 * 8)
    stop = StopAtBudget(budget, reserve=30)
    result = fit(model, small_splits, params, epochs=4, callbacks=[Tick(), stop])
    # 60 fake seconds left after epoch 1 (more than the reserve and a real epoch of a few
    # seconds), 20 after epoch 2: less than the reserve, so training stops there
    assert stop.stopped and result.epochs_run == 2


def fit_under_budget(small_splits, anneal: bool) -> tuple[StopAtBudget, object]:
    """A 6-epoch fit of the seed CNN under a 250-second budget that keeps a reserve of 30: its
    first epoch takes 70 fake seconds (it also traces the train step), the later ones 40."""
    clock = FakeClock()
    budget = Budget(250, clock=clock)

    class Tick(search.trial.keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = 70.0 if epoch == 0 else 40.0
            clock.now += seconds
            if logs is not None:
                logs["epoch_seconds"] = seconds

    params = {**CNN_SPACE.defaults(), "augmentation": 0.0, "batch_size": 128}
    model = build_cnn(params, seed=0)
    compile_model(model, params, total_steps=6 * (1000 // 128))
    stop = StopAtBudget(budget, reserve=30, anneal=anneal)
    return stop, fit(model, small_splits, params, epochs=6, callbacks=[Tick(), stop])


@pytest.mark.slow
def test_the_retrain_ends_annealed_when_fewer_epochs_fit_than_planned(
    small_splits, caplog: pytest.LogCaptureFixture
) -> None:
    """The first epoch's 70 s would hold 1 more epoch in its 150 s of room, not 5, but it is
    not a steady epoch: the anneal waits. After epoch 2, 110 s of room hold 2 more epochs of
    40 s (with 15% of one to spare), not 4: the schedule moves on by 2 epochs, training stops after
    epoch 4 with the learning rate at its end (0), not mid-cosine as a plain stop leaves it
    (after epoch 4 too, the last that fitted). The epoch lines after the anneal count and time
    the shortened fit: 3/4 with time left, 4/4 without."""
    with caplog.at_level("INFO", logger="trainer.fit"):
        stop, annealed = fit_under_budget(small_splits, anneal=True)
    assert stop.stopped and annealed.epochs_run == 4  # type: ignore[attr-defined]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/6", "2/6", "3/4", "4/4"]
    assert "left" in lines[2] and "left" not in lines[3]
    rates = annealed.history["learning_rate"]  # type: ignore[attr-defined]
    peak = CNN_SPACE.defaults()["learning_rate"]
    assert rates[-1] < 1e-6 * peak and rates[2] < rates[1]
    cut, plain = fit_under_budget(small_splits, anneal=False)
    assert cut.stopped and plain.epochs_run == 4  # type: ignore[attr-defined]
    assert plain.history["learning_rate"][-1] > 0.1 * peak  # type: ignore[attr-defined]


@pytest.mark.slow
def test_new_trials_stop_when_the_time_left_is_the_retrains(studies_dir: Path, monkeypatch) -> None:
    """Each trial costs 300 fake seconds of a 1000-second budget; the retrain reserves about
    90: trials start at 0, 300 and 600 s, not at 900 s (100 s left)."""
    clock = FakeClock()
    real_train = search.trial.train_model

    def slow_train(*args, **kwargs):  # type: ignore[no-untyped-def]
        clock.now += 300
        return real_train(*args, **kwargs)

    monkeypatch.setattr(search.trial, "train_model", slow_train)
    config = tiny_config(studies_dir, trials=5, tracking="none", pruner="none", budget="1000s")
    result = run_study(config, budget=Budget(config.budget_seconds, clock=clock))
    study = optuna.load_study(study_name="tiny", storage=config.storage_url)
    assert len(study.trials) == 3
    assert result.best_model is not None and result.best_model.job.fit.epochs_run == 1
    assert all("train_images_per_second" in t.user_attrs for t in study.trials)


def test_a_budget_too_short_for_the_retrain_keeps_half_of_itself_and_says_so_once(
    studies_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 20-epoch retrain of 10 + 1 s an epoch needs 310 s: a 200-second budget cannot hold
    it, so it keeps half of itself (not all of it, which would leave no trial), warned once."""
    from search.trial import TrialRunner

    config = tiny_config(studies_dir, retrain_epochs=20, retrain_subset=10_000)
    runner = TrialRunner(config, None, None, Budget(200), retrain=True)  # type: ignore[arg-type]
    throughput = Throughput(1000.0, 300.0)
    with caplog.at_level("WARNING", logger="search.trial"):
        reserves = [runner.retrain_reserve(throughput) for _ in range(3)]
    assert reserves == [pytest.approx(100 / SAFETY)] * 3
    lines = [r.getMessage() for r in caplog.records if "cannot hold" in r.getMessage()]
    assert len(lines) == 1 and "raise --budget or lower --retrain-epochs" in lines[0]
    # a budget that holds it keeps the whole retrain, silently
    roomy = TrialRunner(config, None, None, Budget(3600), retrain=True)  # type: ignore[arg-type]
    assert roomy.retrain_reserve(throughput) == pytest.approx(20 * 11 + RETRAIN_OVERHEAD_SECONDS)
