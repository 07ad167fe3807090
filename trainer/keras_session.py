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
