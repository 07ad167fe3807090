"""``python -m search.run`` and ``search.compare``: bad input is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import compare, run


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trials", "0"], "trials must be a positive integer, but got 0"),
        (
            ["--engine", "keras-tuner", "--algorithm", "tpe"],
            "algorithm (engine keras-tuner) must be",
        ),
        (["--storage", "not a url"], "is not an SQLAlchemy URL"),
        (["--storage", "mysql://user@localhost/optuna"], "supported: sqlite, postgresql"),
        (
            ["--storage", "postgresql://nobody:secret@127.0.0.1:9/optuna"],
            "Cannot open the study storage",
        ),
        (["--study", "missing"], "No study file"),
        (["--retrain-only"], "no completed trial to retrain"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    studies_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = run.main(["--study", "tiny", "--studies-dir", str(studies_dir), *argv])
    assert code == 2
    line = _error_line(capsys)
    assert message in line
    assert "secret" not in line


def test_missing_data_leaves_nothing_behind(
    studies_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run.main(
        ["--study", "tiny", "--studies-dir", str(studies_dir), "--data-dir", str(tmp_path / "none")]
    )
    assert code == 2
    assert "--data-dir" in _error_line(capsys)
    assert not (studies_dir / "tiny").exists()


def test_unknown_key_in_study_file(studies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (studies_dir / "typo.yaml").write_text("trails: 3\n")
    assert run.main(["--study", "typo", "--studies-dir", str(studies_dir)]) == 2
    assert "Unknown study key(s) ['trails']" in _error_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [["--trails", "3"], ["--no-retrain", "--retrain-only"], ["--trials", "many"]],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run.main(argv)
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_compare_without_runs_is_one_line(
    studies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compare.main(["--study", "tiny", "--studies-dir", str(studies_dir)]) == 2
    assert "has no trials or runs yet" in _error_line(capsys)
