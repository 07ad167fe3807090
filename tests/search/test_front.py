"""The front and the choose rules, on records of known values."""

from __future__ import annotations

import pytest

from search.contract import TrialRecord
from search.front import candidates, check_rule, choose, dominates, pareto
from trainer.objectives import objective

OBJECTIVES = [objective("val_accuracy"), objective("latency_ms")]


def record(number: int, accuracy: float, latency: float, **kwargs) -> TrialRecord:
    settings = {"state": "complete", **kwargs}
    return TrialRecord(
        number=number,
        key=f"optuna-{number}",
        value=accuracy,
        params={},
        values={"val_accuracy": accuracy, "latency_ms": latency},
        **settings,
    )


RECORDS = [
    record(0, 0.90, 4.0),  # the most accurate
    record(1, 0.85, 1.0),  # the fastest
    record(2, 0.88, 1.5),  # the bend
    record(3, 0.84, 2.0),  # dominated by 1 and 2
    record(4, 0.95, 0.5, feasible=False),  # would dominate all, but broke a constraint
    record(5, 0.99, 0.1, state="pruned"),  # not finished: never on the front
]


def test_the_front_is_the_feasible_complete_non_dominated_trials() -> None:
    assert [r.key for r in pareto(RECORDS, OBJECTIVES)] == ["optuna-0", "optuna-1", "optuna-2"]
    assert dominates(RECORDS[1], RECORDS[3], OBJECTIVES)
    assert not dominates(RECORDS[0], RECORDS[1], OBJECTIVES)
    assert not dominates(RECORDS[0], RECORDS[0], OBJECTIVES)
    assert "optuna-4" not in {r.key for r in candidates(RECORDS, OBJECTIVES)}


def test_rules_best_knee_and_a_bound() -> None:
    assert choose(RECORDS, OBJECTIVES, "best").key == "optuna-0"  # type: ignore[union-attr]
    assert choose(RECORDS, OBJECTIVES, "knee").key == "optuna-2"  # type: ignore[union-attr]
    bound = choose(RECORDS, OBJECTIVES, "latency_ms<=1.5")
    assert bound is not None and bound.key == "optuna-2"
    assert choose(RECORDS, OBJECTIVES, "latency_ms<=0.2") is None


def test_best_breaks_ties_by_the_earliest_and_follows_the_direction() -> None:
    tied = [record(3, 0.9, 1.0), record(1, 0.9, 2.0)]
    assert choose(tied, OBJECTIVES, "best").number == 1  # type: ignore[union-attr]
    loss = [objective("val_loss")]
    low = TrialRecord(0, "optuna-0", "complete", 0.3, {}, values={"val_loss": 0.3})
    high = TrialRecord(1, "optuna-1", "complete", 0.2, {}, values={"val_loss": 0.2})
    assert choose([low, high], loss).key == "optuna-1"  # type: ignore[union-attr]


def test_a_record_without_values_counts_by_its_primary_value() -> None:
    plain = TrialRecord(0, "keras-tuner-0", "complete", 0.8, {})
    assert choose([plain], OBJECTIVES[:1]).key == "keras-tuner-0"  # type: ignore[union-attr]
    assert pareto([plain], OBJECTIVES) == []  # no latency measured: not on a 2-objective front


@pytest.mark.parametrize("rule", ["best", "knee", "latency_ms<=2", "parameters>=1"])
def test_rules_accepted(rule) -> None:
    check_rule(rule)


def test_a_bad_rule_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="choose must be best, knee or a constraint"):
        check_rule("fastest")
