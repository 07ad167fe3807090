from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from trainer import data as data_module
from trainer.data import SHA256, find_data_dir, load_fashion_mnist
from trainer.errors import DataError
from trainer.splits import split


@pytest.fixture
def copy_dir(fashion, tmp_path: Path) -> Path:
    """A private copy of the four original files."""
    folder = tmp_path / "fashion"
    folder.mkdir()
    for name in SHA256:
        shutil.copy(Path(fashion.source) / name, folder / name)
    return folder


def test_real_data_shapes_and_types(fashion) -> None:
    assert fashion.train_images.shape == (60_000, 28, 28)
    assert fashion.test_images.shape == (10_000, 28, 28)
    assert fashion.train_images.dtype == np.uint8 and fashion.train_labels.dtype == np.uint8
    assert np.bincount(fashion.test_labels).tolist() == [1000] * 10
    assert fashion.checksums == SHA256


def test_loads_from_a_data_dir(copy_dir: Path, fashion) -> None:
    loaded = load_fashion_mnist(str(copy_dir))
    assert loaded.source == str(copy_dir)
    np.testing.assert_array_equal(loaded.test_labels, fashion.test_labels)


def test_environment_variable_is_used(copy_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("FASHION_MNIST_DIR", str(copy_dir))
    assert find_data_dir() == str(copy_dir)


def test_flag_wins_over_environment(copy_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "empty"))
    assert find_data_dir(str(copy_dir)) == str(copy_dir)


def test_truncated_file_names_the_file_and_the_fix(copy_dir: Path) -> None:
    target = copy_dir / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(
        DataError, match=r"t10k-labels-idx1-ubyte.gz is corrupt or truncated"
    ) as info:
        load_fashion_mnist(str(copy_dir))
    assert "dataset-fashion-mnist" in str(info.value)


def test_missing_file_in_an_explicit_folder(copy_dir: Path) -> None:
    (copy_dir / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"--data-dir .* lacks train-images-idx3-ubyte.gz"):
        load_fashion_mnist(str(copy_dir))


def test_nothing_found_and_no_download(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data_module, "DEBIAN_DIR", str(tmp_path / "debian"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))

    def offline() -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr("keras.datasets.fashion_mnist.load_data", offline)
    with pytest.raises(DataError, match=r"download failed .*dataset-fashion-mnist"):
        find_data_dir()


def test_the_keras_cache_is_under_keras_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    assert data_module.keras_cache_dir() == str(tmp_path / "keras-home/datasets/fashion-mnist")
    monkeypatch.delenv("KERAS_HOME")
    assert data_module.keras_cache_dir().endswith(".keras/datasets/fashion-mnist")


def test_split_is_stratified_disjoint_and_seeded(fashion) -> None:
    splits = split(fashion, validation_size=1000, subset=500, seed=3)
    assert len(splits.y_val) == 1000 and len(splits.y_train) == 500
    assert np.bincount(splits.y_val).tolist() == [100] * 10
    assert np.bincount(splits.y_train).tolist() == [50] * 10
    train_rows = {row.tobytes() for row in splits.x_train}
    assert not train_rows & {row.tobytes() for row in splits.x_val}
    again = split(fashion, validation_size=1000, subset=500, seed=3)
    np.testing.assert_array_equal(splits.x_train, again.x_train)
    other = split(fashion, validation_size=1000, subset=500, seed=4)
    assert not np.array_equal(splits.y_train, other.y_train)
    assert splits.x_test is fashion.test_images


def test_default_split_keeps_fifty_thousand_for_training(fashion) -> None:
    splits = split(fashion, seed=0)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (50_000, 10_000, 10_000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation_size": 5}, "validation_size"),
        ({"subset": 5}, "subset"),
        ({"subset": 10**6}, "subset"),
    ],
)
def test_split_rejects_sizes_that_do_not_fit(fashion, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split(fashion, **kwargs)
