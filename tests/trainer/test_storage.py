"""Replacing an export folder: never a moment without it, nothing left beside it."""

from __future__ import annotations

import threading
from pathlib import Path

from trainer import storage


def _staged(parent: Path, text: str) -> Path:
    folder = parent / f".best.partial-{text}"
    folder.mkdir()
    (folder / "metadata.json").write_text(text)
    return folder


def test_the_folder_is_swapped_without_a_gap_and_leftovers_go(tmp_path: Path) -> None:
    final = tmp_path / "best"
    storage.replace_dir(_staged(tmp_path, "0"), final)
    (tmp_path / ".best.old-999999").mkdir()  # left by a process killed mid-swap
    missing, stop = [], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (final / "metadata.json").exists():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for round_ in range(1, 200):
            storage.replace_dir(_staged(tmp_path, str(round_)), final)
    finally:
        stop.set()
        watcher.join()
    assert missing == []
    assert (final / "metadata.json").read_text() == "199"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
