"""Settings for one training job: everything that is not a searched parameter."""

from __future__ import annotations

import os
from dataclasses import dataclass

from trainer.errors import SettingsError

DEFAULT_SEED = 42
DEFAULT_EPOCHS = 20
DEFAULT_VALIDATION_SIZE = 10_000
LOCAL_MODEL_ROOT = "models"
#: A test accuracy this far below validation points at a preprocessing or leakage problem (the
#: seed's 88% validation, 45.57% test): the job warns, the dashboard flags it.
SUSPICIOUS_GAP = 0.02


@dataclass(frozen=True)
class RunSettings:
    """How one training job runs.

    Attributes:
        epochs: the most epochs to train; early stopping may end sooner.
        data_dir: where Fashion-MNIST is (``None``: search the usual places, see ``trainer.data``).
        model_dir: where the export goes, local or ``gs://`` (``None``: ``$AIP_MODEL_DIR`` when
            set, else ``models/<run name>``).
        subset: train on a stratified subset of this many images.
        validation_size: images split off the training set for validation.
        seed: seeds the split, the weights, dropout and augmentation.
        hypertune: report ``val_accuracy`` to Vertex AI's tuning service.
        experiment: log the job as a run of this Vertex AI Experiments experiment.
        tta: evaluate and serve with flip test-time augmentation (the mean of the predictions
            on the image and its mirror); the exported model then averages too.
        checkpoint_dir: where the fit's state is saved each epoch, local or ``gs://``
            (``None``: ``$AIP_CHECKPOINT_DIR`` when set, as on Vertex AI, else no checkpoints); a
            job run again with the same settings continues after the last saved epoch.
        objectives: the objectives (``trainer.objectives``) measured on the exported model,
            written to its metadata and, in a tuning trial, reported to hypertune, the
            primary first.
        precision: ``auto`` (bfloat16 where it pays, else float32), ``float32``,
            ``mixed_bfloat16`` or ``mixed_float16`` (``trainer.precision``); the export serves
            in float32 whatever it is.
    """

    epochs: int = DEFAULT_EPOCHS
    data_dir: str | None = None
    model_dir: str | None = None
    subset: int | None = None
    validation_size: int = DEFAULT_VALIDATION_SIZE
    seed: int = DEFAULT_SEED
    hypertune: bool = False
    experiment: str | None = None
    tta: bool = False
    checkpoint_dir: str | None = None
    objectives: tuple[str, ...] = ("val_accuracy",)
    precision: str = "auto"

    def __post_init__(self) -> None:
        from trainer.objectives import objective
        from trainer.precision import check

        try:
            check(self.precision)
            for name in self.objectives:
                objective(name)
        except ValueError as error:
            raise SettingsError(str(error)) from error
        if not self.objectives or objective(self.objectives[0]).before_training:
            raise SettingsError(
                "objectives must start with one measured by training (val_accuracy or "
                f"val_loss), but got {','.join(self.objectives) or 'none'}."
            )
        if self.epochs < 1:
            raise SettingsError(f"epochs must be at least 1, but got {self.epochs}.")
        if self.seed < 0:
            raise SettingsError(f"seed must be non-negative, but got {self.seed}.")

    def resolved_model_dir(self, run_name: str) -> str:
        """``model_dir``, else ``$AIP_MODEL_DIR`` (read now, as Vertex sets it), else local."""
        return (
            self.model_dir
            or os.environ.get("AIP_MODEL_DIR")
            or os.path.join(LOCAL_MODEL_ROOT, run_name)
        )

    def resolved_checkpoint_dir(self) -> str | None:
        """``checkpoint_dir``, else ``$AIP_CHECKPOINT_DIR`` (read now), else none."""
        return self.checkpoint_dir or os.environ.get("AIP_CHECKPOINT_DIR") or None

    @property
    def reports_hypertune(self) -> bool:
        """True with ``--hypertune`` or inside a Vertex AI tuning trial."""
        return self.hypertune or bool(os.environ.get("CLOUD_ML_TRIAL_ID"))
