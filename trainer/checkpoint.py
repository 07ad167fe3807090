"""Epoch checkpoints: what continuing a fit needs, in one file written atomically each epoch.

At the end of every epoch ``EpochCheckpoint`` writes ``checkpoint.npz``: every model variable
(weights, BatchNormalization statistics, the dropout and augmentation random states), every
optimizer variable (moments, and the iteration count, which is the learning-rate schedule's
position), the early-stopping state with the best epoch's weights, the per-epoch history, and
a fingerprint of what was being trained. It is written to a temporary file and renamed over
the previous one (on ``gs://``, one object upload, which is atomic too), so a crash while
writing leaves the previous epoch's checkpoint. ``restore`` continues a fit from it when the
fingerprint matches (same parameters, data sizes, epochs and seed), and ignores it otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from trainer import interrupts, storage

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.npz"


def fingerprint(params: Mapping[str, Any], **settings: Any) -> str:
    """What a checkpoint belongs to: a fit resumes only from its own."""
    document = json.dumps({"params": dict(params), **settings}, sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Restored:
    """A fit's state at the end of epoch ``epoch`` (1-based: the next epoch to run is
    ``epoch + 1``)."""

    epoch: int
    history: dict[str, list[float]]
    stopping: dict[str, Any]
    best_weights: list[np.ndarray] | None


class Checkpoint:
    """``folder/checkpoint.npz``, local or ``gs://``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = storage.join(folder, CHECKPOINT_FILE)

    def save(
        self,
        model: keras.Model,
        *,
        key: str,
        epoch: int,
        history: Mapping[str, list[float]],
        stopping: Mapping[str, Any],
        best_weights: list[Any] | None,
    ) -> None:
        arrays: dict[str, Any] = {}
        for index, variable in enumerate(model.variables):
            arrays[f"model_{index}"] = keras.ops.convert_to_numpy(variable.value)
        for index, variable in enumerate(model.optimizer.variables):
            arrays[f"optimizer_{index}"] = keras.ops.convert_to_numpy(variable.value)
        for index, weight in enumerate(best_weights or []):
            arrays[f"best_{index}"] = keras.ops.convert_to_numpy(weight)
        state = {
            "fingerprint": key,
            "epoch": epoch,
            "history": {name: list(values) for name, values in history.items()},
            "stopping": dict(stopping),
            "best_weights": best_weights is not None,
        }
        arrays["state"] = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        self._write(buffer.getvalue())

    def restore(self, model: keras.Model, key: str) -> Restored | None:
        """Loads the checkpoint into ``model`` (compiled) and its optimizer; ``None`` when there
        is none, or it belongs to another fit (then it is ignored), or it cannot be read (torn
        or corrupt: then it is removed, so that no later resume reads it again)."""
        if not storage.exists(self.path):
            return None
        try:
            with np.load(io.BytesIO(storage.read_bytes(self.path))) as saved:
                arrays = {name: saved[name] for name in saved.files}
            state = json.loads(arrays.pop("state").tobytes().decode())
        except Exception as error:  # a torn or foreign file: start afresh, say so
            interrupts.raise_if_interrupt(error)
            logger.warning(
                "checkpoint %s unreadable (%s): removed; training from the start", self.path, error
            )
            storage.remove(self.path)
            return None
        if state.get("fingerprint") != key:
            logger.info("checkpoint %s belongs to another fit; training from the start", self.path)
            return None
        model.optimizer.build(model.trainable_variables)
        variables = list(model.variables)
        optimizer = list(model.optimizer.variables)
        if sum(n.startswith("model_") for n in arrays) != len(variables) or sum(
            n.startswith("optimizer_") for n in arrays
        ) != len(optimizer):
            logger.warning("checkpoint %s does not fit this model; training afresh", self.path)
            return None
        for index, variable in enumerate(variables):
            variable.assign(arrays[f"model_{index}"])
        for index, variable in enumerate(optimizer):
            variable.assign(arrays[f"optimizer_{index}"])
        best = None
        if state["best_weights"]:
            best = [arrays[f"best_{i}"] for i in range(sum(n.startswith("best_") for n in arrays))]
        return Restored(state["epoch"], state["history"], state["stopping"], best)

    def delete(self) -> None:
        """Removes the checkpoint (a finished fit's job is done)."""
        storage.remove(self.path)
        if not storage.is_remote(self.folder):
            with contextlib.suppress(OSError):  # the folder may hold other files
                Path(self.folder).rmdir()

    def _write(self, data: bytes) -> None:
        storage.write_bytes(self.path, data)  # whole or not at all


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the fit's state at the end of each epoch (after early stopping has updated)."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        key: str,
        stopping: Any,
        history: Mapping[str, list[float]] | None = None,
    ) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.key = key
        self.stopping = stopping
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        self.checkpoint.save(
            self.model,
            key=self.key,
            epoch=epoch + 1,
            history=self.history,
            stopping=self.stopping.state(),
            best_weights=self.stopping.best_weights,
        )
