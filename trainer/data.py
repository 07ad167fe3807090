"""Real Fashion-MNIST: found, verified by checksum, parsed from IDX, split without touching test.

Where the data comes from, first found wins:

1. ``data_dir`` (``--data-dir``): a local folder or a ``gs://`` path;
2. ``$FASHION_MNIST_DIR``;
3. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``);
4. the Keras cache ``$KERAS_HOME/datasets/fashion-mnist`` (``~/.keras`` without it, as Keras);
5. a download through ``keras.datasets.fashion_mnist`` (where the network allows).

A folder named explicitly (1 or 2) must hold the four files; the others are tried in turn.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from trainer import interrupts, storage
from trainer.errors import DataError

logger = logging.getLogger(__name__)

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "FASHION_MNIST_DIR"
FIX = (
    "install Debian's dataset-fashion-mnist, or point --data-dir or $FASHION_MNIST_DIR at a "
    "folder holding the four original .gz files"
)


def keras_cache_dir() -> str:
    """Where Keras keeps downloaded Fashion-MNIST: under ``$KERAS_HOME``, else ``~/.keras``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets", "fashion-mnist")


SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"
    ),
    "train-labels-idx1-ubyte.gz": (
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"
    ),
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class FashionMnist:
    """The four arrays as ``uint8``, where they were read from, and their checksums."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    checksums: dict[str, str] = field(default_factory=dict)


def load_fashion_mnist(data_dir: str | None = None) -> FashionMnist:
    """Finds, verifies and parses the data set (see the module docstring for the order).

    Raises:
        DataError: no copy found, or a file is missing, truncated or corrupt.
    """
    folder = find_data_dir(data_dir)
    arrays = {}
    for name, expected in SHA256.items():
        arrays[name] = _read_verified(storage.join(folder, name), expected)
    logger.info("Fashion-MNIST read from %s (checksums verified)", folder)
    return FashionMnist(
        train_images=arrays["train-images-idx3-ubyte.gz"],
        train_labels=arrays["train-labels-idx1-ubyte.gz"],
        test_images=arrays["t10k-images-idx3-ubyte.gz"],
        test_labels=arrays["t10k-labels-idx1-ubyte.gz"],
        source=folder,
        checksums=dict(SHA256),
    )


def find_data_dir(data_dir: str | None = None) -> str:
    """The first folder that holds all four files, downloading through Keras as a last resort."""
    explicit = data_dir or os.environ.get(ENV_VAR)
    if explicit:
        how = "--data-dir" if data_dir else f"${ENV_VAR}"
        _require_complete(explicit, how)
        return explicit
    searched = [DEBIAN_DIR, keras_cache_dir()]
    for folder in searched:
        if all(storage.exists(os.path.join(folder, name)) for name in SHA256):
            return folder
    return _download(searched)


def _require_complete(folder: str, how: str) -> None:
    missing = [name for name in SHA256 if not storage.exists(storage.join(folder, name))]
    if missing:
        raise DataError(
            f"{how} {folder} lacks {', '.join(missing)}: point it at a folder holding the four "
            f"Fashion-MNIST .gz files, or {FIX}."
        )


def _download(searched: list[str]) -> str:
    logger.info("Fashion-MNIST not found in %s; downloading through Keras", ", ".join(searched))
    try:
        import keras

        keras.datasets.fashion_mnist.load_data()
    except Exception as error:
        interrupts.raise_if_interrupt(error)
        raise DataError(
            f"Fashion-MNIST not found in {', '.join(searched)} and the download failed "
            f"({type(error).__name__}): {FIX}."
        ) from error
    return searched[-1]


def _read_verified(path: str, expected_sha256: str) -> np.ndarray:
    try:
        raw = storage.read_bytes(path)
    except OSError as error:
        raise DataError(f"Cannot read {path} ({error.strerror or error}): {FIX}.") from error
    if hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise DataError(
            f"{path} is corrupt or truncated (sha256 mismatch, {len(raw):,} bytes): "
            f"replace it with the original file, or {FIX}."
        )
    return _parse_idx(gzip.decompress(raw), path)


def _parse_idx(data: bytes, path: str) -> np.ndarray:
    """Parses an IDX file of unsigned bytes (magic ``0x0000080N``, N dimensions)."""
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise DataError(f"{path} is not an IDX file of unsigned bytes: {FIX}.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} holds {body.size} values, not {shape}: {FIX}.")
    return body.reshape(shape)
