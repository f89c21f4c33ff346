"""The run folder: the contract between training and everything that shows a model.

One folder per training run::

    model.keras        the selected model (best validation accuracy), no optimizer state
    history.csv        one row per epoch: epoch, loss, accuracy, val_loss, val_accuracy,
                       learning_rate, seconds, finished_at
    metrics.json       test accuracy and loss, best epoch, per-class precision/recall/F1,
                       the 10x10 confusion matrix (rows: true class, columns: predicted)
    test_outputs.npz   probabilities (10000, 10) float32, features (10000, 250) float16
                       (the penultimate layer), labels (10000,) uint8
    architecture.json  one row per layer as in model.summary(), plus kernel sizes
    model_card.json    command line, git commit, data MD5s, settings, versions, hardware, wall time
    status.json        state (running, complete, failed, cancelled), message, updated_at
    progress.json      live progress while training (epoch, batch, seconds per epoch, ETA)
    train.log          the training process's output (runs started from the app)
    checkpoint/        resume state while a run is unfinished; removed when it completes
    .train.lock        the OS file lock of the training process that writes the folder
    faithfulness.json  optional: the saliency maps' faithfulness scorecard (explain/scorecard.py)
    embedding.npz      optional: the test images' t-SNE map of the network's features (analysis/embedding.py)
    snapshots/         the weights and test answers at the scheduled epochs (training/snapshots.py); not committed
    learning.npz       optional: the training's story from the snapshots (explain/learning.py)

A run is *complete* when status.json says so and every result file is present;
only complete runs are offered to the pages. Every file is written atomically
(a temporary file in the same folder, then ``os.replace``), so a reader never
sees half a file. This module needs numpy and pandas only (no TensorFlow).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import schema

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
OUTPUTS_FILE = "test_outputs.npz"
ARCHITECTURE_FILE = "architecture.json"
CARD_FILE = "model_card.json"
STATUS_FILE = "status.json"
PROGRESS_FILE = "progress.json"
LOG_FILE = "train.log"
CHECKPOINT_DIR = "checkpoint"
EMBEDDING_FILE = "embedding.npz"  # the test images' 2-D feature-space map (analysis.embedding); optional
EMBEDDING_PROGRESS_FILE = ".embedding.progress.json"  # while the map is computed
FAITHFULNESS_FILE = "faithfulness.json"  # the maps' scorecard (explain.scorecard); optional
ATLAS_FILE = "atlas.npz"  # every convolution channel: top images, class means, visualisation, knock-out (explain.atlas)
ATLAS_PARTIAL_FILE = ".atlas.partial.npz"  # the layers done so far, while the atlas is computed
ATLAS_PROGRESS_FILE = ".atlas.progress.json"
SCORECARD_PARTIAL_FILE = ".faithfulness.partial.npz"  # per-image results so far, while it is computed
SCORECARD_PROGRESS_FILE = ".faithfulness.progress.json"
DEFAULT_MAPS_FILE = "default_maps.npz"  # the default map and per-image test of every test image (explain.default_maps)
DEFAULT_MAPS_PARTIAL_FILE = ".default_maps.partial.npz"
DEFAULT_MAPS_PROGRESS_FILE = ".default_maps.progress.json"
SNAPSHOTS_DIR = "snapshots"  # weights and test answers at the scheduled epochs (training.snapshots); not committed
LEARNING_FILE = "learning.npz"  # how answers, features and maps formed over the epochs (explain.learning)
LEARNING_PARTIAL_FILE = ".learning.partial.npz"
LEARNING_PROGRESS_FILE = ".learning.progress.json"
FOLDER_LOCK = ".train.lock"  # held (an OS file lock) by the one training process writing the folder
RESULT_FILES = (MODEL_FILE, HISTORY_FILE, METRICS_FILE, OUTPUTS_FILE, ARCHITECTURE_FILE, CARD_FILE)
HISTORY_COLUMNS = (
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "learning_rate",
    "seconds",
    "finished_at",
)

# The run folders shipped with the project, in the order the app offers them.
SHIPPED_RUNS = {
    "shipped": REPO_ROOT / "model" / "shipped",
    "original-recipe": REPO_ROOT / "baselines" / "original_recipe",
}
SHIPPED_LABELS = {"shipped": "Shipped model", "original-recipe": "Original recipe (comparison)"}
DEFAULT_RUN = "shipped"
RUNS_DIR_ENV = "TGN_RUNS_DIR"

STATE_RUNNING = "running"
STATE_COMPLETE = "complete"
STATE_FAILED = "failed"
STATE_CANCELLED = "cancelled"


class RunFolderError(RuntimeError):
    """A run folder is missing or incomplete; the message names it and how to recreate it."""


def runs_dir() -> Path:
    """Where new runs go: $TGN_RUNS_DIR, else ./runs in the repository."""
    return Path(os.environ.get(RUNS_DIR_ENV) or REPO_ROOT / "runs")


def _same_place(a: Path, b: Path) -> bool:
    """True when two paths name one folder, however spelt (relative, '..', symlinks, letter case)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # case-insensitive file systems, hard links, mounts
    except OSError:
        return False


def shipped_run_at(folder: Path) -> str | None:
    """The shipped run that ``folder`` is, or lies inside, if any (None for every other folder)."""
    folder = Path(folder)
    for name, shipped in SHIPPED_RUNS.items():
        if any(_same_place(place, shipped) for place in (folder, *folder.resolve().parents)):
            return name
    return None


def is_reserved_name(name: str) -> bool:
    """Names a new run may not take: they are the shipped runs' names or labels in the run selector."""
    reserved = {n.casefold() for n in (*SHIPPED_RUNS, *SHIPPED_LABELS.values())}
    return name.strip().casefold() in reserved


# --------------------------------------------------------------------------- writing


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (a scorecard records its model file's, so a retrained model is noticed)."""
    from dataset.fashion_mnist import file_digest

    return file_digest(path, "sha256")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; run folders are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, obj) -> None:
    write_bytes_atomic(path, json.dumps(obj, indent=2, default=_json_default).encode())


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_npz_atomic(path: Path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())


def write_history(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomic(path, buffer.getvalue().encode())


def read_history_rows(path: Path) -> list[dict]:
    """History rows as dicts of floats (epoch as int); empty when the file does not exist."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v not in (None, "")} for row in rows]


def write_status(folder: Path, state: str, message: str = "", **extra) -> None:
    write_json_atomic(
        Path(folder) / STATUS_FILE, {"state": state, "message": message, "updated_at": time.time(), **extra}
    )


def read_json(path: Path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_status(folder: Path) -> dict:
    return read_json(Path(folder) / STATUS_FILE, default={}) or {}


# --------------------------------------------------------------------------- metrics


def confusion_counts(labels: np.ndarray, predictions: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """10x10 counts; rows are true classes, columns predicted classes."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return counts


def per_class_scores(confusion: np.ndarray) -> dict[str, list[float]]:
    """Precision, recall, F1 and support per class from a confusion matrix."""
    confusion = np.asarray(confusion, dtype=np.float64)
    true_positives = np.diag(confusion)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": actual.astype(int).tolist(),
    }


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class RunInfo:
    """A run folder as listed in the run selector."""

    name: str
    folder: Path
    shipped: bool
    state: str
    message: str = ""
    model_problem: str = ""  # why model.keras cannot be a Keras model (pages without the model still work)

    @property
    def complete(self) -> bool:
        return self.state == STATE_COMPLETE


def inspect_run(name: str, folder: Path, shipped: bool = False) -> RunInfo:
    folder = Path(folder)
    status = read_status(folder)
    state = status.get("state", "")
    message = status.get("message", "")
    missing = [f for f in RESULT_FILES if not (folder / f).is_file()]
    if not folder.is_dir():
        state, message = "missing", f"Run folder {folder} does not exist."
    elif state == STATE_COMPLETE and missing:
        state, message = "incomplete", f"Run folder {folder} lacks {', '.join(missing)}."
    elif not state:
        state, message = "incomplete", f"Run folder {folder} has no {STATUS_FILE}."
    model_problem = _model_problem(folder / MODEL_FILE, _stamp(folder / MODEL_FILE)) if state == STATE_COMPLETE else ""
    return RunInfo(name=name, folder=folder, shipped=shipped, state=state, message=message, model_problem=model_problem)


def _stamp(path: Path) -> tuple | None:
    try:
        info = path.stat()
        return info.st_mtime_ns, info.st_size, info.st_ino
    except OSError:
        return None


@functools.lru_cache(maxsize=64)
def _model_problem(path: Path, stamp: tuple | None) -> str:
    """Why the model file cannot be used ('' if it can); checked once per version of the file (every page
    lists the runs on every rerun)."""
    try:
        schema.check_model_file(path.parent, path.name)
    except schema.RunFileError as exc:
        return str(exc)
    return ""


def list_runs(include_unfinished: bool = False) -> list[RunInfo]:
    """The shipped runs, then the runs in runs_dir() newest first; every name is unique.

    By default only complete runs are returned, so nothing half-written is offered. A
    folder in runs_dir() that carries a shipped run's name (made by hand or by an old
    version) is listed as ``runs/<name>``, so it can neither hide nor be hidden by the
    shipped run.
    """
    runs = [inspect_run(name, folder, shipped=True) for name, folder in SHIPPED_RUNS.items()]
    base = runs_dir()
    if base.is_dir():
        folders = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
        folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        runs += [inspect_run(f"{base.name}/{p.name}" if is_reserved_name(p.name) else p.name, p) for p in folders]
    return [r for r in runs if include_unfinished or r.complete]


def run_label(info: RunInfo) -> str:
    """The run as the selector shows it; a run whose model file is broken says so."""
    label = SHIPPED_LABELS.get(info.name, info.name) if info.shipped else info.name
    return f"{label} (model file unreadable)" if info.model_problem else label


def _shown(folder: Path) -> str:
    try:
        return str(Path(folder).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(folder)


def recreate_command(folder: Path) -> str:
    """A training command that makes this run again. Never one that writes into a shipped run:
    for those it trains into a new folder under runs/ (restore_advice says how to get the original back)."""
    shipped = shipped_run_at(folder)
    if shipped is not None:
        extra = " --recipe original" if shipped == "original-recipe" else ""
        return f"python -m training.train{extra} --out {_shown(runs_dir() / (shipped + '-retrained'))}"
    return f"python -m training.train --out {_shown(folder)} --force"


def restore_advice(folder: Path) -> str:
    """What to do about a broken run folder, as Markdown: restore a shipped run from git, else retrain."""
    if shipped_run_at(folder) is not None:
        return (
            f"Restore it with `git checkout -- {_shown(folder)}`, or train a new run with "
            f"`{recreate_command(folder)}` (about 30 minutes on 2 CPU cores)."
        )
    return f"Recreate it with `{recreate_command(folder)}`, or delete it."


def require_complete(folder: Path) -> None:
    info = inspect_run(Path(folder).name, folder)
    if not info.complete:
        raise RunFolderError(f"{info.message or f'Run folder {folder} is {info.state}.'} {restore_advice(folder)}")


@dataclass
class RunResults:
    """Everything the TensorFlow-free pages show, read from one complete run folder."""

    folder: Path
    metrics: dict
    probabilities: np.ndarray
    labels: np.ndarray
    architecture: list[dict]
    card: dict

    @functools.cached_property
    def history(self):
        """history.csv as a pandas DataFrame (checked when the run was read; pandas imported only here)."""
        return schema.read_history(self.folder, HISTORY_FILE)

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def confusion(self) -> np.ndarray:
        return np.asarray(self.metrics["confusion_matrix"])


def load_results(folder: Path) -> RunResults:
    """Read and validate a complete run folder (training.schema); RunFolderError naming the
    file and the problem otherwise, so every page shows one clear message instead of crashing."""
    folder = Path(folder)
    require_complete(folder)
    try:
        metrics = schema.read_metrics(folder, METRICS_FILE)
        probabilities, labels = schema.read_outputs(folder, OUTPUTS_FILE)
        schema.check_consistency(metrics, probabilities, labels, OUTPUTS_FILE)
        schema.check_history(folder, HISTORY_FILE, HISTORY_COLUMNS[:6])
        architecture = schema.read_architecture(folder, ARCHITECTURE_FILE)
        card = schema.read_card(folder, CARD_FILE)
    except schema.RunFileError as exc:
        raise RunFolderError(f"Run folder {folder} is corrupt: {exc}. {restore_advice(folder)}") from exc
    return RunResults(folder, metrics, probabilities, labels, architecture, card)


def load_features(folder: Path) -> np.ndarray:
    with np.load(Path(folder) / OUTPUTS_FILE) as outputs:
        return outputs["features"].astype(np.float32)
