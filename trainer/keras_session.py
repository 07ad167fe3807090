"""Keras's global state between models in one process, so a search's memory stays flat.

``keras.backend.clear_session()`` is not enough under TensorFlow: every traced training step
calls the optimizer's gradient all-reduce, which registers a ``CustomGradient-<uid>`` function in
TensorFlow's global gradient registry and never removes it. The registered closure holds the
step's symbolic tensors, so each finished model's whole traced graph (about 30 MB for the seed
CNN) stays in memory for the life of the process (tensorflow/tensorflow#80895,
keras-team/tf-keras#286; the fix proposed upstream, keras-team/tf-keras#898, does what
``forget_custom_gradients`` does).
"""

from __future__ import annotations

import logging
import os

import keras

logger = logging.getLogger(__name__)

CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def reset_keras_session() -> None:
    """Frees what earlier models left in Keras's and TensorFlow's global state.

    Call it before building a new model, never while an earlier model is still being traced:
    a custom gradient is only looked up while its step function is traced, so dropping the
    registrations of finished traces changes nothing for models that are already compiled.
    """
    if keras.backend.backend() == "tensorflow":
        forget_custom_gradients()
    keras.backend.clear_session(free_memory=True)


def forget_custom_gradients() -> int:
    """Removes every ``CustomGradient-*`` registration; returns how many there were."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        logger.debug("TensorFlow's gradient registry has moved; custom gradients are kept")
        return 0
    names = [name for name in registry if name.startswith(CUSTOM_GRADIENT_PREFIX)]
    for name in names:
        del registry[name]
    return len(names)


class CompileCache:
    """JAX's persistent compilation cache in ``folder``, and how often it served this process.

    Every XLA program is cached (no minimum compile time or size), so a configuration trained
    again (the retrain of the best trial, a repeated point, another worker's trial of the same
    shapes) loads its programs instead of compiling them. A no-op under other backends.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0
        self.saved_seconds = 0.0

    @classmethod
    def open(cls, folder: str) -> CompileCache | None:
        """Turns the cache on for this process (JAX backend only; ``None`` otherwise)."""
        if keras.backend.backend() != "jax":
            return None
        import jax

        cache = cls(folder)
        os.makedirs(folder, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        jax.monitoring.register_event_listener(cache._event)
        jax.monitoring.register_event_duration_secs_listener(cache._duration)
        return cache

    def _event(self, event: str, **kwargs: str | int) -> None:
        if event == "/jax/compilation_cache/cache_hits":
            self.hits += 1
        elif event == "/jax/compilation_cache/cache_misses":
            self.misses += 1

    def _duration(self, event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == "/jax/compilation_cache/compile_time_saved_sec":
            self.saved_seconds += duration_secs

    def summary(self) -> str:
        return (
            f"JAX compilation cache {self.folder}: {self.hits} programs loaded, "
            f"{self.misses} compiled, about {max(0.0, self.saved_seconds):.0f} s of compilation "
            "saved"
        )
