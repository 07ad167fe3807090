"""The package's optional parts (``pyproject.toml``'s extras) and the one line a missing one
gets: what needs it and the ``pip install`` that adds it.

The core (Keras, Optuna, NumPy, scikit-learn...) searches; a backend (``[tensorflow]`` or
``[jax]``), a tracker (``[mlflow]``, ``[vertex]``), PostgreSQL (``[postgres]``), Keras Tuner
(``[keras-tuner]``) and the dashboards (``[dashboard]``) are each an extra; ``[all]`` is every
one, and ``./setup.sh`` installs ``[dev]``, which holds ``[all]``.
"""

from __future__ import annotations

from trainer.errors import MissingExtra, chain

#: The distribution name, as ``pip install`` takes it.
PACKAGE = "keras-cnn-search"

#: The top-level module a missing import names, and the extra that installs it.
EXTRA_OF_MODULE = {
    "tensorflow": "tensorflow",
    "jax": "jax",
    "jaxlib": "jax",
    "mlflow": "mlflow",
    "google": "vertex",
    "hypertune": "vertex",
    "psycopg": "postgres",
    "keras_tuner": "keras-tuner",
    "plotly": "dashboard",
}


def install_line(extra: str) -> str:
    """The command that adds ``extra`` to this environment."""
    return f"pip install '{PACKAGE}[{extra}]'"


def missing_extra(error: BaseException, what: str = "", instead: str = "") -> MissingExtra | None:
    """``error`` as the extra it says is missing (a ``ModuleNotFoundError`` of one of
    ``EXTRA_OF_MODULE``'s modules, in its chain), naming ``what`` needs it and what to choose
    ``instead``; else None (a module of the project's own, or one no extra installs, is a
    bug and keeps its traceback)."""
    for current in chain(error):
        if isinstance(current, MissingExtra):
            return current
        if not isinstance(current, ModuleNotFoundError) or not current.name:
            continue
        extra = EXTRA_OF_MODULE.get(current.name.split(".")[0])
        if extra is None:
            continue
        subject = f"{what} needs {current.name}, which" if what else current.name
        if extra == "tensorflow" and not instead:
            instead = "the [jax] extra and KERAS_BACKEND=jax"
        other = f" (or {instead})" if instead else ""
        return MissingExtra(f"{subject} is not installed here: {install_line(extra)}{other}")
    return None
