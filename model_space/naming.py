"""The run-name rule: ``custom-cnn-<filters>-<units>-<dropout>-<timestamp>``, Vertex-valid.

Vertex AI Experiments stores a run as ``<experiment>-<run>``: lowercase letters, digits and
hyphens only, at most 121 characters in all. Decimals are written with ``p`` (``0.25`` ->
``0p25``), so the seed's ``custom-cnn-32-64-128-512-0.25-0.5-20250430123456`` becomes
``custom-cnn-32-64-128-512-0p25-0p5-20250430123456``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from model_space.errors import SpaceError

MAX_RUN_ID_LENGTH = 121
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def format_decimal(value: float) -> str:
    """``0.25`` -> ``0p25``; three significant digits at most; ``0.0`` -> ``0``."""
    text = f"{value:.3g}"
    if "e" in text:
        text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text.replace(".", "p").replace("-", "m")


def run_name(
    params: Mapping[str, Any],
    when: datetime,
    *,
    experiment: str = "",
    suffix: str = "",
) -> str:
    """The run name for ``params`` at ``when``, valid inside ``experiment``.

    Args:
        params: a point of the space (``filters``, ``units``, ``conv_dropout``,
            ``dense_dropout`` are used).
        when: the timestamp written into the name, to the second.
        experiment: the Experiments experiment that will hold the run; its name counts toward
            the 121-character limit.
        suffix: appended after the timestamp (such as a trial number) to keep names unique
            when several runs start within one second.

    Raises:
        ValueError: the name cannot fit within the limit beside ``experiment``.
    """
    parts = [
        "custom-cnn",
        str(params["filters"]),
        str(params["units"]),
        format_decimal(float(params["conv_dropout"])),
        format_decimal(float(params["dense_dropout"])),
        when.strftime(TIMESTAMP_FORMAT),
    ]
    if suffix:
        parts.append(suffix)
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    check_run_name(name, experiment=experiment)
    return name


def check_run_name(name: str, *, experiment: str = "") -> None:
    """Raises ValueError unless ``name`` is a valid Vertex AI Experiments run name."""
    if not _NAME.match(name):
        raise SpaceError(f"Run name {name!r} must use only lowercase letters, digits and '-'.")
    run_id = f"{experiment}-{name}" if experiment else name
    if len(run_id) > MAX_RUN_ID_LENGTH:
        raise SpaceError(
            f"Run ID {run_id!r} has {len(run_id)} characters; Vertex AI allows "
            f"{MAX_RUN_ID_LENGTH}. Use a shorter experiment name."
        )
