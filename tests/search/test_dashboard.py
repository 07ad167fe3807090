"""The study dashboard: built from real small studies, rendered in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from search.dashboard.page import build_panels, write_dashboard
from search.engines import TrialRecord
from search.results.records import as_optuna_study, load_records
from tests.search.conftest import tiny_config

PANELS = (
    "history",
    "curves",
    "parallel",
    "importance",
    "slice",
    "contour",
    "cost",
    "best",
    "classes",
    "runs",
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@pytest.mark.slow
def test_dashboard_of_an_optuna_study(finished) -> None:
    config, _ = finished
    page = (config.output_dir / "dashboard.html").read_text()
    for panel in PANELS:
        assert f'id="panel-{panel}"' in page
    assert "Plotly.newPlot" in page and "<script src=" not in page, "Plotly is embedded"
    metadata = json.loads((config.best_dir / "metadata.json").read_text())
    records = load_records(config)
    panels = {p.key: p for p in build_panels(records, as_optuna_study(records, config), metadata)}
    bars = panels["best"].figure.data[0]
    assert list(bars.y) == [metadata["validation"]["accuracy"], metadata["test"]["accuracy"]]
    heatmap = next(trace for trace in panels["classes"].figure.data if trace.type == "heatmap")
    assert [list(row) for row in heatmap.z] == metadata["test"]["confusion_matrix"]
    f1 = next(trace for trace in panels["classes"].figure.data if trace.name == "f1")
    assert list(f1.y) == [row["f1"] for row in metadata["test"]["per_class"]]
    history = panels["history"].figure
    assert sum(len(trace.x) for trace in history.data if trace.mode == "markers") == len(records)
    assert all(len(r.curve) >= 1 for r in records)


@pytest.mark.slow
def test_dashboard_of_a_keras_tuner_study(studies_dir: Path) -> None:
    from search.study_run import run_study

    config = tiny_config(studies_dir, engine="keras-tuner", algorithm="random", trials=2, epochs=1)
    run_study(config, retrain=False)
    page = (config.output_dir / "dashboard.html").read_text()
    for panel in PANELS:
        assert f'id="panel-{panel}"' in page
    assert "No retrained best model yet" in page
    records = load_records(config)
    assert [r.key for r in records] == ["keras-tuner-0", "keras-tuner-1"]
    assert all(r.curve and r.seconds and r.parameter_count for r in records)


def test_a_study_without_trials_says_so(studies_dir: Path) -> None:
    page = write_dashboard(tiny_config(studies_dir)).read_text()
    assert "This study has no trials yet." in page
    assert "No finished trial to show yet." in page


@pytest.mark.parametrize("count", [1, 2])
def test_only_failed_trials_still_give_a_page(studies_dir: Path, count: int) -> None:
    config = tiny_config(studies_dir)
    records = [
        TrialRecord(
            number=n,
            key=f"optuna-{n}",
            state="failed",
            value=None,
            params={"units": 256},
            seconds=1.0,
        )
        for n in range(count)
    ]
    panels = {p.key: p for p in build_panels(records, as_optuna_study(records, config), None)}
    assert panels["importance"].message == "Needs at least two completed trials."
    assert panels["cost"].message == "No finished trial to show yet."
    assert panels["history"].figure is not None
    assert "No retrained best model yet" in panels["best"].message


def test_one_completed_trial(studies_dir: Path) -> None:
    config = tiny_config(studies_dir)
    records = [
        TrialRecord(
            number=0,
            key="optuna-0",
            state="complete",
            value=0.8,
            params={"units": 256},
            curve=(0.7, 0.8),
            seconds=3.0,
            parameter_count=1000,
        )
    ]
    panels = {p.key: p for p in build_panels(records, as_optuna_study(records, config), None)}
    assert panels["contour"].message == "Needs at least two completed trials."
    assert panels["cost"].figure is not None and panels["curves"].figure is not None


@pytest.mark.slow
def test_dashboard_renders_in_chromium(finished, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is not installed; ./setup.sh installs Debian's chromium")
    config, _ = finished
    url = (config.output_dir / "dashboard.html").absolute().as_uri()
    common = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=30000",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=180, check=True
    ).stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None
    attributes = dict(re.findall(r'data-(\w+)="([^"]*)"', body.group(1)))
    assert int(attributes["plots"]) >= 9
    assert attributes["drawn"] == attributes["plots"], "every panel drew a plot"
    assert json.loads(attributes["errors"].replace("&quot;", '"')) == []
    screenshot = tmp_path / "dashboard.png"
    subprocess.run(
        [*common, "--window-size=1400,5600", f"--screenshot={screenshot}", url],
        capture_output=True,
        timeout=180,
        check=True,
    )
    assert screenshot.stat().st_size > 50_000


def test_a_dashboard_that_cannot_be_drawn_never_fails_the_search(
    studies_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Plotly missing (a trimmed install, the JAX-only GPU machine): a warning, not a crash."""
    import sys

    from search.engines import open_engine
    from search.study_run import _write_views
    from search.tracking import open_tracker

    config = tiny_config(studies_dir)
    monkeypatch.setitem(sys.modules, "search.dashboard.page", None)  # its import fails
    _write_views(config, open_engine(config), open_tracker(config), compare=False)
    assert "dashboard not written (ModuleNotFoundError" in caplog.text
