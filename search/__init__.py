"""Many trials: engines, tracking, the registry, Vertex AI, dashboards, the compare table."""
