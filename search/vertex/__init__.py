"""Vertex AI: the study's space as a tuning job (``job``, ``spec``), its trials fetched back
(``fetch``), exported models registered (``registry``). ``python -m search.vertex`` is the
command (``command``)."""

from __future__ import annotations

from search.vertex.command import build_parser, main

__all__ = ["build_parser", "main"]
