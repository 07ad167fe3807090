"""Every engine and tracker by the name a study file uses: one table, imported only when chosen.

``StudyConfig`` validates ``engine``, ``algorithm``, ``pruner`` and ``tracking`` against these
names without importing anything heavy (Keras Tuner imports TensorFlow; the Vertex SDK takes
seconds). ``open_engine`` and ``open_tracker`` import the one that is chosen. Adding an engine
or a tracker is one line here, one module, and the conformance suite's list (docs/extending.md,
"Adding an engine / a tracker").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EngineEntry:
    """An engine: ``target`` is ``module:factory``, called as ``factory(config, create=...)``.

    Attributes:
        algorithms: the names its ``algorithm`` key takes, the default first.
        pruners: the names its ``pruner`` key takes; empty when the engine prunes by itself
            (then ``pruner`` is ignored).
        multi_objective: the algorithms that search several objectives, with constraints;
            empty when the engine searches one objective and takes no constraints.
        multi_objective_pruners: the pruners a multi-objective search takes.
        modules: the modules of an extra it imports only when it searches (Keras Tuner's
            imports TensorFlow, seconds): ``require`` finds them without importing them.
    """

    target: str
    algorithms: tuple[str, ...]
    pruners: tuple[str, ...] = ()
    multi_objective: tuple[str, ...] = ()
    multi_objective_pruners: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()


ENGINES: dict[str, EngineEntry] = {
    "optuna": EngineEntry(
        "search.engines.optuna_engine:OptunaEngine",
        algorithms=("tpe", "random", "cmaes", "qmc", "nsga2"),
        pruners=("asha", "hyperband", "median", "none"),
        multi_objective=("tpe", "random", "nsga2", "qmc"),
        multi_objective_pruners=("asha", "none"),
    ),
    "keras-tuner": EngineEntry(
        "search.engines.keras_tuner_engine:KerasTunerEngine",
        algorithms=("bayesian", "random", "hyperband"),
        modules=("keras_tuner",),
    ),
}

#: A tracker: ``module:factory``, called as ``factory(config, create=...)``.
TRACKERS: dict[str, str] = {
    "mlflow": "search.tracking.mlflow_tracker:open_tracker",
    "vertex": "search.tracking.vertex_tracker:open_tracker",
    "none": "search.tracking.null:open_tracker",
}


def pruner_names() -> tuple[str, ...]:
    """Every pruner name some engine takes, in table order."""
    names: list[str] = []
    for entry in ENGINES.values():
        names += [name for name in entry.pruners if name not in names]
    return tuple(names)


def require(modules: tuple[str, ...], what: str, instead: str = "") -> None:
    """Finds ``modules`` without importing them.

    Raises:
        MissingExtra: one is not installed; the line names its extra's ``pip install``.
    """
    import importlib.util

    from trainer.extras import missing_extra

    for name in modules:
        if importlib.util.find_spec(name) is None:
            missing = missing_extra(ModuleNotFoundError(name=name), what, instead)
            raise missing or ModuleNotFoundError(f"No module named {name!r}", name=name)


def load(target: str, what: str = "", instead: str = "") -> Any:
    """Imports ``module:attribute`` and returns the attribute.

    Raises:
        MissingExtra: the module needs an extra that is not installed; the line says ``what``
            needs it, the ``pip install`` that adds it, and what to choose ``instead``.
    """
    from trainer.extras import missing_extra

    module, _, attribute = target.partition(":")
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = missing_extra(error, what, instead)
        if missing is None:
            raise
        raise missing from error
    return getattr(imported, attribute)
