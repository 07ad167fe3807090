"""A study's results read back: every trial as a record (``records``), and the runs side by
side (``table``), whatever the engine and the tracker."""
