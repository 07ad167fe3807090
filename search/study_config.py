"""A study: its YAML file under ``studies/`` (or shipped with the package), overridden by
command-line flags, validated once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from model_space import CNN_SPACE, SearchSpace
from model_space.errors import UserError
from model_space.narrowing import narrow
from search.budget import parse_duration
from search.components import ENGINES, TRACKERS, pruner_names
from search.front import check_rule
from search.settings import sections, setting
from search.tracking.vertex_settings import VertexSettings
from trainer.objectives import OBJECTIVES, Constraint, Objective, objective
from trainer.precision import check as check_precision

#: The environment variable naming the studies folder (``--studies-dir``'s default).
STUDIES_ENV = "SEARCH_STUDIES_DIR"
STUDIES_DIR = Path(os.environ.get(STUDIES_ENV) or "studies")
#: The study files shipped with the package (a link to the checkout's ``studies/``): a study
#: not in the studies folder is read from here, and its outputs still go to the folder.
SHIPPED_STUDIES = Path(__file__).parent / "studies"
DEFAULT_STUDY = "fashion-mnist-cnn"


class StudyError(UserError, ValueError):
    """A study file or flag is wrong; the message names the key and what it accepts."""


def _alternatives(names: Any) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class StudyConfig:
    """Every setting of a study, each declared once with its default, help and flag
    (``search.settings``); each output lives under ``output_dir`` (``studies/<name>/``). The
    ``vertex:`` section belongs to the Vertex plug-ins (``VertexSettings``)."""

    name: str = DEFAULT_STUDY
    engine: str = setting("optuna", _alternatives(ENGINES), group="stores")
    algorithm: str = setting(
        "tpe",
        "; ".join(f"{name}: {', '.join(e.algorithms)}" for name, e in ENGINES.items()),
        doc=" (the engine's first when another engine is chosen); with several objectives "
        "Optuna takes tpe (multi-objective TPE), random, qmc, nsga2; Keras Tuner's hyperband "
        "brackets decide how many trials, at most trials",
    )
    pruner: str = setting(
        "asha",
        "Optuna's pruner on each epoch's primary objective: "
        + ", ".join(pruner_names())
        + " (asha: successive halving)",
        doc="; with several objectives asha (the project's own, see "
        "[objectives](objectives.md)) or none; Keras Tuner's hyperband prunes by itself",
    )
    trials: int = setting(30, "trials the study should hold when done, counting finished ones")
    epochs: int = setting(6, "the most epochs of one trial")
    subset: int | None = setting(
        12_000,
        "training images per trial, stratified (null in a study file: all 50,000)",
        doc="; bench/fidelity.py chose it (see [performance](performance.md))",
    )
    validation_size: int = setting(
        10_000, "validation images, split off the training set, the same for every trial"
    )
    retrain_epochs: int = setting(30, "the most epochs of the retrain", group="retrain")
    retrain_max_epochs: int | None = setting(
        None,
        "under a time budget, the most epochs of the retrain when the time the search left "
        "holds more than retrain_epochs (null: retrain_epochs)",
        group="retrain",
        doc="; the search keeps time for retrain_epochs only",
    )
    retrain_subset: int | None = setting(
        None, "training images for the retrain (null: all 50,000)", group="retrain"
    )
    seed: int = setting(42, "seeds the split, every trial's weights and the sampler")
    tracking: str = setting(
        "mlflow",
        f"where every trial is logged as a run: {_alternatives(TRACKERS)}",
        group="stores",
        doc=" (mlflow: SQLite in the study folder; vertex: [Vertex AI Experiments]"
        "(vertex.md#vertex-ai-experiments-as-the-tracking-backend))",
    )
    storage: str | None = setting(
        None,
        "the engine's storage as an SQLAlchemy URL (Optuna; default SQLite in the study folder)",
        group="stores",
        doc="; PostgreSQL to share a study between workers and machines",
    )
    tracking_uri: str | None = setting(
        None, "MLflow's store (default SQLite in the study folder)", group="stores"
    )
    data_dir: str | None = setting(
        None,
        "Fashion-MNIST's folder, local or gs://",
        doc=" (default: see [the data](training.md#the-data))",
    )
    space: Mapping[str, Mapping[str, Any]] = setting(
        factory=dict,
        help="narrows the declared space: {name: {low, high} | {values} | {value}}",
        flag="",
        doc=" (see below)",
    )
    heartbeat_seconds: int = setting(
        60,
        "how often a running trial proves it is alive; one silent for twice this is taken as "
        "dead (its worker was killed) and marked failed",
        flag="",
    )
    budget: str | None = setting(
        None,
        "wall time of the whole command, such as 60m or 1h30m: trials stop in time for the "
        "retrain to fit",
        doc=" (see the time budget below)",
    )
    enqueue: tuple[Mapping[str, Any], ...] = setting(
        (),
        "points tried before any sampled one, each a mapping of parameter names (those left "
        "out take the seed model's values); never enqueued twice, also across resumes",
        flag="",
    )
    enqueue_from: str | None = setting(
        None, "another study whose 3 best completed trials are tried first", metavar="STUDY"
    )
    tta: bool = setting(
        False,
        "flip test-time augmentation for the retrained model's evaluation and export",
        group="retrain",
    )
    retrain_seeds: int = setting(
        1,
        "retrain the chosen trial with this many seeds and report the test accuracy's mean "
        "and standard deviation (the first is exported)",
        group="retrain",
    )
    workers: int | str = setting(
        1,
        "trial processes on this machine sharing the study: a number, or auto (on a GPU one "
        "per 2 CPU cores, at most 8; on a CPU 1)",
        metavar="N",
        doc=" (see [performance](performance.md#keeping-one-gpu-busy---workers))",
    )
    objectives: tuple[str, ...] = setting(
        ("val_accuracy",),
        f"what to optimise, the primary first: {', '.join(OBJECTIVES)}",
        metavar="A,B",
        doc=" (a list in a study file; see [objectives](objectives.md))",
    )
    constraints: tuple[str, ...] = setting(
        (),
        "a bound on an objective's metric, such as parameters<=300000 (repeatable)",
        flag="--constraint",
        metavar="NAME<=N",
        repeat=True,
        doc="; a configuration that breaks one before training is recorded infeasible "
        "untrained, and no infeasible trial is retrained (a list in a study file)",
    )
    choose: str = setting(
        "best",
        "the trial to retrain: best (the primary objective among feasible trials), knee (the "
        "front's compromise), or a bound such as latency_ms<=2",
        group="retrain",
        metavar="RULE",
    )
    precision: str = setting(
        "auto",
        "training precision: auto (mixed_bfloat16 on CPUs with AMX-BF16 and GPUs of compute "
        "capability 8.0+, else float32), float32, mixed_bfloat16, mixed_float16",
        doc="; exports always serve in float32",
    )
    ensemble: int = setting(
        1,
        "retrain up to N members (close configurations, then more seeds) and export the "
        "mean of their probabilities, as many as the budget left holds; 1: one model",
        group="retrain",
        metavar="N",
        doc=" (see below)",
    )
    vertex: VertexSettings = field(default_factory=VertexSettings)
    studies_dir: Path = STUDIES_DIR

    def __post_init__(self) -> None:
        _check_choice("engine", self.engine, tuple(ENGINES))
        entry = ENGINES[self.engine]
        _check_choice(f"algorithm (engine {self.engine})", self.algorithm, entry.algorithms)
        _check_choice("pruner", self.pruner, entry.pruners or pruner_names())
        _check_choice("tracking", self.tracking, tuple(TRACKERS))
        positive = ("trials", "epochs", "retrain_epochs", "validation_size", "heartbeat_seconds")
        for key in (*positive, "retrain_seeds", "ensemble"):
            _check_positive(key, getattr(self, key))
        for key in ("subset", "retrain_subset", "retrain_max_epochs"):
            if getattr(self, key) is not None:
                _check_positive(key, getattr(self, key))
        if self.retrain_max_epochs is not None and self.retrain_max_epochs < self.retrain_epochs:
            raise StudyError(
                f"retrain_max_epochs must be at least retrain_epochs ({self.retrain_epochs}), "
                f"but got {self.retrain_max_epochs}."
            )
        if self.seed < 0:
            raise StudyError(f"seed must be non-negative, but got {self.seed}.")
        if self.ensemble > 1 and self.retrain_seeds > 1:
            raise StudyError(
                "ensemble and retrain_seeds cannot both be above 1: an ensemble's members "
                "already report each one's test accuracy (set retrain_seeds: 1)."
            )
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise StudyError(f"study name must be a plain file name, but got {self.name!r}.")
        if not isinstance(self.tta, bool):
            raise StudyError(f"tta must be true or false, but got {self.tta!r}.")
        self.budget_seconds  # noqa: B018 (validates)
        if not (self.workers == "auto" or (str(self.workers).isdigit() and int(self.workers) > 0)):
            raise StudyError(
                f"workers must be a positive number or auto, but got {self.workers!r}."
            )
        try:
            check_precision(self.precision)
        except ValueError as error:
            raise StudyError(str(error)) from error
        self.enqueued_points()
        self._check_objectives()

    def _check_objectives(self) -> None:
        object.__setattr__(self, "objectives", _names("objectives", self.objectives))
        object.__setattr__(self, "constraints", _names("constraints", self.constraints, ";"))
        try:
            listed = self.objective_list()
            self.constraint_list()
            check_rule(str(self.choose))
        except ValueError as error:
            raise StudyError(str(error)) from error
        if not listed:
            raise StudyError("objectives must name at least one objective, such as val_accuracy.")
        if len(set(self.objectives)) < len(self.objectives):
            raise StudyError(f"objectives must not repeat a name, but got {self.objectives}.")
        if listed[0].before_training:
            raise StudyError(
                f"the first objective is the primary one, which training measures (val_accuracy "
                f"or val_loss), but got {listed[0].name}: put it later in the list."
            )
        entry = ENGINES[self.engine]
        if not entry.multi_objective:
            if self.objectives != ("val_accuracy",) or self.constraints or self.choose != "best":
                raise StudyError(
                    f"engine {self.engine} searches one objective, val_accuracy, without "
                    "constraints or choose rules: use engine optuna for them."
                )
            return
        if self.multi_objective or self.constraints:
            _check_choice(
                f"algorithm (with several objectives or constraints, engine {self.engine})",
                self.algorithm,
                entry.multi_objective,
            )
        if self.multi_objective:
            _check_choice(
                "pruner (with several objectives)", self.pruner, entry.multi_objective_pruners
            )

    def objective_list(self) -> list[Objective]:
        """The study's objectives, the primary first."""
        return [objective(name) for name in self.objectives]

    def constraint_list(self) -> list[Constraint]:
        return [Constraint.parse(text) for text in self.constraints]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def before_training_metrics(self) -> list[str]:
        """The metrics a trial measures before training: its objectives' and constraints'."""
        names = [*self.objectives, *(c.metric for c in self.constraint_list())]
        return [n for n in dict.fromkeys(names) if objective(n).before_training]

    @property
    def budget_seconds(self) -> float | None:
        try:
            return None if self.budget is None else parse_duration(self.budget)
        except ValueError as error:
            raise StudyError(str(error)) from error

    def enqueued_points(self) -> list[dict[str, Any]]:
        """The ``enqueue`` entries as complete points of the study's space.

        Raises:
            StudyError: an entry that is not a mapping, or a value outside the study's space.
        """
        space = self.search_space()
        if not isinstance(self.enqueue, list | tuple):
            raise StudyError(f"enqueue must be a list of points, but got {self.enqueue!r}.")
        points = []
        for number, entry in enumerate(self.enqueue, start=1):
            if not isinstance(entry, Mapping):
                raise StudyError(
                    f"enqueue entry {number} must map parameter names to values, but got {entry!r}."
                )
            try:
                points.append(space.validate(entry))
            except ValueError as error:
                raise StudyError(f"enqueue entry {number}: {error}") from error
        return points

    @property
    def output_dir(self) -> Path:
        return self.studies_dir / self.name

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.output_dir / 'optuna.db').absolute()}"

    @property
    def mlflow_uri(self) -> str:
        return self.tracking_uri or f"sqlite:///{(self.output_dir / 'mlflow.db').absolute()}"

    @property
    def has_optuna_storage(self) -> bool:
        """Whether the Optuna storage exists already (opening it would create an empty one)."""
        return self.storage is not None or (self.output_dir / "optuna.db").exists()

    @property
    def has_tracking_store(self) -> bool:
        """Whether the MLflow store exists already (opening it would create an empty one)."""
        return self.tracking_uri is not None or (self.output_dir / "mlflow.db").exists()

    def checkpoint_dir(self, key: str) -> Path:
        """Where trial (or retrain) ``key`` keeps its epoch checkpoint while it runs."""
        return self.output_dir / "checkpoints" / key

    @property
    def best_dir(self) -> Path:
        return self.output_dir / "best"

    def search_space(self) -> SearchSpace:
        """The declared space, narrowed by the study's ``space`` section."""
        try:
            return narrow(CNN_SPACE, self.space)
        except ValueError as error:
            raise StudyError(f"space: {error}") from error


def load_study(
    name: str = DEFAULT_STUDY,
    overrides: Mapping[str, Any] | None = None,
    studies_dir: Path = STUDIES_DIR,
) -> StudyConfig:
    """Reads ``studies/<name>.yaml`` and applies ``overrides`` (flags given on the command line).

    Changing the engine by an override without naming an algorithm picks that engine's default
    (naming the file's own engine changes nothing).

    Raises:
        StudyError: a missing or malformed file, an unknown key, a value it does not accept.
    """
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    from_file = _read(study_file(name, studies_dir), studies_dir)
    in_sections = _sections(from_file, overrides)
    settings = {**from_file, **overrides}
    changed_engine = overrides.get("engine", from_file.get("engine", "optuna")) != from_file.get(
        "engine", "optuna"
    )
    if changed_engine and "algorithm" not in overrides:
        settings["algorithm"] = _default_algorithm(overrides["engine"])
    known = {f.name for f in fields(StudyConfig)} - {"name", "studies_dir", *in_sections}
    unknown = sorted(set(settings) - known)
    owned = {key: section for section, kind in sections(StudyConfig).items() for key in _keys(kind)}
    for key in unknown:
        if key in owned:
            raise StudyError(
                f"{key} is a key of the study's {owned[key]}: section: write it as "
                f"`{owned[key]}: {{{key}: ...}}` (or pass --{key.replace('_', '-')})."
            )
    if unknown:
        raise StudyError(f"Unknown study key(s) {unknown}; known keys: {', '.join(sorted(known))}.")
    settings.setdefault("algorithm", _default_algorithm(settings.get("engine", "optuna")))
    _check_types(StudyConfig, settings)
    try:
        return StudyConfig(name=name, studies_dir=studies_dir, **settings, **in_sections)
    except TypeError as error:
        raise StudyError(f"study {name}: {error}") from error


def _keys(kind: type) -> list[str]:
    return [f.name for f in fields(kind)]


def _sections(from_file: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Each section of the study (``vertex:``) built and validated by its own settings class,
    from the file's mapping and the flags that override its keys; both lose those keys."""
    built = {}
    for section, kind in sections(StudyConfig).items():
        given = from_file.pop(section, None) or {}
        own = _keys(kind)
        if not isinstance(given, Mapping):
            raise StudyError(
                f"{section} must be a mapping of its keys ({', '.join(own)}), but got {given!r}."
            )
        given = {str(key).replace("-", "_"): value for key, value in given.items()}
        unknown = sorted(set(given) - set(own))
        if unknown:
            raise StudyError(
                f"Unknown {section} key(s) {unknown}; the {section}: section takes "
                f"{', '.join(own)}."
            )
        given.update({key: overrides.pop(key) for key in own if key in overrides})
        _check_types(kind, given, prefix=f"{section}.")
        built[section] = kind(**given)
    return built


def _check_types(kind: type, settings: Mapping[str, Any], prefix: str = "") -> None:
    annotations = {f.name: str(f.type) for f in fields(kind)}
    for key, value in settings.items():
        if key not in _OWN_MESSAGES:
            _check_type(f"{prefix}{key}", value, annotations[key])


#: Keys whose own validation names the accepted forms better than a type could.
_OWN_MESSAGES = ("budget",)
_SCALARS: dict[str, tuple[type, str]] = {
    "int": (int, "an integer"),
    "str": (str, "a string"),
    "bool": (bool, "true or false"),
    "float": (float, "a number"),
}


def _check_type(key: str, value: Any, annotation: str) -> None:
    """Refuses a scalar key's value of the wrong type with one line naming the type wanted
    (``seed: abc``); lists and mappings are checked by their own validation."""
    allowed = [part.strip() for part in annotation.split("|")]
    if value is None and "None" in allowed:
        return
    wanted = []
    for part in allowed:
        if part == "None":
            continue
        if part not in _SCALARS:
            return
        kind, described = _SCALARS[part]
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return
        wanted.append(described)
    wanted += ["null"] if "None" in allowed else []
    raise StudyError(f"{key} must be {' or '.join(wanted)}, but got {value!r}.")


def study_file(name: str, studies_dir: Path) -> Path:
    """``studies_dir/<name>.yaml``, or the shipped study of that name where the folder has
    none."""
    path = studies_dir / f"{name}.yaml"
    shipped = SHIPPED_STUDIES / f"{name}.yaml"
    return shipped if not path.is_file() and shipped.is_file() else path


def _read(path: Path, studies_dir: Path) -> dict[str, Any]:
    if not path.is_file():
        here = sorted(p.stem for p in studies_dir.glob("*.yaml"))
        shipped = sorted({p.stem for p in SHIPPED_STUDIES.glob("*.yaml")} - set(here))
        available = [f"available: {', '.join(here) or 'none'}"]
        available += [f"shipped with the package: {', '.join(shipped)}"] if shipped else []
        raise StudyError(
            f"No study file {path}; {'; '.join(available)}. "
            "Create it or pass --study with one of those."
        )
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StudyError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from error
    if not isinstance(document, dict):
        raise StudyError(
            f"{path} must be a mapping of study keys, but holds {type(document).__name__}."
        )
    settings = {str(key).replace("-", "_"): value for key, value in document.items()}
    if "space" in settings and settings["space"] is None:
        settings["space"] = {}  # every narrowing line removed or commented out: the whole space
    return settings


def _default_algorithm(engine: str) -> str:
    entry = ENGINES.get(engine)
    return entry.algorithms[0] if entry else ""


def _names(key: str, value: Any, separator: str = ",") -> tuple[str, ...]:
    """A list of names, or one string of them (a flag's ``a,b``), as a tuple of strings."""
    if isinstance(value, str):
        value = [part for part in value.split(separator) if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise StudyError(f"{key} must be a list of names, but got {value!r}.")
    return tuple(v.strip() for v in value)


def _check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise StudyError(f"{key} must be one of {', '.join(allowed)}, but got {value!r}.")


def _check_positive(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StudyError(f"{key} must be a positive integer, but got {value!r}.")
