"""Paths that may be local or ``gs://``: TensorFlow's gfile is imported only for the latter."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from trainer.errors import disk_full


def is_remote(path: str) -> bool:
    return "://" in path


def _gfile() -> Any:
    try:
        import tensorflow as tf
    except ImportError as error:
        raise RuntimeError(
            "Reading or writing gs:// paths needs TensorFlow (tf.io.gfile); install tensorflow."
        ) from error
    return tf.io.gfile


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *parts])
    return os.path.join(base, *parts)


def exists(path: str) -> bool:
    return bool(_gfile().exists(path)) if is_remote(path) else os.path.exists(path)


def read_bytes(path: str) -> bytes:
    if is_remote(path):
        with _gfile().GFile(path, "rb") as handle:
            return bytes(handle.read())
    return Path(path).read_bytes()


def upload_tree(local_dir: Path, remote_dir: str) -> None:
    """Copies a local folder to ``remote_dir``; ``metadata.json`` last, as the completion mark."""
    gfile = _gfile()
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == "metadata.json")
    for path in files:
        target = join(remote_dir, *path.relative_to(local_dir).parts)
        gfile.makedirs(target.rsplit("/", 1)[0])
        gfile.copy(str(path), target, overwrite=True)


def replace_dir(staged: Path, final: Path) -> None:
    """Moves a fully written ``staged`` folder to ``final``, replacing what was there.

    On Linux the two are swapped in one ``renameat2(RENAME_EXCHANGE)``, so ``final`` never
    goes missing, even for a moment; elsewhere (or on a file system without it) the old one is
    renamed aside first. Leftovers of a process killed in between are removed first."""
    for stale in final.parent.glob(f".{final.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if final.exists() and _exchange(staged, final):
        shutil.rmtree(staged)  # it holds the old folder now
        return
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        staged.rename(final)
        shutil.rmtree(old)
    else:
        staged.rename(final)


#: ``renameat2``'s arguments: the current directory as the base, and "swap the two".
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swaps two existing paths atomically; False where the system cannot."""
    if sys.platform != "linux":
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a libc without it
        return False
    done = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # not on this file system
        return False
    raise OSError(code, os.strerror(code), str(second))


def write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` whole or not at all, creating its folder: on ``gs://`` one
    object upload; locally a synced temporary file beside it, renamed over ``path``."""
    if is_remote(path):
        gfile = _gfile()
        gfile.makedirs(path.rsplit("/", 1)[0])
        with gfile.GFile(path, "wb") as handle:
            handle.write(data)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(staged, target)
    except BaseException as error:
        Path(staged).unlink(missing_ok=True)
        full = disk_full(error, path)
        if full is not None:
            raise full from error
        raise


def remove(path: str) -> None:
    """Removes the file ``path`` if it is there."""
    if not is_remote(path):
        Path(path).unlink(missing_ok=True)
    elif exists(path):
        _gfile().remove(path)
