"""Ctrl-C and SIGTERM stop the search even when the interrupt surfaces as another exception
(Python raises it wherever the main thread is; inside C code it became a SystemError in a CI
run, the trial counted it as its own failure, and the search went on)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import search.trial
from search.cli import run_main
from search.tracking.null import NullRun, NullTracker
from search.trial import TrialRunner
from tests.search.conftest import tiny_config
from trainer import interrupts


@pytest.fixture
def installed(monkeypatch) -> Iterator[None]:
    """``interrupts.install()`` for one test, the handlers and the memory restored after."""
    monkeypatch.setattr(interrupts, "_received", [])
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    interrupts.install()
    yield
    for number, handler in handlers.items():
        signal.signal(number, handler)


class EndedRun(NullRun):
    def end(self, state: Any, reason: str = "") -> None:
        self.ended = state


class Tracker(NullTracker):
    def start_run(self, name: str, params: Mapping[str, Any], key: str) -> NullRun:
        self.run = EndedRun(name)
        return self.run


def _mangled_sigterm(*args: Any, **kwargs: Any) -> Any:
    """SIGTERM arrives while C code runs, and what comes out is a SystemError."""
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the handler runs here at the latest
    except KeyboardInterrupt as interrupt:
        raise SystemError("Objects/listobject.c:338: bad argument to internal function") from (
            interrupt
        )
    raise AssertionError("the signal handler did not run")


def test_an_interrupt_that_surfaces_as_another_error_interrupts_the_trial(
    installed: None, studies_dir: Path, monkeypatch
) -> None:
    monkeypatch.setattr(search.trial, "train_model", _mangled_sigterm)
    tracker = Tracker("tiny")
    config = tiny_config(studies_dir)
    runner = TrialRunner(config, None, tracker)  # type: ignore[arg-type]
    checkpoint = config.checkpoint_dir("optuna-0")
    checkpoint.mkdir(parents=True)
    (checkpoint / "checkpoint.npz").write_bytes(b"epoch 2")
    with pytest.raises(KeyboardInterrupt) as raised:
        runner.run(config.search_space().defaults(), "optuna-0", 0)
    assert isinstance(raised.value.__cause__, SystemError)
    assert tracker.run.ended == "interrupted"
    assert (checkpoint / "checkpoint.npz").exists()  # the same command continues the trial


def test_the_command_exits_as_interrupted(installed: None, capsys) -> None:
    assert run_main(lambda: _mangled_sigterm(), "search interrupted") == 130
    assert "search interrupted" in capsys.readouterr().err


def test_without_an_interrupt_an_error_is_a_failure(monkeypatch) -> None:
    monkeypatch.setattr(interrupts, "_received", [])
    assert interrupts.as_interrupt(SystemError("a bug")) is None
    with pytest.raises(SystemError):
        run_main(lambda: (_ for _ in ()).throw(SystemError("a bug")), "interrupted")
    interrupt = KeyboardInterrupt()
    assert interrupts.as_interrupt(interrupt) is interrupt
