"""Conformance suites for plug-in authors, as ``optuna.testing`` ships Optuna's.

An engine or tracker named in ``search.components`` runs the suite the project's own run::

    # tests/test_my_engine.py
    from search.testing.engine_suite import *  # noqa: F403 (the suite's tests and fixtures)

    @pytest.fixture
    def engine_name() -> str:
        return "my-engine"

``search.testing.tracker_suite`` does the same for trackers (fixture ``tracker_name``). The
suites train nothing (engines) or write to a temporary study folder (trackers): seconds.
"""
