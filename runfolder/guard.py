"""Who may write into a run folder: the one guard every command passes before it writes anything.

The shipped runs (``model/shipped``, ``baselines/original_recipe``) are read-only to every command
unless it is given ``--rebuild-shipped``, however the path is spelt (relative, ``..``, symlinks,
letter case). A command that analyses a run (``explain.scorecard``, ``explain.atlas``,
``analysis.embedding``) also needs a complete, valid run folder of *this* network that it can write
into, and one process at a time per folder (an OS file lock the OS drops when the process ends).
Every refusal is one line and exit code 2, before any work starts; nothing is written.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from dataset.fashion_mnist import DataError
from runfolder import runs, schema

REBUILD_HELP = "allow --run to name a shipped run folder and replace its committed results"


class FolderBusy(RuntimeError):
    """Another process holds the run folder's lock (it is training into it or computing an analysis)."""


@contextmanager
def folder_lock(folder: Path):
    """Held while one process writes into a run folder (training or an analysis): an OS file lock
    the OS drops when the process ends, however it ends. FolderBusy if another process holds it."""
    import filelock

    lock = filelock.FileLock(Path(folder) / runs.FOLDER_LOCK, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise FolderBusy(f"another process is writing into {folder}; wait for it to finish") from None
    try:
        yield
    finally:
        lock.release()


def shipped_problem(folder: Path, option: str, rebuild_shipped: bool) -> str | None:
    """Why a command may not write into ``folder`` because it is a shipped run (None otherwise)."""
    shipped = runs.shipped_run_at(folder)
    if shipped is None or rebuild_shipped:
        return None
    return (
        f"{option} {folder} is the shipped run '{shipped}', which is never overwritten. Use a copy or a run "
        f"of your own (for example {runs.runs_dir() / (shipped + '-retrained')}), or add --rebuild-shipped if you "
        "really mean to replace its committed results."
    )


def writable_problem(folder: Path, option: str, create: bool = False) -> str | None:
    """Why ``folder`` cannot be written (None if it can): a file where a folder belongs, no permission,
    a read-only disk. With ``create`` the folder is made first (training's --out)."""
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{option} {folder}: {existing} is a file, not a folder. Choose another {option}."
    if not create and not folder.is_dir():
        return f"{option} {folder} does not exist. Name a run folder (for example {runs.SHIPPED_RUNS['shipped']})."
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"{option} {folder} cannot be written ({exc.strerror or exc}). Choose a folder you can write to."
    return None


def analysis_problem(folder: Path, rebuild_shipped: bool = False) -> str | None:
    """Why an analysis command cannot work on ``folder`` (None if it can): a shipped run without
    --rebuild-shipped, not a folder, not writable, not a complete and valid run, or another network."""
    problem = shipped_problem(folder, "--run", rebuild_shipped) or writable_problem(folder, "--run")
    if problem:
        return problem
    try:
        runs.load_results(folder)
        schema.check_model_file(Path(folder), runs.MODEL_FILE)
    except runs.RunFolderError as exc:
        return f"--run {folder}: {exc}"
    except schema.RunFileError as exc:
        return f"--run {folder}: {exc}. It is not a run folder of this network; name one that is."
    return None


def refuse(program: str, message: str) -> int:
    """One line on stderr; exit code 2 (as argparse does for a bad option)."""
    print(f"python -m {program}: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    return 2


def run_analysis(program: str, folder: Path, rebuild_shipped: bool, work: Callable[[], object]):
    """Run ``work()`` for an analysis command once the guard lets it write into ``folder``, under the
    folder's lock. Returns (exit code, work's result or None): 2 with one line for every refusal."""
    problem = analysis_problem(folder, rebuild_shipped)
    if problem:
        return refuse(program, problem), None
    try:
        with folder_lock(folder):  # one process per run folder: two would overwrite each other's work
            return 0, work()
    except FolderBusy as exc:
        return refuse(program, f"{exc}."), None
    except runs.RunFolderError as exc:
        return refuse(program, exc), None
    except PermissionError as exc:
        return refuse(program, f"{folder} cannot be written ({exc.strerror or exc})."), None
    except DataError as exc:  # the test images are needed and not there
        return refuse(program, exc), None
