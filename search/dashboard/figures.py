"""The dashboard's panels: one Plotly figure each, or the reason it cannot be drawn yet.

Optuna's ``optuna.visualization`` draws the parallel coordinates, importances, slices and
contour from an in-memory study built by ``search.results.records``; Plotly draws the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from search.engines import TrialRecord
from trainer.settings import SUSPICIOUS_GAP

COLOURS = {
    "complete": "#1f77b4",
    "pruned": "#9e9e9e",
    "failed": "#d62728",
    "interrupted": "#ff7f0e",
}
#: A test accuracy this many points below validation is flagged (the job's own threshold).
GAP_POINTS = 100 * SUSPICIOUS_GAP


@dataclass(frozen=True)
class Panel:
    """A titled panel: a figure, or a message saying why there is none."""

    key: str
    title: str
    figure: go.Figure | None = None
    message: str = ""
    #: the message is a warning (the best model's test accuracy is far below validation)
    flagged: bool = False


def scored(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    return [r for r in records if r.state == "complete" and r.value is not None]


def history(records: Sequence[TrialRecord]) -> go.Figure:
    """Each trial's objective by state, and the best complete trial so far."""
    figure = go.Figure()
    floor = min((r.value for r in records if r.value is not None), default=0.0)
    for state, colour in COLOURS.items():
        chosen = [r for r in records if r.state == state]
        if not chosen:
            continue
        figure.add_trace(
            go.Scatter(
                x=[r.number for r in chosen],
                y=[r.value if r.value is not None else floor for r in chosen],
                mode="markers",
                name=state,
                marker={
                    "color": colour,
                    "size": 9,
                    "symbol": "x" if _is_failed(state) else "circle",
                },
                text=[r.run_name or r.key for r in chosen],
            )
        )
    best, numbers, values = -math.inf, [], []
    for record in scored(records):
        best = max(best, record.value or -math.inf)
        numbers.append(record.number)
        values.append(best)
    figure.add_trace(
        go.Scatter(
            x=numbers,
            y=values,
            mode="lines",
            name="best so far",
            line={"shape": "hv", "color": "#2ca02c"},
        )
    )
    figure.update_layout(
        xaxis={"title": "trial", "tickformat": "d"}, yaxis_title="validation accuracy", height=420
    )
    return figure


def _is_failed(state: str) -> bool:
    return state in ("failed", "interrupted")


def curves(records: Sequence[TrialRecord]) -> go.Figure:
    """Per-epoch validation accuracy of every trial: where the pruner stopped each one."""
    figure = go.Figure()
    for record in records:
        if not record.curve:
            continue
        figure.add_trace(
            go.Scatter(
                x=list(range(1, len(record.curve) + 1)),
                y=list(record.curve),
                mode="lines+markers",
                name=f"{record.key} ({record.state})",
                line={"color": COLOURS.get(record.state, "#333"), "width": 1.5},
                opacity=0.9 if record.state == "complete" else 0.5,
            )
        )
    figure.update_layout(
        xaxis={"title": "epoch", "tickformat": "d"},
        yaxis_title="validation accuracy",
        showlegend=False,
        height=420,
    )
    return figure


def cost(records: Sequence[TrialRecord]) -> go.Figure:
    """Objective against parameter count and trial time, each with its Pareto front."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("model size", "trial time"))
    chosen = scored(records)
    for column, (label, read) in enumerate(
        (("parameters", lambda r: r.parameter_count), ("seconds", lambda r: r.seconds)), start=1
    ):
        points = [(read(r), r.value, _cost_label(r)) for r in chosen if read(r) is not None]
        figure.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                text=[p[2] for p in points],
                mode="markers",
                name=f"trials by {label}",
                marker={"color": COLOURS["complete"]},
            ),
            row=1,
            col=column,
        )
        front = pareto_front([(float(p[0]), float(p[1] or 0.0)) for p in points])
        figure.add_trace(
            go.Scatter(
                x=[p[0] for p in front],
                y=[p[1] for p in front],
                mode="lines+markers",
                name=f"Pareto front ({label})",
                line={"shape": "hv", "color": "#d62728"},
            ),
            row=1,
            col=column,
        )
        figure.update_xaxes(title_text=label, type="log", row=1, col=column)
    figure.update_yaxes(title_text="validation accuracy", row=1, col=1)
    figure.update_layout(height=420)
    return figure


def _cost_label(record: TrialRecord) -> str:
    """The trial's key and, where measured, how its time splits (compilation, steady epoch)."""
    parts = [record.key]
    if "compile_seconds" in record.metrics:
        parts.append(f"compile {record.metrics['compile_seconds']:.1f} s")
    if record.metrics.get("steady_epoch_seconds"):
        parts.append(f"steady epoch {record.metrics['steady_epoch_seconds']:.1f} s")
    return ", ".join(parts)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats: lower cost (x) and higher accuracy (y); sorted by cost."""
    front: list[tuple[float, float]] = []
    for cost_value, accuracy in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or accuracy > front[-1][1]:
            front.append((cost_value, accuracy))
    return front


def best_model(metadata: dict[str, Any]) -> tuple[go.Figure, go.Figure, bool]:
    """The best model's validation and test accuracy (flagged if the gap is large), its
    per-class precision/recall/F1, and its confusion matrix. Returns (accuracy figure,
    per-class figure with the heatmap, whether the gap is flagged)."""
    validation = metadata["validation"]["accuracy"]
    test = metadata["test"]["accuracy"]
    gap = 100 * (validation - test)
    flagged = gap > GAP_POINTS
    values = (validation, test)
    lows, highs = zip(
        *(
            metadata[part].get("accuracy_95") or (metadata[part]["accuracy"],) * 2
            for part in ("validation", "test")
        ),
        strict=True,
    )
    accuracy = go.Figure(
        go.Bar(
            x=["validation", "test"],
            y=list(values),
            text=[
                f"{value:.4f} (95%: {low:.4f}-{high:.4f})"
                for value, low, high in zip(values, lows, highs, strict=True)
            ],
            textposition="outside",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [high - value for value, high in zip(values, highs, strict=True)],
                "arrayminus": [value - low for value, low in zip(values, lows, strict=True)],
            },
            marker={"color": ["#1f77b4", "#d62728" if flagged else "#2ca02c"]},
        )
    )
    accuracy.update_layout(yaxis={"range": [0, 1.05], "title": "accuracy"}, height=320, width=520)
    per_class = metadata["test"]["per_class"]
    names = [row["name"] for row in per_class]
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45],
        subplot_titles=("per-class precision, recall, F1", "confusion matrix"),
    )
    for metric in ("precision", "recall", "f1"):
        figure.add_trace(
            go.Bar(x=names, y=[row[metric] for row in per_class], name=metric), row=1, col=1
        )
    figure.add_trace(
        go.Heatmap(
            z=metadata["test"]["confusion_matrix"],
            x=names,
            y=names,
            colorscale="Blues",
            showscale=False,
            texttemplate="%{z}",
            hovertemplate="true %{y}<br>predicted %{x}: %{z}",
        ),
        row=1,
        col=2,
    )
    figure.update_yaxes(autorange="reversed", title_text="true", row=1, col=2)
    figure.update_xaxes(title_text="predicted", row=1, col=2)
    figure.update_layout(barmode="group", height=520)
    return accuracy, figure, flagged


def optuna_panel(
    key: str, title: str, study: optuna.Study, draw: Callable[[optuna.Study], go.Figure]
) -> Panel:
    """Draws an Optuna visualisation, or says why it cannot be drawn for this study yet."""
    if len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) < 2:
        return Panel(key, title, message="Needs at least two completed trials.")
    try:
        figure = draw(study)
    except (ValueError, RuntimeError, ZeroDivisionError) as error:
        return Panel(key, title, message=f"Not available for this study: {error}")
    figure.layout.width = None  # Optuna fixes the slice plot's width; fit the page instead
    figure.update_layout(autosize=True)
    return Panel(key, title, figure=figure)


def top_two_params(study: optuna.Study) -> list[str]:
    importances = optuna.importance.get_param_importances(study)
    return list(importances)[:2]
