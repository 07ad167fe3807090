"""The front of a study: its feasible, non-dominated trials, and the rule that picks one.

Works on ``TrialRecord``s of any engine (and trials fetched from Vertex AI), so the search, the
compare table, the dashboard and the retrain agree on which trials are on the front and which
one is retrained. ``--choose`` rules:

- ``best``: the complete, feasible trial of the best primary objective (the first one);
- ``knee``: the front's trial closest to its ideal point, each objective scaled to [0, 1] over
  the front (the compromise in the front's bend);
- a constraint such as ``latency_ms<=2``: the best primary objective among the feasible trials
  that also meet it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from search.contract import TrialRecord
from trainer.objectives import Constraint, Objective

RULES = ("best", "knee")


def check_rule(rule: str) -> None:
    """Raises ValueError naming the accepted rules when ``rule`` is none of them."""
    if rule in RULES:
        return
    try:
        Constraint.parse(rule)
    except ValueError as error:
        raise ValueError(
            f"choose must be best, knee or a constraint such as latency_ms<=2, but got "
            f"{rule!r} ({error})"
        ) from None


def candidates(
    records: Sequence[TrialRecord], objectives: Sequence[Objective]
) -> list[TrialRecord]:
    """The complete, feasible trials with a finite value for every objective (the primary's
    taken from ``value`` where ``values`` leaves it out)."""
    primary = objectives[0].name
    filled = [
        replace(record, values={primary: record.value, **record.values})
        if record.value is not None and primary not in record.values
        else record
        for record in records
    ]
    return [
        record
        for record in filled
        if record.state == "complete"
        and record.feasible is not False
        and all(math.isfinite(_value(record, o)) for o in objectives)
    ]


def dominates(first: TrialRecord, second: TrialRecord, objectives: Sequence[Objective]) -> bool:
    """Whether ``first`` is no worse than ``second`` in every objective and better in one."""
    losses = [(o.loss(_value(first, o)), o.loss(_value(second, o))) for o in objectives]
    return all(a <= b for a, b in losses) and any(a < b for a, b in losses)


def pareto(records: Sequence[TrialRecord], objectives: Sequence[Objective]) -> list[TrialRecord]:
    """The candidates that no other candidate dominates, in the records' order."""
    pool = candidates(records, objectives)
    return [r for r in pool if not any(dominates(other, r, objectives) for other in pool)]


def best_record(
    records: Sequence[TrialRecord], objectives: Sequence[Objective]
) -> TrialRecord | None:
    """The candidate of the best primary objective, the earliest among ties."""
    return _best_primary(candidates(records, objectives[:1]), objectives[0])


def choose(
    records: Sequence[TrialRecord], objectives: Sequence[Objective], rule: str = "best"
) -> TrialRecord | None:
    """The trial ``rule`` picks (see the module's docstring); ``None`` when none qualifies."""
    if rule == "best":
        return best_record(records, objectives)
    if rule == "knee":
        return _knee(pareto(records, objectives), objectives)
    extra = Constraint.parse(rule)
    pool = [
        r
        for r in candidates(records, objectives)
        if extra.metric in r.values and extra.holds(r.values)
    ]
    return _best_primary(pool, objectives[0])


def _best_primary(pool: Sequence[TrialRecord], primary: Objective) -> TrialRecord | None:
    if not pool:
        return None
    return min(pool, key=lambda r: (primary.loss(_value(r, primary)), r.number))


def _knee(front: Sequence[TrialRecord], objectives: Sequence[Objective]) -> TrialRecord | None:
    if not front:
        return None
    scaled: list[list[float]] = []
    for objective in objectives:
        losses = [objective.loss(_value(r, objective)) for r in front]
        low, high = min(losses), max(losses)
        scaled.append([(v - low) / (high - low) if high > low else 0.0 for v in losses])
    distances = [math.hypot(*(column[i] for column in scaled)) for i in range(len(front))]
    index = min(range(len(front)), key=lambda i: (distances[i], front[i].number))
    return front[index]


def _value(record: TrialRecord, objective: Objective) -> float:
    value = record.values.get(objective.name)
    return math.nan if value is None else float(value)
