"""The retrain's ensemble: its members, how many fit the budget left, and when it is one model."""

from __future__ import annotations

import pytest

from search.budget import RETRAIN_OVERHEAD_SECONDS, SAFETY
from search.contract import TrialRecord
from search.ensemble import MEMBER_MARGIN, ensemble_allowed, members, plan


def record(
    number: int, value: float | None, state: str = "complete", **params: object
) -> TrialRecord:
    return TrialRecord(number, f"optuna-{number}", state, value, dict(params))  # type: ignore[arg-type]


def test_members_are_the_chosen_then_close_distinct_configurations_then_more_seeds() -> None:
    chosen = {"units": 256, "convs_per_block": 2}
    records = [
        record(0, 0.900, units=512, convs_per_block=1),  # too far below
        record(1, 0.920, units=256, convs_per_block=2),  # the chosen one itself
        record(2, 0.920 - MEMBER_MARGIN / 2, units=384, convs_per_block=2),
        record(3, 0.919, "pruned", units=128, convs_per_block=2),  # not complete
        record(4, 0.916, units=384, convs_per_block=2),  # the same as trial 2, below it
    ]
    picked = members("optuna-1", chosen, 0.920, records, count=4, seed=42)
    assert [(m.source, m.seed) for m in picked] == [
        ("optuna-1", 42),
        ("optuna-2", 42),
        ("optuna-1", 43),
        ("optuna-1", 44),
    ]
    assert picked[1].params == {"units": 384, "convs_per_block": 2}
    assert members("optuna-1", chosen, 0.92, records, count=1, seed=0)[0].params == chosen


def test_plan_prefers_more_members_while_each_gets_three_quarters_of_the_epochs() -> None:
    def left_for(members: int, epochs: int, epoch: float = 40.0) -> float:
        """Time for ``epochs`` of each member, with 15% of one epoch of all to spare."""
        return members * (epochs * epoch + RETRAIN_OVERHEAD_SECONDS + (SAFETY - 1) * epoch) + 1

    assert plan(left_for(3, 20), [40.0] * 3, 20) == (3, 20)
    assert plan(left_for(3, 15), [40.0] * 3, 20) == (3, 15)  # 15 = three quarters of 20
    assert plan(left_for(3, 14), [40.0] * 3, 20) == (2, 20)  # not 3 x 14: 2 x 20 fit
    assert plan(left_for(1, 20), [40.0] * 3, 20) == (1, 20)
    assert plan(left_for(1, 5), [40.0] * 3, 20) == (1, 5)  # one member, fewer epochs
    assert plan(10.0, [40.0] * 3, 20) == (1, 1)  # at least one epoch of one
    assert plan(left_for(3, 100), [40.0] * 3, 20) == (3, 20)  # never more than asked
    assert plan(left_for(1, 17) - 2, [40.0] * 3, 20) == (1, 16)  # the margin is kept


def test_plan_spends_time_beyond_retrain_epochs_up_to_the_most_epochs() -> None:
    def left_for(epochs: int, epoch: float = 40.0) -> float:
        return epochs * epoch + RETRAIN_OVERHEAD_SECONDS + (SAFETY - 1) * epoch + 1

    assert plan(left_for(24), [40.0] * 3, 20, most_epochs=30) == (1, 24)
    assert plan(left_for(40), [40.0], 20, most_epochs=30) == (1, 30)
    assert plan(left_for(40), [40.0] * 3, 20, most_epochs=30) == (2, 18)  # members first
    assert plan(left_for(24), [40.0] * 3, 20) == (1, 20)  # most_epochs: retrain_epochs


def test_plan_counts_each_members_own_epoch_time() -> None:
    left = 20 * (40.0 + 10.0) + 2 * RETRAIN_OVERHEAD_SECONDS + (SAFETY - 1) * 50.0 + 1
    assert plan(left, [40.0, 10.0, 200.0], 20) == (2, 20)


@pytest.mark.parametrize(
    ("objectives", "before", "allowed"),
    [
        (("val_accuracy",), (), True),
        (("val_loss",), (), False),
        (("val_accuracy", "latency_ms"), ("latency_ms",), False),
        (("val_accuracy",), ("parameters",), False),  # a constraint on the size
    ],
)
def test_an_ensemble_only_where_size_and_latency_are_not_searched(
    objectives: tuple[str, ...], before: tuple[str, ...], allowed: bool
) -> None:
    assert (ensemble_allowed(objectives, before) == "") is allowed


def _reserve(studies_dir, retrain: bool = True, **overrides: object) -> float:  # type: ignore[no-untyped-def]
    from search.budget import Budget, Throughput
    from search.testing.studies import tiny_config
    from search.trial import TrialRunner

    config = tiny_config(studies_dir, retrain_epochs=20, retrain_subset=10_000, **overrides)
    runner = TrialRunner(config, None, None, Budget(3600), retrain=retrain)  # type: ignore[arg-type]
    # 10,000 training and 300 validation images: an epoch of 10 + 1 s
    return runner.retrain_reserve(Throughput(1000.0, 300.0))


def test_the_search_keeps_the_time_of_one_model(studies_dir) -> None:  # type: ignore[no-untyped-def]
    one = _reserve(studies_dir)
    assert one == pytest.approx(20 * 11 + RETRAIN_OVERHEAD_SECONDS)
    # further members get only what the search leaves
    assert _reserve(studies_dir, ensemble=3) == pytest.approx(one)


def test_nothing_is_kept_when_no_retrain_follows(studies_dir) -> None:  # type: ignore[no-untyped-def]
    assert _reserve(studies_dir, retrain=False, ensemble=3) == 0.0
