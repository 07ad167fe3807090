"""The training precision: Keras's global dtype policy, chosen once per process.

``mixed_bfloat16`` computes convolutions and dense layers in bfloat16 with float32 weights.
It pays on CPUs with AMX-BF16 and on GPUs of compute capability 8.0 or more; on CPUs with
AVX512-BF16 but no AMX it ran slower (the figures: docs/performance.md). So ``auto`` takes
bfloat16 only where ``amx_bf16`` is among the CPU's flags or such a GPU is present, float32
elsewhere, and logs the choice.

The model's input scaling, its augmentation and its softmax output stay float32 whatever the
policy (see ``model_space.cnn``), and the served model is rebuilt in float32
(``model_space.tta``), so an export serves the same way whatever it was trained in.

``keras.backend.clear_session()`` resets the global policy: ``apply`` it after every reset.
Keras is imported only when a policy is applied, so flags are checked before any backend loads.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
#: The GPU compute capability from which bfloat16 has tensor cores (Ampere).
BF16_GPU_CAPABILITY = (8, 0)
CPU_INFO = Path("/proc/cpuinfo")


def check(precision: str) -> str:
    """``precision`` if it is one of ``PRECISIONS``.

    Raises:
        ValueError: anything else, naming the choices.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(PRECISIONS)}, but got {precision!r}."
        )
    return precision


def resolve(precision: str) -> str:
    """The Keras dtype policy for ``precision``: ``auto`` is decided (and logged) once."""
    check(precision)
    return _auto() if precision == "auto" else precision


def apply(precision: str) -> str:
    """Sets Keras's global dtype policy for ``precision``; returns the policy's name."""
    import keras

    policy = resolve(precision)
    keras.config.set_dtype_policy(policy)
    return policy


@functools.cache
def _auto() -> str:
    reason = bf16_hardware()
    if reason:
        logger.info("precision auto: mixed_bfloat16 (%s)", reason)
        return "mixed_bfloat16"
    logger.info("precision auto: float32 (no AMX-BF16 CPU and no GPU of compute capability 8.0+)")
    return "float32"


def bf16_hardware() -> str:
    """Why bfloat16 pays here (``"the CPU has AMX-BF16"``, ``"GPU of compute capability
    9.0"``), or ``""`` where it does not."""
    capability = gpu_capability()
    if capability is not None:
        if capability >= BF16_GPU_CAPABILITY:
            return f"a GPU of compute capability {capability[0]}.{capability[1]}"
        return ""
    return "the CPU has AMX-BF16" if "amx_bf16" in cpu_flags() else ""


def cpu_flags(cpuinfo: Path = CPU_INFO) -> set[str]:
    """The first processor's flags in ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return set(value.split())
    return set()


def gpu_capability() -> tuple[int, int] | None:
    """The first GPU's compute capability under the current backend, ``None`` without one."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            text = getattr(gpus[0], "compute_capability", "") if gpus else ""
            return _parse_capability(str(text)) if gpus else None
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if not gpus:
                return None
            details = tf.config.experimental.get_device_details(gpus[0])
            found = details.get("compute_capability")
            return (int(found[0]), int(found[1])) if found else (0, 0)
        if backend == "torch":
            import torch

            if not torch.cuda.is_available():
                return None
            major, minor = torch.cuda.get_device_capability()
            return int(major), int(minor)
    except (ImportError, RuntimeError, IndexError, ValueError) as error:
        logger.debug("no GPU capability under %s: %s", backend, error)
    return None


def _parse_capability(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return (int(major), int(minor or 0)) if major.isdigit() else (0, 0)
