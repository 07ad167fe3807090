"""How long each trial took to end after its last epoch, read from a search's log.

A trial's end (its "trial ... complete/pruned/failed" line) should come within a second of its
last epoch's line; a study once saw 6 of 30 trials sit 35-53 s there. Reads the log a
``python -m search.run ... 2>&1 | tee search.log`` wrote, prints each trial's tail, and exits 1
when one is longer than ``--limit`` seconds::

    python bench/trial_tail.py search.log --limit 5
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime

EPOCH = re.compile(r"trainer\.fit: epoch \d+/\d+")
END = re.compile(r"trial (\S+) (complete|pruned|failed)")


def tails(lines: list[str]) -> list[tuple[str, str, float]]:
    """``(trial, state, seconds from its last epoch line to its end line)`` for each trial."""
    found, last = [], None
    for line in lines:
        if EPOCH.search(line):
            last = _time(line)
        match = END.search(line)
        if match and last is not None:
            found.append((match.group(1), match.group(2), (_time(line) - last).total_seconds()))
            last = None
    return found


def _time(line: str) -> datetime:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--limit", type=float, default=5.0, help="seconds (default 5)")
    args = parser.parse_args()
    with open(args.log, errors="replace") as file:
        found = tails(file.readlines())
    for trial, state, seconds in found:
        mark = "  <- over the limit" if seconds > args.limit else ""
        print(f"{trial:12} {state:9} {seconds:6.1f} s{mark}")
    over = [t for t in found if t[2] > args.limit]
    longest = max((t[2] for t in found), default=0.0)
    print(
        f"{len(found)} trials, the longest tail {longest:.1f} s, {len(over)} over {args.limit:g} s"
    )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
