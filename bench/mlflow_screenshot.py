"""docs/mlflow.png: MLflow's UI on a real study, from headless Chromium (its DevTools protocol).

Starts ``mlflow server`` on the study's store, opens the experiment's runs, expands the study's
parent run, shows the ``latency_ms`` and ``objective_val_accuracy`` columns, and saves the
screenshot, cropped to the table. The picture in docs/ came from:

    .venv/bin/cnn-search --studies-dir /tmp/shot/studies --study fashion-mnist-cnn-fast \\
        --trials 5 --pruner none --retrain-epochs 2
    .venv/bin/python bench/mlflow_screenshot.py /tmp/shot/studies/fashion-mnist-cnn-fast/mlflow.db
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets
from PIL import Image

MLFLOW_PORT = 5055
DEVTOOLS_PORT = 9333
COLUMNS = ("Dataset", "Source", "objective_val_accuracy", "latency_ms")  # each clicked once
CLICK_TEXTS = """(() => { const out = [];
  for (const text of %s) {
    const el = [...document.querySelectorAll('span,div,label')]
      .filter(e => e.children.length === 0 && e.textContent.trim() === text).pop();
    if (el) { (el.closest('label') || el.parentElement).click(); out.push(text); }
  } return out })()"""
READY = "!!document.querySelector('button[data-component-id*=runnamecellrenderer]')"
STEPS = (
    "[...document.querySelectorAll('button')].filter(b => /close/i.test("
    "b.getAttribute('aria-label') || '')).map(b => b.click()).length",  # the assistant panel
    "[...document.querySelectorAll('button[data-component-id*=runnamecellrenderer]')]"
    ".map(b => b.click()).length",  # the study's parent run expanded
    "!![...document.querySelectorAll('button')].find(b => /^Columns/.test(b.textContent.trim()))"
    "?.click() || 1",
    CLICK_TEXTS % json.dumps(list(COLUMNS)),
    "document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))"
    " && document.querySelector('h1, h2')?.click() || 1",
)


def _wait_for(url: str, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return json.load(urllib.request.urlopen(url, timeout=5))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


async def _shoot(socket_url: str, page: str) -> bytes:
    async with websockets.connect(socket_url, max_size=None) as ws:
        ids = iter(range(1, 1_000_000))

        async def call(method: str, **params: Any) -> Any:
            me = next(ids)
            await ws.send(json.dumps({"id": me, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == me:
                    return message.get("result", {})

        await call("Emulation.setDeviceMetricsOverride", width=1600, height=900,
                   deviceScaleFactor=1, mobile=False)  # fmt: skip
        await call("Page.navigate", url=page)
        for _ in range(120):  # the React app loads and fetches the runs
            await asyncio.sleep(1)
            loaded = await call("Runtime.evaluate", expression=READY, returnByValue=True)
            if loaded.get("result", {}).get("value"):
                break
        await asyncio.sleep(2)
        for step in STEPS:
            result = await call("Runtime.evaluate", expression=step, returnByValue=True)
            print(step.splitlines()[0][:60], "->", result.get("result", {}).get("value"))
            await asyncio.sleep(3)
        shot = await call("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="the study's mlflow.db")
    parser.add_argument("--out", type=Path, default=Path("docs/mlflow.png"))
    parser.add_argument("--experiment", default="1")
    args = parser.parse_args()
    mlflow = Path(sys.executable).with_name("mlflow")
    profile = tempfile.mkdtemp(prefix="mlflow-screenshot-")
    server = subprocess.Popen(
        [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{args.store.absolute()}",
         "--host", "127.0.0.1", "--port", str(MLFLOW_PORT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    chromium = subprocess.Popen(
        [shutil.which("chromium") or "chromium", "--headless=new", "--no-sandbox",
         "--disable-gpu", "--hide-scrollbars", f"--remote-debugging-port={DEVTOOLS_PORT}",
         f"--user-data-dir={profile}",  # a fresh profile: MLflow keeps its table's state
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(
            f"http://127.0.0.1:{MLFLOW_PORT}/api/2.0/mlflow/experiments/search?max_results=1", 120
        )
        targets = _wait_for(f"http://127.0.0.1:{DEVTOOLS_PORT}/json", 30)
        (target,) = [t for t in targets if t["type"] == "page"][:1]
        page = f"http://127.0.0.1:{MLFLOW_PORT}/#/experiments/{args.experiment}/runs"
        png = asyncio.run(_shoot(target["webSocketDebuggerUrl"], page))
    finally:
        for process in (chromium, server):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
    shutil.rmtree(profile, ignore_errors=True)
    Image.open(io.BytesIO(png)).crop((195, 0, 1600, 490)).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
