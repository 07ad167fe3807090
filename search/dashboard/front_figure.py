"""The Pareto panel: the study's trials on its first two objectives, the front joined up and
the trial chosen to retrain marked (``search.front`` decides both, as for the compare table)."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from search.contract import TrialRecord
from search.front import candidates, pareto
from trainer.objectives import Objective


def front_figure(
    records: Sequence[TrialRecord], objectives: Sequence[Objective], chosen: str = ""
) -> go.Figure:
    """The primary objective (y) against the second (x): every complete, feasible trial, the
    front (the other objectives in each point's hover text), and ``chosen`` as a star."""
    primary, other = objectives[0], objectives[1]
    pool = candidates(records, objectives)
    front = sorted(pareto(records, objectives), key=lambda r: r.values[other.name])
    figure = go.Figure()
    for name, shown, style in (
        ("trials", pool, {"mode": "markers", "marker": {"color": "#9e9e9e", "size": 8}}),
        (
            "Pareto front",
            front,
            {
                "mode": "lines+markers",
                "marker": {"color": "#d62728", "size": 10},
                "line": {"shape": "hv", "color": "#d62728"},
            },
        ),
        (
            "retrained",
            [r for r in pool if r.key == chosen],
            {"mode": "markers", "marker": {"symbol": "star", "size": 18, "color": "#2ca02c"}},
        ),
    ):
        figure.add_trace(
            go.Scatter(
                x=[r.values[other.name] for r in shown],
                y=[r.values[primary.name] for r in shown],
                text=[_label(r, objectives) for r in shown],
                name=name,
                **style,
            )
        )
    figure.update_xaxes(title_text=f"{other.name} ({other.direction})")
    figure.update_yaxes(title_text=f"{primary.name} ({primary.direction})")
    figure.update_layout(height=440)
    return figure


def _label(record: TrialRecord, objectives: Sequence[Objective]) -> str:
    values = ", ".join(f"{o.name} {record.values[o.name]:.4g}" for o in objectives)
    return f"{record.key}: {values}"
