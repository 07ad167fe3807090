"""Importing the Keras backend without its start-up notices on stderr.

TensorFlow 2.21 prints absl's "All log messages before absl::InitializeLog() is called are
written to STDERR" and oneDNN's "oneDNN custom operations are on..." notice, each twice, while
it is imported, whatever ``TF_CPP_MIN_LOG_LEVEL`` says, so every error line and every log
opened with them. ``import_backend`` imports Keras with the process's stderr (file descriptor
2, where the C++ code writes) going to a temporary file, then writes back everything but those
two notices: a real warning of the import still shows. With ``TRAINER_BACKEND_NOTICES=1``
(what a command's ``-v`` sets) nothing is left out.

It also turns TensorFlow's oneDNN kernels on where TensorFlow leaves them off (``ONEDNN_ENV``).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile

#: Set to "1" to keep the backend's start-up notices (``-v``).
NOTICES_ENV = "TRAINER_BACKEND_NOTICES"
#: The start-up notices left out, matched as substrings of a line.
NOTICES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
)
#: TensorFlow turns its oneDNN CPU kernels on by itself only on CPUs it picks (AVX-512 VNNI or
#: BF16, AMX); elsewhere, such as an AMD EPYC with AVX2 and no AVX-512, it uses Eigen's, which
#: trained the default study's models about 1.3 times slower there (``bench/onednn.py``,
#: docs/performance.md). ``import_backend`` sets it to "1" unless it is set already: a user's
#: ``TF_ENABLE_ONEDNN_OPTS=0`` still wins. It is read once, when TensorFlow is imported.
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def import_backend() -> None:
    """Imports Keras (and so its backend) once, its start-up notices left out of stderr.

    Raises:
        MissingExtra: the backend Keras is set to (``KERAS_BACKEND``) is not installed.
    """
    try:
        _import_keras()
    except ModuleNotFoundError as error:
        from trainer.extras import missing_extra

        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        missing = missing_extra(error, f"Keras's backend {backend}")
        if missing is None:
            raise
        raise missing from error


def _import_keras() -> None:
    if "keras" in sys.modules:
        return
    os.environ.setdefault(ONEDNN_ENV, "1")
    if os.environ.get(NOTICES_ENV) == "1":
        importlib.import_module("keras")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401 (imported for its backend)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not any(n in line for n in NOTICES))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
