"""``search.run --workers N``: N trial processes on one machine sharing the study, under one
parent that shows the progress, forwards Ctrl-C and SIGTERM, and retrains the best once.

Each worker is ``python -m search.run`` itself with ``--no-retrain``: the engine's study lock
(a file lock for SQLite, an advisory lock for PostgreSQL) makes "count the trials, start one"
atomic, so together they run exactly ``trials``. One GPU holds many small trials at once, and
XLA compiles on the CPU cores in parallel (the figures: docs/performance.md); on a CPU the
cores are split between the workers.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO

from search.study_config import StudyConfig, StudyError
from trainer import interrupts

logger = logging.getLogger("search")

#: ``--workers auto`` on a GPU: one worker per this many CPU cores (compilation and the input
#: pipeline run there), at most ``MAX_GPU_WORKERS``.
CORES_PER_GPU_WORKER = 2
MAX_GPU_WORKERS = 8
#: The share of GPU memory all workers together may take (JAX's default is 0.75 for one).
GPU_MEMORY_SHARE = 0.9
#: The environment variable that tells a worker it is one (its index, 1-based, and the count).
WORKER_ENV = "SEARCH_WORKER"
#: "1" when the workers' parent retrains the best after them (its time is kept free of
#: trials), "0" after ``--no-retrain``.
RETRAIN_ENV = "SEARCH_PARENT_RETRAINS"
PROGRESS_SECONDS = 10.0
#: Killed workers started again in one search, at most (a cause that kills every worker, such
#: as too little memory for the trials, should end the search, not loop).
MAX_RESTARTS = 5


def gpu_count() -> int:
    """NVIDIA GPUs visible to this process (``nvidia-smi -L``), without importing JAX."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        listed = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    count = sum(line.startswith("GPU ") for line in listed.stdout.splitlines())
    if visible:
        count = min(count, len([d for d in visible.split(",") if d.strip()]))
    return count


def resolve(text: str) -> int:
    """``--workers``: a positive number, or ``auto``: on a GPU one worker per
    ``CORES_PER_GPU_WORKER`` cores (at most ``MAX_GPU_WORKERS``), on a CPU one.

    Raises:
        StudyError: neither a positive number nor ``auto``.
    """
    if text == "auto":
        if gpu_count() == 0:
            return 1
        return max(1, min(MAX_GPU_WORKERS, (os.cpu_count() or 1) // CORES_PER_GPU_WORKER))
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise StudyError(f"--workers must be a positive number or auto, but got {text!r}.")
    return count


def worker_environment(
    index: int, count: int, gpus: int, parent_retrains: bool = True
) -> dict[str, str]:
    """Worker ``index``'s environment: its share of the GPU memory (JAX: no preallocation and
    a memory fraction; TensorFlow: memory growth), or of the CPU cores, and whether the parent
    retrains after it."""
    env = {
        **os.environ,
        WORKER_ENV: f"{index}/{count}",
        RETRAIN_ENV: "1" if parent_retrains else "0",
        "PYTHONUNBUFFERED": "1",
    }
    if gpus:
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{GPU_MEMORY_SHARE / count:.3f}"
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    else:
        threads = str(max(1, (os.cpu_count() or 1) // count))
        env["OMP_NUM_THREADS"] = threads
        env["TF_NUM_INTRAOP_THREADS"] = threads
        env["TF_NUM_INTEROP_THREADS"] = "1"
    return env


def worker_argv(argv: Sequence[str], budget_left: float | None) -> list[str]:
    """The worker's command: the parent's flags without ``--workers``, ``--budget`` and the
    retrain steps, plus ``--no-retrain`` and the budget left now."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ("--workers", "--budget"):
            skip = "=" not in arg
            continue
        if name in ("--no-retrain", "--retrain-only"):
            continue
        kept.append(arg)
    if budget_left is not None:
        kept += ["--budget", f"{max(1, int(budget_left))}s"]
    return [sys.executable, "-m", "search.run", *kept, "--no-retrain"]


class Workers:
    """Starts the workers, relays their output line by line with a ``[wN]`` prefix, prints the
    study's progress every ``PROGRESS_SECONDS``, and stops them all on Ctrl-C or SIGTERM."""

    def __init__(self, config: StudyConfig, count: int, retrain: bool = True) -> None:
        if config.engine != "optuna":
            raise StudyError(
                f"--workers {count} needs engine optuna: Keras Tuner's oracle lives in one "
                "process. Use --workers 1, or engine optuna."
            )
        self.config = config
        self.count = count
        self.retrain = retrain
        self.processes: list[subprocess.Popen[str]] = []
        self._relays: list[threading.Thread] = []
        self._command: list[str] = []
        self._gpus = 0
        #: Workers started again after a signal killed them (``_restart_killed``).
        self.restarts = 0

    def run(self, argv: Sequence[str], budget_left: float | None) -> list[int]:
        """Runs the workers to the end; returns their exit codes.

        Raises:
            KeyboardInterrupt: Ctrl-C or SIGTERM; every worker was stopped first.
        """
        from search.engines import open_engine
        from search.tracking import open_tracker

        # The stores are created here, once: workers creating MLflow's SQLite tables together
        # race ("table _alembic_tmp_... already exists"). A bad URL fails here, too.
        open_engine(self.config)
        open_tracker(self.config)
        gpus = gpu_count()
        command = worker_argv(argv, budget_left)
        where = f"{gpus} GPU(s)" if gpus else f"{os.cpu_count()} CPU cores"
        logger.info("starting %d workers on %s: %s", self.count, where, " ".join(command[1:]))
        self._command = command
        self._gpus = gpus
        for index in range(1, self.count + 1):
            self.processes.append(self._start(index))
        try:
            self._wait()
        except KeyboardInterrupt:
            self.stop()
            raise
        for relay in self._relays:
            relay.join()
        return [process.returncode for process in self.processes]

    def _start(self, index: int) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            self._command,
            env=worker_environment(index, self.count, self._gpus, self.retrain),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # signals reach workers through the parent only
        )
        relay = threading.Thread(target=_relay, args=(process.stdout, f"[w{index}] "))
        relay.start()
        self._relays.append(relay)
        return process

    def _restart_killed(self) -> None:
        """Starts again, in its place, a worker killed by a signal it did not get from here
        (the kernel's out-of-memory killer, a kill -9), at most ``MAX_RESTARTS`` times in
        all: its trial is taken over by the next worker that asks (``fail_dead_local_trials``).
        A worker that exited by itself (done, an error) stays ended."""
        for slot in self._killed():
            if self.restarts >= MAX_RESTARTS:
                break
            code = self.processes[slot].returncode
            self.restarts += 1
            logger.warning(
                "worker %d was killed (signal %d); starting it again (%d of at most %d)",
                slot + 1,
                -code,
                self.restarts,
                MAX_RESTARTS,
            )
            self.processes[slot] = self._start(slot + 1)

    def _killed(self) -> list[int]:
        """The slots of workers killed by a signal while restarts are left."""
        if self.restarts >= MAX_RESTARTS:
            return []
        codes = [process.poll() for process in self.processes]
        return [slot for slot, code in enumerate(codes) if code is not None and code < 0]

    def stop(self) -> None:
        """SIGTERM to every worker (each ends its trial as interrupted), then waits."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        for process in self.processes:
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for relay in self._relays:
            relay.join(timeout=5)

    def _wait(self) -> None:
        shown = ""
        while True:
            self._restart_killed()
            if all(process.poll() is not None for process in self.processes):
                break
            line = self._progress()
            if line and line != shown:
                logger.info("%s", line)
                shown = line
            for _ in range(int(PROGRESS_SECONDS * 10)):
                # a killed worker is started again at once; once no restart is left, it is
                # waited for with the others (no busy loop over its code)
                if all(process.poll() is not None for process in self.processes) or self._killed():
                    break
                time.sleep(0.1)

    def _progress(self) -> str:
        from search.engines import best_of, open_engine

        try:
            records = open_engine(self.config, create=False).records()
        except Exception as error:  # a progress line never stops the workers
            interrupts.raise_if_interrupt(error)
            logger.debug("progress not read: %s", error)
            return ""
        finished = [
            r
            for r in records
            if r.state in ("complete", "pruned")
            or (r.state == "failed" and r.feasible is not False)
        ]
        running = sum(r.state == "running" for r in records)
        best = best_of(records, self.config.objective_list())
        best_text = (
            f"best {best.value:.4f} ({best.key})"
            if best and best.value is not None
            else "no best yet"
        )
        return (
            f"{len(finished)}/{self.config.trials} trials finished, {running} running, "
            f"{self.count} workers | {best_text}"
        )


def _relay(stream: IO[str] | None, prefix: str) -> None:
    if stream is None:
        return
    for line in stream:
        sys.stderr.write(prefix + line)
    stream.close()
