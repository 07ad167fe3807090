"""``python -m search.compare --study NAME``: every run of a study side by side.

Prints the table readably and writes it to ``studies/<name>/compare.csv``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from search import cli
from search.study_config import StudyConfig


def build_parser() -> cli.StudyParser:
    parser = cli.StudyParser(
        "python -m search.compare", "Every run of a study side by side, best first."
    )
    parser.add_argument("--limit", type=int, help="print only the best LIMIT runs")
    cli.add_vertex_flags(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_command(build_parser(), argv, _compare)


def _compare(config: StudyConfig, args: argparse.Namespace) -> None:
    from search.results.table import format_table, study_table, write_table

    table = study_table(config)
    path = write_table(config, table)
    print(format_table(table, args.limit))
    print(f"\n{len(table)} runs; written to {path}")


if __name__ == "__main__":
    sys.exit(main())
