"""The retrain's ensemble: which configurations, how many members and how many epochs.

The retrain spends what the budget left. It plans up to ``ensemble`` members, each retrained on
every training image for the same number of epochs (a complete learning-rate schedule), and
exported as one model: the mean of their probabilities (``model_space.tta.served_model``).
More members come before more epochs, as long as each member still gets at least
``MIN_EPOCH_FRACTION`` of ``retrain_epochs``; with the time for one member only, the retrain is
one model as before. Any of them trains up to ``retrain_max_epochs`` (default
``retrain_epochs``) when the time left holds more than ``retrain_epochs``.

Members: the chosen trial first, then other complete configurations whose primary objective
(val_accuracy) came within ``MEMBER_MARGIN`` of it in their trials, best first, then the chosen
configuration again with the next seeds. An ensemble multiplies a model's size and latency, so
a study with objectives or constraints known before training (``parameters``, ``latency_ms``,
``model_mb``) or a primary other than val_accuracy retrains one model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from search.budget import RETRAIN_OVERHEAD_SECONDS, epochs_that_fit
from search.contract import TrialRecord

#: Each member trains at least this share of ``retrain_epochs``, or the ensemble is smaller.
MIN_EPOCH_FRACTION = 0.75
#: A configuration other than the chosen one joins the ensemble when its trial's
#: val_accuracy is at most this far below the chosen trial's.
MEMBER_MARGIN = 0.005


@dataclass(frozen=True)
class Member:
    """One model of the ensemble: a configuration and its seed; ``source`` the trial key."""

    params: dict[str, Any]
    seed: int
    source: str


def members(
    chosen_key: str,
    chosen_params: Mapping[str, Any],
    chosen_value: float,
    records: Sequence[TrialRecord],
    count: int,
    seed: int,
) -> list[Member]:
    """Up to ``count`` members: the chosen configuration first (at ``seed``), then the close
    distinct configurations among ``records``, then the chosen one at ``seed + 1, + 2...``."""
    chosen = Member(dict(chosen_params), seed, chosen_key)
    picked = [chosen]
    seen = [dict(chosen_params)]
    close = sorted(
        (
            r
            for r in records
            if r.state == "complete"
            and r.feasible is not False
            and r.value is not None
            and math.isfinite(r.value)
            and r.value >= chosen_value - MEMBER_MARGIN
        ),
        key=lambda r: (-float(r.value or 0.0), r.number),
    )
    for record in close:
        if len(picked) >= count:
            break
        params = {**chosen_params, **record.params}
        if params in seen:
            continue
        seen.append(params)
        picked.append(Member(params, seed, record.key))
    offset = 1
    while len(picked) < count:
        picked.append(Member(dict(chosen_params), seed + offset, chosen_key))
        offset += 1
    return picked


def plan(
    left_seconds: float,
    epoch_seconds: Sequence[float],
    wanted_epochs: int,
    most_epochs: int | None = None,
    min_fraction: float = MIN_EPOCH_FRACTION,
) -> tuple[int, int]:
    """``(members, epochs)``: the most of the candidate members (one epoch of each takes
    ``epoch_seconds[i]``) that fit in ``left_seconds`` with at least ``min_fraction`` of
    ``wanted_epochs`` each, and the most epochs, up to ``most_epochs`` (default
    ``wanted_epochs``), they then get. One member always (at least one epoch): the budget's
    own guard stops it in time."""
    floor = floor_epochs(wanted_epochs, min_fraction)
    most = max(wanted_epochs, most_epochs or wanted_epochs)
    for count in range(len(epoch_seconds), 0, -1):
        spendable = left_seconds - count * RETRAIN_OVERHEAD_SECONDS
        epochs = epochs_that_fit(spendable, sum(epoch_seconds[:count]), most)
        if epochs >= floor or count == 1:
            return count, max(1, epochs)
    return 1, wanted_epochs


def floor_epochs(wanted_epochs: int, min_fraction: float = MIN_EPOCH_FRACTION) -> int:
    """The fewest epochs a member of an ensemble trains."""
    return max(1, math.ceil(min_fraction * wanted_epochs))


def ensemble_allowed(objectives: Sequence[str], before_training: Sequence[str]) -> str:
    """Why this study retrains one model (``""``: an ensemble is allowed)."""
    if objectives[0] != "val_accuracy":
        return f"the primary objective is {objectives[0]}, not val_accuracy"
    if before_training:
        return (
            f"the study optimises or bounds {', '.join(before_training)}, which an ensemble "
            "multiplies"
        )
    return ""
