"""Background training jobs for the retraining page: start, watch, cancel, resume, delete.

A job is the training CLI (``python -m training.train``) in its own process and
session, so it outlives the browser tab and the Streamlit script run that started
it. One job per machine at a time: a lock file in the runs directory holds the
running job's pid and folder. TensorFlow-free.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from . import runs
from .config import TrainConfig

LOCK_NAME = ".training.lock"
JOB_FILE = "job.json"
DISABLE_ENV = "TGN_DISABLE_RETRAINING"
LOG_TAIL_LINES = 15


class JobError(RuntimeError):
    """A job cannot be started, resumed or deleted; the message says why and what to do."""


@dataclass(frozen=True)
class Job:
    pid: int
    folder: Path
    started_at: float


def retraining_disabled(secrets: dict | None = None) -> bool:
    """True when the environment variable or the Streamlit secret turns retraining off."""
    value = os.environ.get(DISABLE_ENV, "")
    if not value and secrets is not None:
        value = str(secrets.get("disable_retraining", ""))
    return value.strip().lower() in ("1", "true", "yes", "on")


def _lock_path() -> Path:
    return runs.runs_dir() / LOCK_NAME


def process_alive(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            process.wait(0)  # reap our own dead child
            return False
        return True
    except (psutil.NoSuchProcess, psutil.TimeoutExpired, ValueError):
        return False
    except psutil.Error:
        return True


def current_job() -> Job | None:
    """The running job, if any. A lock whose process has died is removed."""
    lock = runs.read_json(_lock_path())
    if not lock:
        return None
    if process_alive(int(lock.get("pid", -1))):
        return Job(int(lock["pid"]), Path(lock["folder"]), float(lock.get("started_at", 0)))
    _lock_path().unlink(missing_ok=True)
    return None


def check_writable(folder: Path) -> None:
    """Raise JobError when runs cannot be written there (read-only, no permission, disk full)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        with open(probe, "wb") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        raise JobError(
            f"Cannot write to the runs directory {folder} ({reason}). Free some space or set "
            f"{runs.RUNS_DIR_ENV} to a writable folder, then try again."
        ) from exc


def command_for(config: TrainConfig, folder: Path) -> list[str]:
    args = [
        "--epochs",
        config.epochs,
        "--batch-size",
        config.batch_size,
        "--learning-rate",
        config.learning_rate,
        "--seed",
        config.seed,
        "--out",
        folder,
    ]
    args.append("--augment" if config.augment else "--no-augment")
    if config.limit:
        args += ["--limit", config.limit]
    return [str(a) for a in args]


def _acquire_lock(folder: Path, pid: int = 0) -> None:
    lock = _lock_path()
    if current_job() is not None:
        raise JobError("A training run is already in progress on this machine; wait for it or cancel it.")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError as exc:
        raise JobError("Another training run is starting right now; try again in a moment.") from exc
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": pid or os.getpid(), "folder": str(folder), "started_at": time.time()}, f)


def _spawn(folder: Path, argv: list[str]) -> Job:
    """Start the CLI for ``folder`` while holding the lock, then record the child's pid in it."""
    _acquire_lock(folder)
    try:
        log = open(folder / runs.LOG_FILE, "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "training.train", *argv],
            cwd=runs.REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # survives the app's script runs and sessions
        log.close()
        runs.write_json_atomic(_lock_path(), {"pid": process.pid, "folder": str(folder), "started_at": time.time()})
    except BaseException:
        _lock_path().unlink(missing_ok=True)
        raise
    return Job(process.pid, folder, time.time())


def run_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a run folder (None if it can): it must stay inside the runs directory."""
    if not name or name.startswith(".") or not all(ch.isalnum() or ch in "-_." for ch in name):
        return "The run name may only contain letters, digits, '-', '_' and '.', and must not start with '.'."
    return None


def start_job(config: TrainConfig, name: str | None = None) -> Job:
    """Validate the settings and start a new run in the runs directory."""
    problems = config.validate()
    if name is not None and (name_problem := run_name_problem(name)):
        problems.append(name_problem)
    if problems:
        raise JobError(" ".join(problems))
    base = runs.runs_dir()
    check_writable(base)
    name = name or time.strftime("run-%Y%m%d-%H%M%S")
    folder = base / name
    if folder.exists():
        raise JobError(f"A run named {name} already exists; choose another name or delete it first.")
    folder.mkdir(parents=True)
    argv = command_for(config, folder)
    runs.write_json_atomic(folder / JOB_FILE, {"argv": argv, "settings": config.to_dict()})
    runs.write_status(folder, runs.STATE_RUNNING, "Starting")
    try:
        return _spawn(folder, argv)
    except JobError:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def resume_job(folder: Path) -> Job:
    """Continue a cancelled or failed run from its last checkpoint (same command line)."""
    folder = Path(folder)
    job = runs.read_json(folder / JOB_FILE)
    if not job:
        raise JobError(
            f"{folder} was not started from the app, so it cannot be resumed here; rerun its "
            "training command in a terminal instead."
        )
    if run_state(folder)["state"] == runs.STATE_COMPLETE:
        raise JobError(f"{folder.name} is already complete.")
    check_writable(folder)
    runs.write_status(folder, runs.STATE_RUNNING, "Resuming")
    return _spawn(folder, job["argv"])


def cancel_job() -> bool:
    """Ask the running job to stop; it finishes cleanly, keeping its last epoch's checkpoint."""
    job = current_job()
    if job is None:
        return False
    try:
        os.kill(job.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def wait_for(job: Job, timeout: float = 600.0) -> str:
    """Block until the job's process ends (for tests and scripts); returns the run's final state."""
    deadline = time.time() + timeout
    while time.time() < deadline and process_alive(job.pid):
        time.sleep(0.2)
    current_job()  # clears a stale lock
    return run_state(job.folder)["state"]


def log_tail(folder: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = (Path(folder) / runs.LOG_FILE).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_state(folder: Path) -> dict:
    """The run's status; a 'running' run whose process is gone is reported as failed."""
    folder = Path(folder)
    status = runs.read_status(folder)
    state = status.get("state", "unknown")
    if state == runs.STATE_RUNNING:
        job = current_job()
        if job is None or Path(job.folder).resolve() != folder.resolve():
            state = runs.STATE_FAILED
            status["message"] = (
                "The training process stopped unexpectedly (killed or out of memory). "
                "Resume continues from the last complete epoch."
            )
    return {**status, "state": state}


def runs_overview() -> list[dict]:
    """One row per run folder, finished or not: name, state, test accuracy, status message, shipped."""
    rows = []
    for info in runs.list_runs(include_unfinished=True):
        state = {"state": info.state} if info.shipped else run_state(info.folder)
        metrics = runs.read_json(info.folder / runs.METRICS_FILE, default={}) or {}
        rows.append(
            {
                "run": info.name,
                "state": state.get("state"),
                "test accuracy": metrics.get("test_accuracy"),
                "message": state.get("message", ""),
                "shipped": info.shipped,
            }
        )
    return rows


def progress(folder: Path) -> dict:
    return runs.read_json(Path(folder) / runs.PROGRESS_FILE, default={}) or {}


def delete_run(folder: Path) -> None:
    folder = Path(folder)
    shipped = {p.resolve() for p in runs.SHIPPED_RUNS.values()}
    if folder.resolve() in shipped:
        raise JobError("The shipped runs cannot be deleted.")
    if folder.resolve().parent != runs.runs_dir().resolve():
        raise JobError(f"{folder} is not in the runs directory {runs.runs_dir()}.")
    job = current_job()
    if job is not None and Path(job.folder).resolve() == folder.resolve():
        raise JobError("This run is still training; cancel it first.")
    shutil.rmtree(folder)
