"""One training job: data, fit, evaluate, export, hypertune reporting, the container entrypoint.

Knows nothing of search engines; ``search`` calls it.
"""
