"""Loaded by every Python the soak test starts (``PYTHONPATH``): with ``SOAK_KILL=POINT``,
the process kills itself with SIGKILL at that point, the first time it gets there.

- ``checkpoint``: halfway through writing an epoch checkpoint (a torn temporary file);
- ``export``: once the export is staged, before it replaces the model folder;
- ``register``: once the model version exists, before its aliases and tags are set.
"""

import os
import signal

POINT = os.environ.get("SOAK_KILL", "")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if POINT == "checkpoint":
    import trainer.checkpoint as checkpoint

    write = checkpoint.Checkpoint._write

    def torn_write(self, data):  # type: ignore[no-untyped-def]
        staged = os.path.join(self.folder, ".checkpoint-torn.tmp")
        os.makedirs(self.folder, exist_ok=True)
        with open(staged, "wb") as handle:
            handle.write(data[: len(data) // 2])
        _die()

    checkpoint.Checkpoint._write = torn_write
elif POINT == "export":
    import trainer.export as export

    def staged_then_die(model, folder, metadata):  # type: ignore[no-untyped-def]
        original(model, folder, metadata)
        _die()

    original = export._write
    export._write = staged_then_die
elif POINT == "register":
    from mlflow import MlflowClient

    MlflowClient.set_registered_model_alias = lambda *args, **kwargs: _die()  # type: ignore[method-assign]
