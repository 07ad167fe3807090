"""Catch a trial's end-of-fit stall in the act: the native stacks of every thread, from py-spy.

Runs a search command, relays its output, and when a trial's last epoch ("epoch N/N") is
followed by more than ``--after`` seconds of silence, writes ``py-spy dump --native`` of the
search process to ``--out`` (once per stall). The search's own watch (``search.tail_watch``)
only sees Python frames, and a stall sits in native code under ``model.fit``'s return.

    python -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy
    .venv/bin/python bench/stall_catch.py --py-spy /tmp/pyspy/bin/py-spy --out stalls.txt -- \\
        .venv/bin/python -m search.run --study fashion-mnist-cnn-fast --trials 20 --no-retrain

py-spy needs ptrace rights over the search (root, or ``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

LAST_EPOCH = re.compile(r"epoch (\d+)/(\1)\b")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy binary")
    parser.add_argument("--out", type=Path, default=Path("stalls.txt"))
    parser.add_argument("--after", type=float, default=5.0, help="seconds of silence (5)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the search command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the search command after --")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    armed_at: float | None = None
    stalls = 0
    while True:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if armed_at is not None and time.monotonic() - armed_at > args.after:
                stalls += 1
                dump = subprocess.run(
                    [args.py_spy, "dump", "--native", "--pid", str(process.pid)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                with args.out.open("a") as out:
                    out.write(f"=== stall {stalls}, {args.after:.0f} s after a last epoch\n")
                    out.write(dump.stdout + dump.stderr + "\n")
                print(f"stall_catch: stall {stalls}: native stacks in {args.out}", flush=True)
                armed_at = None
            continue
        if line is None:
            break
        sys.stdout.write(line)
        armed_at = time.monotonic() if LAST_EPOCH.search(line) else None
    code = process.wait()
    print(f"stall_catch: {stalls} stall(s) caught; the search exited {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
