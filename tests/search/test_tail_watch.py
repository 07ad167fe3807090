"""The tail watch: a trial that sits after its last epoch is measured, warned about, and its
stacks are written to stderr."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from search.tail_watch import TailWatch


def test_the_tail_is_measured_from_the_last_epochs_end() -> None:
    watch = TailWatch()
    assert watch.stop() == 0.0  # no epoch ended
    watch.on_epoch_end(0)
    watch.on_epoch_begin(1)
    watch.on_epoch_end(1)
    assert 0.0 <= watch.stop() < 1.0


@pytest.mark.slow
def test_a_long_tail_writes_every_threads_stack_to_stderr() -> None:
    script = textwrap.dedent(
        """
        import time
        from search.tail_watch import TailWatch
        watch = TailWatch(dump_after=0.2)
        watch.on_epoch_end(0)
        def sitting_after_the_last_epoch():
            time.sleep(0.6)
        sitting_after_the_last_epoch()
        print(round(watch.stop(), 1))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert "sitting_after_the_last_epoch" in done.stderr
    assert float(done.stdout.strip()) >= 0.6
