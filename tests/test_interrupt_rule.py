"""The interrupt rule (``trainer/interrupts.py``), kept everywhere: every handler in the
project's packages that catches ``Exception`` or ``BaseException`` (or everything) asks
whether the error stands for an interrupt, or only cleans up and re-raises it as it is.

An interrupt can surface as another exception; a handler that turns it into a warning, a
``StudyError`` (exit 2) or a failed trial makes Ctrl-C and SIGTERM lose their exit 130 and
their "run the same command to resume"."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from trainer import interrupts

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("model_space", "search", "trainer")
BROAD = {"Exception", "BaseException"}
ASKS = {"as_interrupt", "raise_if_interrupt"}


def _caught(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"BaseException"}
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {getattr(k, "id", None) or getattr(k, "attr", "") for k in kinds}


def _keeps_the_rule(handler: ast.ExceptHandler) -> bool:
    last = handler.body[-1]
    if isinstance(last, ast.Raise) and last.exc is None:  # cleans up, re-raises it as it is
        return True
    called = {
        getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        for node in ast.walk(handler)
        if isinstance(node, ast.Call)
    }
    return bool(called & ASKS)


def broad_handlers_breaking_the_rule(source: str, name: str = "<code>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        broad = isinstance(node, ast.ExceptHandler) and bool(_caught(node) & BROAD)
        if broad and not _keeps_the_rule(node):  # type: ignore[arg-type]
            found.append(f"{name}:{node.lineno}")
    return found


def test_every_broad_handler_asks_for_the_interrupt_first() -> None:
    breaking = [
        place
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for place in broad_handlers_breaking_the_rule(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert breaking == [], "ask interrupts.raise_if_interrupt(error) first: " + ", ".join(breaking)


@pytest.mark.parametrize(
    ("handler", "keeps"),
    [
        ("except Exception as error:\n    log(error)", False),
        ("except:\n    pass", False),
        ("except (OSError, Exception) as error:\n    raise Wrapped() from error", False),
        ("except Exception as error:\n    raise_if_interrupt(error)\n    log(error)", True),
        ("except Exception as error:\n    if as_interrupt(error): raise\n    log(error)", True),
        ("except BaseException:\n    cleanup()\n    raise", True),
        ("except OSError as error:\n    log(error)", True),  # not broad
    ],
)
def test_the_scan_catches_a_new_handler_that_does_not_ask(handler: str, keeps: bool) -> None:
    source = "try:\n    work()\n" + handler + "\n"
    assert (broad_handlers_breaking_the_rule(source) == []) is keeps


def test_a_handled_signal_is_forgotten(monkeypatch) -> None:
    monkeypatch.setattr(interrupts, "_received", [15])
    assert interrupts.as_interrupt(RuntimeError("during the signal")) is not None
    interrupts.handled()
    assert interrupts.as_interrupt(RuntimeError("long after it")) is None
    with pytest.raises(KeyboardInterrupt):
        interrupts.raise_if_interrupt(KeyboardInterrupt())
    interrupts.raise_if_interrupt(RuntimeError("no signal: nothing raised"))
