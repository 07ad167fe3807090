"""``python -m search.compare --study NAME``: every run of a study side by side.

Prints the table readably and writes it to ``studies/<name>/compare.csv``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from search import cli


def build_parser() -> cli.StudyParser:
    parser = cli.StudyParser(
        "python -m search.compare", "Every run of a study side by side, best first."
    )
    parser.add_argument("--limit", type=int, help="print only the best LIMIT runs")
    cli.add_vertex_flags(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup()

    def body() -> None:
        from search.results.table import format_table, study_table, write_table

        config = parser.load(args)
        table = study_table(config)
        path = write_table(config, table)
        print(format_table(table, args.limit))
        print(f"\n{len(table)} runs; written to {path}")

    return cli.run_main(body, "interrupted")


if __name__ == "__main__":
    sys.exit(main())
