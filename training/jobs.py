"""Background training jobs for the retraining page: start, watch, cancel, resume, delete.

A job is the training CLI (``python -m training.train``) in its own process and
session, so it outlives the browser tab and the Streamlit script run that started
it. One job per machine at a time: a lock file in the runs directory names the
job's process by pid *and* start time and holds its run folder, so a pid that the
system has since given to another process is never mistaken for the job (and never
sent a signal). A lock that cannot be read, names no live training process, or
stayed "starting" too long is stale and is removed. Changes to the lock happen under
a short OS file lock (``filelock``), so two starts at the same moment cannot both win.
TensorFlow-free.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import filelock
import psutil

from runfolder import runs

from .config import TrainConfig
from .device import BackendOption
from .paths import shown_path

LOCK_NAME = ".training.lock"
GUARD_NAME = ".training.lock.guard"
JOB_FILE = "job.json"
DISABLE_ENV = "TGN_DISABLE_RETRAINING"
LOG_TAIL_LINES = 15
STARTING_TIMEOUT_S = 60.0  # a start (lock taken, process not yet spawned) takes well under a second
MAX_RUN_NAME = 100  # characters; folder names may have at most 255 bytes
CLI_MODULE = "training.train"
SCORECARD_MODULE = "explain.scorecard"
ATLAS_MODULE = "explain.atlas"
EMBEDDING_MODULE = "analysis.embedding"
# Runs started from the app score their maps after training on a smaller sample than the shipped runs'
# 500 (the file states its sample); $TGN_SCORECARD_IMAGES changes it, 0 turns it off.
APP_SCORECARD_IMAGES = 100
SCORECARD_IMAGES_ENV = "TGN_SCORECARD_IMAGES"


LEARNING_ENV = "TGN_LEARNING"  # "0": runs started from the app skip the training's story (learning.npz)


def story_enabled() -> bool:
    """Whether runs started from the app build the training's story after training ($TGN_LEARNING=0: no)."""
    return os.environ.get(LEARNING_ENV, "1") != "0"


def scorecard_sample() -> tuple[int, int]:
    """(images, randomisation images) for the scorecards of runs started from the app; (0, 0) for none."""
    try:
        images = max(0, min(int(os.environ.get(SCORECARD_IMAGES_ENV, APP_SCORECARD_IMAGES)), 10_000))
    except ValueError:
        images = APP_SCORECARD_IMAGES
    return images, (max(2, images // 5) if images else 0)


# The processes this server started, so their exit codes can be read when they end.
_children: dict[int, subprocess.Popen] = {}


class JobError(RuntimeError):
    """A job cannot be started, resumed or deleted; the message says why and what to do."""


@dataclass(frozen=True)
class Job:
    pid: int
    folder: Path
    started_at: float
    create_time: float = 0.0  # the process's start time (psutil), which tells it apart from a reused pid
    module: str = CLI_MODULE  # training.train, or an analysis computed on demand (scorecard, atlas)


def _truthy(value) -> bool:
    return str(value if value is not None else "").strip().lower() in ("1", "true", "yes", "on")


def retraining_disabled(secrets: dict | None = None) -> bool:
    """True when the environment variable *or* the Streamlit secret turns retraining off.

    Either one is enough: a share whose secret switches retraining off stays off whatever the
    environment says, and the reverse."""
    return _truthy(os.environ.get(DISABLE_ENV)) or _truthy((secrets or {}).get("disable_retraining"))


def _lock_path() -> Path:
    return runs.runs_dir() / LOCK_NAME


def _guard() -> filelock.FileLock:
    """Held while the lock file is read-and-changed, by every thread and process of this project."""
    runs.runs_dir().mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(runs.runs_dir() / GUARD_NAME, timeout=10)


def _read_lock() -> dict | None:
    """The lock's content; None when there is no lock, {} when it cannot be read."""
    try:
        text = _lock_path().read_text()
    except (FileNotFoundError, NotADirectoryError):  # no lock, or no runs directory to hold one
        return None
    except OSError:
        return {}
    lock = runs.read_json(_lock_path())
    return lock if isinstance(lock, dict) and text.strip() else {}


def _process(pid, create_time) -> psutil.Process | None:
    """The live process with this pid and start time, or None (gone, a zombie, or a reused pid)."""
    try:
        process = psutil.Process(int(pid))
        if abs(process.create_time() - float(create_time)) > 0.01:
            return None  # the pid now belongs to another process
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (psutil.Error, ValueError, TypeError, OverflowError):
        return None


def _is_job_process(process: psutil.Process, folder: str, module: str = CLI_MODULE) -> bool:
    """The command line is this project's ``module`` (training or an analysis) working on ``folder``."""
    try:
        command = process.cmdline()
    except psutil.Error:
        return False
    return module in command and folder in command


def _job_from_lock(lock: dict) -> Job | None:
    """The job a lock describes if it is live; None if the lock is stale."""
    try:
        pid, create_time, folder = int(lock["pid"]), float(lock["create_time"]), str(lock["folder"])
        started_at, stage = float(lock["started_at"]), lock["stage"]
    except (KeyError, TypeError, ValueError):
        return None  # unreadable, empty or written by an old version
    process = _process(pid, create_time)
    if process is None:
        return None
    if stage == "starting":
        # The server process that is starting a job holds the lock for a moment.
        if time.time() - started_at > STARTING_TIMEOUT_S:
            return None
    elif stage != "running" or not _is_job_process(process, folder, lock.get("module", CLI_MODULE)):
        return None
    return Job(pid, Path(folder), started_at, create_time, lock.get("module", CLI_MODULE))


def _exit_description(pid: int) -> str:
    """How a process this server started ended, in words ('' if unknown)."""
    child = _children.pop(pid, None)
    if child is None:
        return ""
    try:
        code = child.wait(timeout=2)  # it is gone or going: a signalled process takes a moment to be reaped
    except subprocess.TimeoutExpired:
        return ""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f" It was ended by {name}."
    return f" It exited with code {code}." if code else ""


def _record_failure(lock: dict) -> None:
    """A job's process has gone: if its run still says 'running', say 'failed' and why."""
    folder = lock.get("folder")
    if not isinstance(folder, str) or not folder:
        return
    folder = Path(folder)
    if runs.read_status(folder).get("state") != runs.STATE_RUNNING:
        return  # the process wrote its own final state
    how = _exit_description(int(lock.get("pid", -1))) if str(lock.get("pid", "")).isdigit() else ""
    try:
        runs.write_status(
            folder,
            runs.STATE_FAILED,
            "The training process stopped unexpectedly (killed, out of memory, a full disk, or the server "
            f"restarted).{how} Resume continues from the last complete epoch.",
        )
    except OSError:
        pass  # a full disk: run_state still reports the run as failed


def _current_job_locked() -> Job | None:
    """current_job() for a caller that holds the guard."""
    lock = _read_lock()
    if lock is None:
        return None
    job = _job_from_lock(lock)
    if job is None:
        _lock_path().unlink(missing_ok=True)
        _record_failure(lock)
    return job


def current_job() -> Job | None:
    """The running job, if any. A stale lock is removed (and its run marked failed)."""
    lock = _read_lock()
    if lock is None:
        return None
    job = _job_from_lock(lock)
    if job is not None:
        return job
    with _guard():
        return _current_job_locked()  # read again: another thread may have replaced it meanwhile


def job_alive(job: Job) -> bool:
    """The job's own process is still running (not merely some process with its pid)."""
    child = _children.get(job.pid)
    if child is not None and child.poll() is not None:
        return False
    return _process(job.pid, job.create_time) is not None


def check_writable(folder: Path) -> None:
    """Raise JobError when runs cannot be written there (read-only, no permission, disk full)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")  # unique: starts may run at once
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"\0" * 65536)
                f.flush()
                os.fsync(f.fileno())
        finally:
            os.unlink(probe)
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        raise JobError(
            f"Cannot write to the runs directory {shown_path(folder)} ({reason}). Free some space or set "
            f"{runs.RUNS_DIR_ENV} to a writable folder, then try again."
        ) from exc


def command_for(config: TrainConfig, folder: Path, backend: str | None = None) -> list[str]:
    """The training CLI's arguments for a run; with ``backend`` the job trains on that Keras backend
    (the argument list is kept in job.json, so Resume continues on the same one)."""
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
    if not story_enabled():
        args.append("--no-learning")
    if backend:
        args += ["--backend", backend]
    if config.limit:
        args += ["--limit", config.limit]
    images, cascade_images = scorecard_sample()
    if images:
        args += ["--scorecard-images", images, "--scorecard-cascade-images", cascade_images]
    return [str(a) for a in args]


def _write_lock(folder: Path, process: psutil.Process, stage: str, module: str = CLI_MODULE) -> None:
    runs.write_json_atomic(
        _lock_path(),
        {
            "pid": process.pid,
            "create_time": process.create_time(),
            "folder": str(folder),
            "stage": stage,
            "module": module,
            "started_at": time.time(),
        },
    )


def _acquire_lock(folder: Path) -> None:
    """Take the machine's training lock for ``folder`` (stage 'starting', held by this process)."""
    with _guard():
        job = _current_job_locked()
        if job is not None:
            if job.pid == os.getpid() or _read_lock().get("stage") == "starting":
                raise JobError("Another training run is starting right now; wait a moment, then look again.")
            raise JobError("A training run is already in progress on this machine; wait for it or cancel it.")
        _write_lock(folder, psutil.Process(), "starting")


def _release_lock(folder: Path) -> None:
    """Drop the lock if it is still ours for ``folder`` (after a start that failed)."""
    with _guard():
        lock = _read_lock() or {}
        if lock.get("folder") == str(folder) and lock.get("pid") == os.getpid():
            _lock_path().unlink(missing_ok=True)


def _spawn(folder: Path, argv: list[str], module: str = CLI_MODULE) -> Job:
    """Start ``module``'s CLI for ``folder`` (the caller holds the lock), then hand the lock to the child."""
    with open(folder / runs.LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            cwd=runs.REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # survives the app's script runs and sessions
    _children[process.pid] = process
    child = psutil.Process(process.pid)
    with _guard():
        _write_lock(folder, child, "running", module)
    return Job(process.pid, folder, time.time(), child.create_time(), module)


def run_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a new run folder (None if it can)."""
    if not name or name.startswith(".") or not all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in name):
        return "The run name may only contain letters, digits, '-', '_' and '.', and must not start with '.'."
    if len(name) > MAX_RUN_NAME:
        return f"The run name may have at most {MAX_RUN_NAME} characters; this one has {len(name)}."
    if runs.is_reserved_name(name):
        return f"The run name {name} is reserved for a shipped run; choose another."
    return None


def start_job(config: TrainConfig, name: str | None = None, option: BackendOption | None = None) -> Job:
    """Validate the settings and start a new run in the runs directory, on ``option``'s Keras backend when
    given (training.device.backend_options says which this machine offers), else on Keras's default."""
    problems = config.validate()
    if name is not None and (name_problem := run_name_problem(name)):
        problems.append(name_problem)
    if problems:
        raise JobError(" ".join(problems))
    base = runs.runs_dir()
    check_writable(base)
    name = name or time.strftime("run-%Y%m%d-%H%M%S")
    folder = base / name
    _acquire_lock(folder)  # before the folder exists, so a refused start leaves nothing behind
    created = False
    try:
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            raise JobError(f"A run named {name} already exists; choose another name or delete it first.") from None
        except OSError as exc:
            raise JobError(f"Cannot create the run folder {shown_path(folder)} ({exc.strerror or exc}).") from exc
        created = True
        argv = command_for(config, folder, option.backend if option else None)
        job = {"argv": argv, "settings": config.to_dict(), "device": option.label if option else None}
        runs.write_json_atomic(folder / JOB_FILE, job)
        runs.write_status(folder, runs.STATE_RUNNING, "Starting")
        return _spawn(folder, argv)
    except BaseException:
        _release_lock(folder)
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def resume_job(folder: Path) -> Job:
    """Continue a cancelled or failed run from its last checkpoint (same command line)."""
    folder = Path(folder)
    job = runs.read_json(folder / JOB_FILE)
    if not job:
        raise JobError(
            f"{shown_path(folder)} was not started from the app, so it cannot be resumed here; rerun its "
            "training command in a terminal instead."
        )
    if run_state(folder)["state"] == runs.STATE_COMPLETE:
        raise JobError(f"{folder.name} is already complete.")
    check_writable(folder)
    _acquire_lock(folder)
    try:
        runs.write_status(folder, runs.STATE_RUNNING, "Resuming")
        return _spawn(folder, job["argv"])
    except BaseException:
        _release_lock(folder)
        raise


def _start_analysis(folder: Path, module: str, argv: list[str], what: str) -> Job:
    """Run an analysis CLI (``module`` with ``argv``) on a complete, non-shipped run in the background,
    in the machine's one job slot."""
    folder = Path(folder)
    if runs.shipped_run_at(folder) is not None:
        raise JobError(f"The shipped runs come with their {what}; restore it with git if it is missing.")
    runs.require_complete(folder)
    check_writable(folder)
    _acquire_lock(folder)
    try:
        return _spawn(folder, ["--run", str(folder), *argv], module)
    except BaseException:
        _release_lock(folder)
        raise


def start_scorecard(folder: Path) -> Job:
    """Compute a complete run's faithfulness scorecard in the background."""
    images, cascade_images = scorecard_sample()
    argv = ["--images", str(images or APP_SCORECARD_IMAGES)]
    argv += ["--cascade-images", str(cascade_images or max(2, APP_SCORECARD_IMAGES // 5))]
    return _start_analysis(folder, SCORECARD_MODULE, argv, "scorecard")


def start_atlas(folder: Path) -> Job:
    """Compute a complete run's channel atlas in the background."""
    return _start_analysis(folder, ATLAS_MODULE, [], "channel atlas")


def start_embedding(folder: Path) -> Job:
    """Compute a complete run's feature-space map (t-SNE) in the background."""
    return _start_analysis(folder, EMBEDDING_MODULE, [], "feature-space map")


def cancel_job() -> bool:
    """Ask the running job to stop; it finishes cleanly, keeping its last epoch's checkpoint.

    The signal goes only to a process whose pid, start time and command line all match the
    lock: never to a process that merely inherited the job's pid."""
    job = current_job()
    if job is None or job.pid == os.getpid():
        return False  # no job, or one still being started by this server
    process = _process(job.pid, job.create_time)
    if process is None or not _is_job_process(process, str(job.folder), job.module):
        return False
    try:
        process.send_signal(signal.SIGTERM)  # psutil refuses if the pid was reused meanwhile
    except psutil.Error:
        return False
    return True


def wait_for(job: Job, timeout: float = 600.0) -> str:
    """Block until the job's process ends (for tests and scripts); returns the run's final state."""
    deadline = time.time() + timeout
    while time.time() < deadline and job_alive(job):
        time.sleep(0.2)
    current_job()  # clears the lock, and marks the run failed if its process could not
    return run_state(job.folder)["state"]


def job_device(folder: Path) -> str | None:
    """The backend and device an app-started run trains with, in words ('JAX on NVIDIA H200 (GPU)')."""
    job = runs.read_json(Path(folder) / JOB_FILE, default={})
    device = job.get("device") if isinstance(job, dict) else None
    return device if isinstance(device, str) else None


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
                "folder": info.folder,
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
    if runs.shipped_run_at(folder) is not None:
        raise JobError("The shipped runs cannot be deleted.")
    if folder.resolve().parent != runs.runs_dir().resolve():
        raise JobError(f"{shown_path(folder)} is not in the runs directory {shown_path(runs.runs_dir())}.")
    job = current_job()
    if job is not None and Path(job.folder).resolve() == folder.resolve():
        raise JobError("This run is still training; cancel it first.")
    shutil.rmtree(folder)
