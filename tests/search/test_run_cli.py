"""``python -m search.run`` and ``search.compare``: bad input is one line and exit 2."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from search import cli, run


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return errors[0]


def test_unknown_key_in_study_file(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (studies_dir / "typo.yaml").write_text("trails: 3\n")
    assert run.main(["--study", "typo", "--studies-dir", str(studies_dir)]) == 2
    assert "Unknown study key(s) ['trails']" in _error_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["--trails", "3"],
        ["--no-retrain", "--retrain-only"],
        ["--trials", "many"],
        ["-q", "-v"],
    ],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run.main(argv)
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flag", "root", "own"),
    [("-q", logging.WARNING, logging.NOTSET), ("-v", logging.INFO, logging.DEBUG)],
)
def test_loudness_flags_set_the_log_levels(
    flag: str, root: int, own: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINER_BACKEND_NOTICES", "0")  # restored afterwards
    saved = logging.getLogger().level
    try:
        cli.setup(cli.StudyParser("test", "test").parse_args([flag]))
        assert logging.getLogger().level == root
        assert logging.getLogger("search").level == own
    finally:
        logging.getLogger().setLevel(saved)
        logging.getLogger("search").setLevel(logging.NOTSET)
        for own_name in ("trainer", "model_space"):
            logging.getLogger(own_name).setLevel(logging.NOTSET)
