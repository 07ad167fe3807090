"""The study dashboard: one self-contained HTML page (``page``) of Plotly figures
(``figures``). ``python -m search.dashboard`` is the command (``command``)."""

from __future__ import annotations

from search.dashboard.command import build_parser, main

__all__ = ["build_parser", "main"]
