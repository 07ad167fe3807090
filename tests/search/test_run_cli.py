"""``python -m search.run`` and ``search.compare``: bad input is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import run


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
    [["--trails", "3"], ["--no-retrain", "--retrain-only"], ["--trials", "many"]],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run.main(argv)
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
