from __future__ import annotations

import gc

import keras
import pytest

from model_space import CNN_SPACE
from trainer.job import train_model
from trainer.splits import split

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the leak is TensorFlow's gradient registry"
)


def live_func_graphs() -> int:
    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(isinstance(obj, FuncGraph) for obj in gc.get_objects())


def test_a_finished_models_traced_graphs_are_freed_by_the_next_model(fashion) -> None:
    """Without dropping the custom gradients, each fit keeps ~80 FuncGraphs alive for good."""
    from tensorflow.python.framework import ops

    splits = split(fashion, validation_size=200, subset=256, seed=0)
    params = {**CNN_SPACE.defaults(), "batch_size": 64}
    counts, registered = [], []
    for _ in range(3):
        model, _fitted = train_model(params, splits, epochs=1, seed=0)
        del model, _fitted
        counts.append(live_func_graphs())
        registry = ops._gradient_registry._registry
        registered.append(sum(name.startswith("CustomGradient-") for name in registry))
    assert counts[0] > 0
    assert counts[2] == counts[1] == counts[0]
    assert registered[2] == registered[0] > 0
