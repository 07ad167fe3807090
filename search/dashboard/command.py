"""``python -m search.dashboard --study NAME``: the study's dashboard as one HTML file.

Writes ``studies/<name>/dashboard.html``: self-contained (Plotly's JavaScript embedded), so it
opens offline and can be attached to a ticket. ``python -m search.run`` writes it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from search import cli
from search.study_config import StudyConfig


def build_parser() -> cli.StudyParser:
    parser = cli.StudyParser("python -m search.dashboard", "Write a study's Plotly dashboard.")
    cli.add_vertex_flags(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_command(build_parser(), argv, _dashboard)


def _dashboard(config: StudyConfig, args: object) -> None:
    from search.dashboard.page import write_dashboard

    print(f"dashboard written to {write_dashboard(config)}")
