"""The study dashboard: one self-contained HTML file (Plotly's JavaScript embedded).

Answers "what mattered, what won, and can I trust it?" for Optuna and Keras Tuner studies
alike, from the records ``search.results.records`` reads, as the compare table does.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
from plotly.offline import get_plotlyjs

from search.dashboard import figures
from search.dashboard.figures import Panel
from search.dashboard.front_figure import front_figure
from search.engines import TrialRecord, best_of
from search.front import candidates, pareto
from search.results.records import StudyRecords, as_optuna_study, read_study
from search.results.table import as_table
from search.study_config import StudyConfig
from trainer.objectives import Objective

logger = logging.getLogger(__name__)

_TEMPLATE = (Path(__file__).parent / "template.html").read_text()


def write_dashboard(config: StudyConfig, study: StudyRecords | None = None) -> Path:
    """Writes ``studies/<name>/dashboard.html`` (from ``study`` when the caller has read it)
    and returns its path."""
    study = study or read_study(config)
    records = study.trials
    metadata = _best_metadata(config)
    panels = build_panels(records, as_optuna_study(records, config), metadata)
    if config.multi_objective:
        panels.insert(0, front_panel(records, config.objective_list(), metadata))
    page = _TEMPLATE.format(
        title=html.escape(f"Study {config.name}"),
        plotly=get_plotlyjs(),
        summary=_summary(config, records, metadata),
        panels="\n".join(_section(panel) for panel in panels),
        runs=_runs_table(study, config.objective_list()),
    )
    path = config.output_dir / "dashboard.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    staged.write_text(page)
    staged.replace(path)
    logger.info("dashboard written to %s", path)
    return path


def build_panels(
    records: list[TrialRecord], study: optuna.Study, metadata: dict[str, Any] | None
) -> list[Panel]:
    vis = optuna.visualization
    panels = [
        _records_panel(
            "history",
            "Is the search still improving? Each trial's validation accuracy and the best so far",
            records,
            figures.history,
        ),
        _records_panel(
            "curves",
            "Where did the pruner stop each trial? Validation accuracy per epoch",
            [r for r in records if r.curve],
            figures.curves,
        ),
        figures.optuna_panel(
            "parallel",
            "Which combinations score well? Every parameter, coloured by validation accuracy",
            study,
            vis.plot_parallel_coordinate,
        ),
        figures.optuna_panel(
            "importance", "Which parameters mattered most?", study, vis.plot_param_importances
        ),
        figures.optuna_panel(
            "slice", "How does each parameter move validation accuracy?", study, vis.plot_slice
        ),
        figures.optuna_panel(
            "contour",
            "How do the two most important parameters interact?",
            study,
            lambda s: vis.plot_contour(s, params=figures.top_two_params(s)),
        ),
        _records_panel(
            "cost",
            "What does accuracy cost? Validation accuracy against model "
            "size and trial time, Pareto fronts in red",
            figures.scored(records),
            figures.cost,
        ),
    ]
    return panels + _best_panels(metadata)


def front_panel(
    records: list[TrialRecord], objectives: list[Objective], metadata: dict[str, Any] | None
) -> Panel:
    """The study's front on its first two objectives, the retrained trial marked."""
    title = (
        f"Which trade-off? {objectives[0].name} against {objectives[1].name}: the Pareto "
        "front in red, the retrained trial starred"
    )
    if not candidates(records, objectives):
        return Panel("front", title, message="No complete, feasible trial to show yet.")
    chosen = str(((metadata or {}).get("search") or {}).get("chosen", ""))
    return Panel("front", title, figure=front_figure(records, objectives, chosen))


def _records_panel(key: str, title: str, records: list[TrialRecord], draw: Any) -> Panel:
    if not records:
        return Panel(key, title, message="No finished trial to show yet.")
    return Panel(key, title, figure=draw(records))


def _best_panels(metadata: dict[str, Any] | None) -> list[Panel]:
    trust = "Can the best model be trusted? Its test accuracy next to its validation accuracy"
    classes = "Which classes does the best model get wrong?"
    if metadata is None:
        message = "No retrained best model yet (run python -m search.run without --no-retrain)."
        return [Panel("best", trust, message=message), Panel("classes", classes, message=message)]
    accuracy, per_class, flagged = figures.best_model(metadata)
    gap = 100 * (metadata["validation"]["accuracy"] - metadata["test"]["accuracy"])
    note = (
        f"Test accuracy is {gap:.1f} points below validation: check preprocessing and leakage."
        if flagged
        else f"Test and validation accuracy agree within {figures.GAP_POINTS:g} points "
        f"(gap {gap:+.1f})."
    )
    low, high = metadata["test"].get("accuracy_95") or (math.nan, math.nan)
    note += f" Test accuracy {metadata['test']['accuracy']:.4f}, 95% interval {low:.4f}-{high:.4f}"
    note += f" ({metadata['test'].get('images', 'all')} images"
    note += ", flip TTA)." if metadata.get("flip_tta") else ")."
    seeds = metadata.get("seeds")
    if seeds:
        note += (
            f" Over {len(seeds['test_accuracy'])} seeds: {seeds['mean']:.4f} ± {seeds['std']:.4f}."
        )
    return [
        Panel("best", trust, figure=accuracy, message=note, flagged=flagged),
        Panel("classes", classes, figure=per_class),
    ]


def _section(panel: Panel) -> str:
    parts = [
        f'<section class="panel" id="panel-{panel.key}">',
        f"<h2>{html.escape(panel.title)}</h2>",
    ]
    if panel.message:
        css = "message flagged" if panel.flagged else "message"
        parts.append(f'<p class="{css}" id="message-{panel.key}">{html.escape(panel.message)}</p>')
    if panel.figure is not None:
        panel.figure.update_layout(
            margin={"t": 40, "l": 60, "r": 30, "b": 50}, template="plotly_white"
        )
        figure_html = panel.figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"plot-{panel.key}",
            config={"responsive": True, "displaylogo": False},
        )
        parts.append(f'<div class="plot">{figure_html}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def _summary(
    config: StudyConfig, records: list[TrialRecord], metadata: dict[str, Any] | None
) -> str:
    if not records:
        return "<p class='message' id='empty'>This study has no trials yet.</p>"
    counts = Counter(record.state for record in records)
    states = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    objectives = config.objective_list()
    best = best_of(records, objectives)
    lines = [f"{len(records)} trials ({states}); engine {config.engine}, {config.algorithm}."]
    if best is None or best.value is None:
        lines.append("No trial completed yet, so there is no best trial.")
    else:
        lines.append(f"Best trial {best.key}: {objectives[0].name} {best.value:.4f}.")
    if config.multi_objective:
        front = ", ".join(r.key for r in pareto(records, objectives)) or "none yet"
        lines.append(f"Pareto front of {', '.join(config.objectives)}: {front}.")
    if metadata:
        search = metadata.get("search") or {}
        chosen = (
            f"trial {search['chosen']} (choose {search['choose']}) as "
            if search.get("choose", "best") != "best"
            else "best model "
        )
        lines.append(
            f"Retrained {chosen}{metadata['run_name']}: validation "
            f"{metadata['validation']['accuracy']:.4f}, test {metadata['test']['accuracy']:.4f}."
        )
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def _runs_table(study: StudyRecords, objectives: list[Objective]) -> str:
    table = as_table(study, objectives)
    if table.empty:
        return "<p class='message'>No runs yet.</p>"
    table = table.drop(columns=[c for c in ("run_id",) if c in table.columns])
    return table.to_html(
        index=False,
        classes="runs",
        table_id="runs-table",
        na_rep="",
        float_format=lambda v: f"{v:.4g}",
        border=0,
    )


def _best_metadata(config: StudyConfig) -> dict[str, Any] | None:
    path = config.best_dir / "metadata.json"
    if not path.exists():
        return None
    return dict(json.loads(path.read_text()))
