"""The engine conformance suite (``search.testing.engine_suite``) on every engine in
``search.components.ENGINES``: a new engine joins by its entry there."""

from __future__ import annotations

from search.testing.engine_suite import *  # noqa: F403 (the suite's tests and fixtures)
