"""Train Tiny GoogLeNet on Fashion-MNIST and write a run folder.

    python -m training.train                        # the shipped model's recipe (30 epochs)
    python -m training.train --recipe original      # the original notebook's recipe, defects fixed
    python -m training.train --epochs 1 --limit 512 --out /tmp/smoke

Rerunning the same command after an interruption (Ctrl-C, a kill, a reboot)
resumes from the last complete epoch. See runfolder/runs.py for the folder format.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

# Keras warns that fit(shuffle=True) is ignored for an endless dataset; ours shuffles itself (training.data).
warnings.filterwarnings("ignore", message=".*shuffle=True.*")

# oneDNN is off by default on some CPUs and measured 1.8x faster here; it must be
# set before TensorFlow is imported. A user's own setting wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from dataset.fashion_mnist import CLASS_NAMES, NUM_CLASSES, DataError, data_md5s, load_split, to_model_input  # noqa: E402
from runfolder import guard, runs  # noqa: E402

from .checkpoint import CheckpointWriteError, is_disk_full, make_backup_callback, save_weights_atomic  # noqa: E402
from .config import OPTIMIZERS, TrainConfig  # noqa: E402
from .data import make_stream_start_callback  # noqa: E402
from .device import cpu_model  # noqa: E402
from .paths import shown_path  # noqa: E402
from .snapshots import make_snapshot_callback  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")  # Keras backends the CLI accepts (torch untested here)
VALIDATION_SPLIT_SEED = 20240501  # fixed, so runs with different seeds share one validation split
PROGRESS_INTERVAL_S = 1.0


class TrainingCancelled(Exception):
    """Raised by the SIGTERM handler so the run stops cleanly with a resumable checkpoint."""


class _Cancellation:
    """A SIGTERM (the Retrain page's Cancel) while files are being written must not interrupt the write: an
    exception raised inside h5py's save of a checkpoint came out as another error, and the run was marked
    failed instead of cancelled. So while ``deferred`` the handler only records the request, and training stops
    at the next batch's end (CancelAtBatchEnd), a safe point; otherwise it stops at once."""

    requested = False
    deferred = False


def _raise_cancelled(signum, frame):
    _Cancellation.requested = True
    if not _Cancellation.deferred:
        raise TrainingCancelled()


@contextlib.contextmanager
def _cancel_deferred():
    """While files are written (inside fit, and the results after it), a cancel only records its request."""
    _Cancellation.deferred = True
    try:
        yield
    finally:
        _Cancellation.deferred = False


def make_cancel_callback():
    import keras

    class CancelAtBatchEnd(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if _Cancellation.requested:
                raise TrainingCancelled()

        def on_epoch_end(self, epoch, logs=None):  # after the epoch's checkpoint and snapshot (callbacks before)
            if _Cancellation.requested:
                raise TrainingCancelled()

    return CancelAtBatchEnd()


# --------------------------------------------------------------------------- command line


def parse_args(argv=None) -> tuple[TrainConfig, argparse.Namespace]:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--recipe",
        choices=("shipped", "original"),
        default="shipped",
        help="base settings: the shipped model's recipe, or the original notebook's (default: shipped)",
    )
    p.add_argument("--epochs", type=int, help=f"number of epochs (default {defaults.epochs})")
    p.add_argument("--batch-size", type=int, help=f"batch size (default {defaults.batch_size})")
    p.add_argument(
        "--learning-rate", "--lr", type=float, help=f"peak learning rate (default {defaults.learning_rate:g})"
    )
    p.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help=f"adamw, rmsprop or sgd (Nesterov momentum 0.9) (default {defaults.optimizer})",
    )
    p.add_argument(
        "--weight-decay", type=float, help=f"decoupled weight decay, AdamW or SGD (default {defaults.weight_decay:g})"
    )
    p.add_argument(
        "--ema",
        type=float,
        dest="ema_momentum",
        help=f"momentum of the weights' moving average, 0 for none (default {defaults.ema_momentum:g})",
    )
    p.add_argument("--label-smoothing", type=float, help=f"label smoothing (default {defaults.label_smoothing:g})")
    p.add_argument(
        "--augment",
        dest="augment",
        action="store_true",
        default=None,
        help=f"augmentation on (default: {defaults.augmentation_summary()})",
    )
    p.add_argument("--no-augment", dest="augment", action="store_false", help="turn augmentation off")
    p.add_argument(
        "--erasing",
        type=float,
        dest="erasing_probability",
        help=f"random-erasing probability (default {defaults.erasing_probability:g})",
    )
    p.add_argument(
        "--shift",
        type=int,
        dest="shift_pixels",
        help=f"largest random shift in pixels, 0 for none (default {defaults.shift_pixels})",
    )
    p.add_argument("--seed", type=int, help=f"random seed (default {defaults.seed})")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        help="Keras backend to train on (default: $KERAS_BACKEND, else Keras's own default, TensorFlow); "
        "jax compiles the whole step with XLA and is the fast one on a GPU",
    )
    p.add_argument(
        "--val-size",
        type=int,
        help="validation images taken from the training set (default 5000, or a tenth of --limit)",
    )
    p.add_argument("--limit", type=int, help="use only the first N training images (smoke tests)")
    p.add_argument("--out", type=Path, help="run folder (default: a folder under runs/ named after the settings)")
    p.add_argument("--force", action="store_true", help="overwrite a completed run in --out")
    p.add_argument(
        "--scorecard-images",
        type=int,
        default=0,
        help="after training, score the saliency maps' faithfulness on this many test images (0: no scorecard)",
    )
    p.add_argument(
        "--scorecard-cascade-images", type=int, default=20, help="images for the scorecard's randomisation check"
    )
    p.add_argument(
        "--no-learning",
        dest="learning",
        action="store_false",
        help="after training, do not build the training's story (learning.npz) from the snapshots",
    )
    p.add_argument(
        "--rebuild-shipped",
        action="store_true",
        help="allow --out to name a shipped run folder (model/shipped, baselines/original_recipe) and replace it",
    )
    args = p.parse_args(argv)

    config = TrainConfig.original_recipe() if args.recipe == "original" else TrainConfig()
    for field in dataclasses.fields(config):  # every setting the command line names overrides the recipe
        value = getattr(args, field.name, None)
        if value is not None:
            setattr(config, field.name, value)
    if not config.augment:
        config.erasing_probability = 0.0
    problems = config.validate()
    if problems:
        p.error(" ".join(problems))
    if args.backend:
        choose_backend(args.backend)
    if args.out is None:
        args.out = runs.runs_dir() / default_run_name(config, args.recipe)
    # One guard for every command that writes into a run folder (runfolder.guard).
    problem = guard.shipped_problem(args.out, "--out", args.rebuild_shipped) or guard.writable_problem(
        args.out, "--out", create=True
    )
    if problem:
        fail(problem)
    return config, args


def choose_backend(backend: str) -> None:
    """Make Keras use ``backend``: it reads $KERAS_BACKEND once, when it is first imported."""
    import importlib.util

    if importlib.util.find_spec(backend) is None:  # one line now, not a traceback after the folder is made
        fail(f"--backend {backend}: {backend} is not installed in this Python environment.")
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != backend:
        fail(f"--backend {backend}: Keras is already running on {loaded.backend.backend()} in this process.")
    os.environ["KERAS_BACKEND"] = backend


def fail(message: str) -> None:
    """One line on stderr and exit code 2, as argparse does for a bad option (no traceback)."""
    print(f"python -m training.train: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def default_run_name(config: TrainConfig, recipe: str) -> str:
    """Deterministic, so rerunning the same command finds the same folder and resumes."""
    parts = [
        recipe,
        f"e{config.epochs}",
        f"b{config.batch_size}",
        f"lr{config.learning_rate:g}",
        f"aug-sh{config.shift_pixels}-er{config.erasing_probability:g}" if config.augment else "noaug",
        f"s{config.seed}",
    ]
    if config.limit:
        parts.append(f"n{config.limit}")
    return "-".join(parts)


# --------------------------------------------------------------------------- data


def split_train_validation(images, labels, config: TrainConfig):
    import numpy as np

    if config.limit:
        images, labels = images[: config.limit], labels[: config.limit]
    order = np.random.default_rng(VALIDATION_SPLIT_SEED).permutation(len(labels))
    val_idx, train_idx = order[: config.effective_val_size], order[config.effective_val_size :]
    return (images[train_idx], labels[train_idx]), (images[val_idx], labels[val_idx])


def make_dataset(images, labels, config: TrainConfig, training: bool):
    """uint8 arrays -> batches of float32 (N, 28, 28, 1) in [0, 1] and one-hot labels, augmented in NumPy
    when training (training.data). Backend-independent: no tf.data, so JAX and PyTorch can train too.
    The training stream is endless: give fit() ``steps_per_epoch``."""
    from .data import make_batches

    return make_batches(images, labels, config, training)


# --------------------------------------------------------------------------- model and optimiser


def make_optimizer(config: TrainConfig, steps_per_epoch: int):
    import keras

    total_steps = config.epochs * steps_per_epoch
    if config.schedule == "cosine":
        warmup = int(min(config.warmup_epochs, config.epochs / 10) * steps_per_epoch)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else config.learning_rate,
            decay_steps=max(total_steps - warmup, 1),
            warmup_target=config.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    else:
        learning_rate = config.learning_rate
    # Keras keeps the moving average inside the optimizer, so the checkpoint (training.checkpoint) saves and resumes it.
    momentum = config.ema_momentum_for(total_steps)
    ema = dict(use_ema=True, ema_momentum=momentum) if momentum else {}
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate, **ema)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(
            learning_rate=learning_rate, momentum=0.9, nesterov=True, weight_decay=config.weight_decay or None, **ema
        )
    return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=config.weight_decay, **ema)


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and Keras (weight initialisation, dropout).

    keras.utils.set_random_seed also seeds TensorFlow whenever it is installed, importing it (seconds
    and about 500 MB) into a run on another backend; there TensorFlow is marked unavailable to Keras
    first, so a JAX run never imports it (the project's test checks this). TensorFlow is the only
    thing it would seed there, and nothing of a JAX or PyTorch run uses it."""
    import keras

    if keras.backend.backend() != "tensorflow":
        from keras.src.utils import module_utils  # Keras 3's lazy TensorFlow handle (pinned Keras)

        module_utils.tensorflow._available = False
    keras.utils.set_random_seed(seed)


def current_learning_rate(optimizer) -> float:
    import numpy as np

    return float(np.asarray(optimizer.learning_rate))


# --------------------------------------------------------------------------- callbacks


def make_recorder_class():
    import keras

    class RunRecorder(keras.callbacks.Callback):
        """Per-epoch history, best-on-validation weights and live progress, all resumable."""

        def __init__(self, folder: Path, config: TrainConfig, steps_per_epoch: int):
            super().__init__()
            self.folder = folder
            self.checkpoint = folder / runs.CHECKPOINT_DIR
            self.config = config
            self.steps_per_epoch = steps_per_epoch
            self.rows = runs.read_history_rows(folder / runs.HISTORY_FILE)
            self.best_accuracy, self.best_epoch = -1.0, 0
            self.resumed_from = None
            self._last_progress = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            if self.resumed_from is None:
                # The backup callback has set the start epoch by now; drop any history the
                # interrupted run wrote after its last checkpoint. The best epoch so far is read from the
                # history kept (its weights are saved by BestWeights, which catches up if it was cut short).
                self.resumed_from = epoch
                self.rows = [r for r in self.rows if r["epoch"] <= epoch]
                for row in self.rows:
                    if row["val_accuracy"] > self.best_accuracy:
                        self.best_accuracy, self.best_epoch = row["val_accuracy"], row["epoch"]
                if epoch > 0:
                    print(f"Resuming from the checkpoint after epoch {epoch} of {self.config.epochs}.", flush=True)
            self.epoch_started = time.time()
            self._write_progress(epoch, 0)

        def on_train_batch_end(self, batch, logs=None):
            now = time.time()
            if now - self._last_progress >= PROGRESS_INTERVAL_S:
                self._write_progress(len(self.rows), batch + 1)  # rows = epochs completed

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            row = {
                "epoch": epoch + 1,
                "loss": float(logs.get("loss", float("nan"))),
                "accuracy": float(logs.get("accuracy", float("nan"))),
                "val_loss": float(logs.get("val_loss", float("nan"))),
                "val_accuracy": float(logs.get("val_accuracy", float("nan"))),
                "learning_rate": current_learning_rate(self.model.optimizer),
                "seconds": time.time() - self.epoch_started,
                "finished_at": time.time(),
            }
            self.rows = [r for r in self.rows if r["epoch"] < epoch + 1] + [row]
            if row["val_accuracy"] > self.best_accuracy:
                self.best_accuracy, self.best_epoch = row["val_accuracy"], epoch + 1
            runs.write_history(self.folder / runs.HISTORY_FILE, self.rows)
            self._write_progress(epoch + 1, 0)

        def _write_progress(self, epochs_done: int, batch: int):
            self._last_progress = time.time()
            seconds = [r["seconds"] for r in self.rows]
            per_epoch = seconds[-1] if seconds else None
            if per_epoch is None and batch:
                per_epoch = (time.time() - self.epoch_started) / batch * self.steps_per_epoch
            remaining = self.config.epochs - epochs_done - (batch / self.steps_per_epoch)
            runs.write_json_atomic(
                self.folder / runs.PROGRESS_FILE,
                {
                    "epochs_done": epochs_done,
                    "epochs": self.config.epochs,
                    "batch": batch,
                    "batches": self.steps_per_epoch,
                    "seconds_per_epoch": per_epoch,
                    "eta_seconds": None if per_epoch is None else max(remaining, 0) * per_epoch,
                    "pid": os.getpid(),
                    "updated_at": time.time(),
                },
            )

    class BestWeights(keras.callbacks.Callback):
        """Saves the best epoch's weights (after the moving-average swap: the weights validation saw). The
        history row comes first, then the resume checkpoint, then this: a run stopped between the checkpoint
        and this save saves them on resume, from the checkpoint (weights and their moving average)."""

        def __init__(self, recorder):
            super().__init__()
            self.recorder = recorder
            self.checkpoint = recorder.checkpoint
            self.resumed_checked = False

        def on_epoch_begin(self, epoch, logs=None):
            if self.resumed_checked:
                return
            self.resumed_checked = True
            saved = (runs.read_json(self.checkpoint / "best.json", default={}) or {}).get("epoch")
            if epoch and self.recorder.best_epoch == epoch and saved != epoch:
                swap = keras.callbacks.SwapEMAWeights() if self.model.optimizer.use_ema else None
                if swap is not None:
                    swap.set_model(self.model)
                    swap.on_test_begin()
                self._save()
                if swap is not None:
                    swap.on_test_end()

        def on_epoch_end(self, epoch, logs=None):
            if self.recorder.best_epoch == epoch + 1:
                self._save()

        def _save(self):
            save_weights_atomic(self.model, self.checkpoint / "best.weights.h5")
            runs.write_json_atomic(
                self.checkpoint / "best.json",
                {"epoch": self.recorder.best_epoch, "val_accuracy": self.recorder.best_accuracy},
            )

    return RunRecorder, BestWeights


# --------------------------------------------------------------------------- results


def architecture_rows(model) -> list[dict]:
    """model.summary()'s table as data: layer, type, output shape, params, connected to, kernel."""
    from model import inbound_layer_names

    rows = []
    for layer in model.layers:
        config = layer.get_config()
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": list(layer.output.shape[1:]),
                "params": int(layer.count_params()),
                "trainable_params": int(sum(int(w.numpy().size) for w in layer.trainable_weights)),
                "connected_to": inbound_layer_names(layer),
                "kernel_size": list(config["kernel_size"]) if "kernel_size" in config else None,
                "filters": config.get("filters"),
            }
        )
    return rows


def backend_devices(backend: str) -> list[str]:
    """Names of the GPUs the backend trains on (empty: the CPU). Asks only the backend in use, so a
    JAX run never imports TensorFlow."""
    if backend == "tensorflow":
        import tensorflow as tf

        return [
            tf.config.experimental.get_device_details(d).get("device_name", d.name)
            for d in tf.config.list_physical_devices("GPU")
        ]
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def hardware_description() -> dict:
    import keras

    backend = keras.backend.backend()
    gpus = backend_devices(backend)
    return {
        "device": gpus[0] if gpus else "CPU",
        "gpus": gpus,
        "backend": backend,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS") if backend == "tensorflow" else None,
    }


def git_commit() -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=runs.REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=runs.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def library_versions() -> dict:
    """Python, Keras, NumPy and the backend's library (only the one in use is imported)."""
    import importlib

    import keras
    import numpy as np

    backend = keras.backend.backend()
    return {
        "python": platform.python_version(),
        "keras_backend": backend,
        backend: importlib.import_module(backend).__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def save_model_atomic(model, path: Path) -> None:
    """Save weights into a fresh, uncompiled copy: Keras 3 would otherwise store the optimizer."""
    from model import build_tiny_googlenet

    inference_model = build_tiny_googlenet()
    inference_model.set_weights(model.get_weights())
    tmp = path.with_name(".tmp-" + path.name)  # Keras requires the .keras suffix
    inference_model.save(tmp)
    os.replace(tmp, path)


def write_results(folder: Path, model, config: TrainConfig, test, recorder, argv, wall_seconds, data_dir, commit):
    import keras
    import numpy as np

    from model import PENULTIMATE

    x_test = to_model_input(test.images)
    both = keras.Model(model.input, [model.output, model.get_layer(PENULTIMATE).output])
    probabilities, features = both.predict(x_test, batch_size=500, verbose=0)
    predictions = probabilities.argmax(axis=1)
    confusion = runs.confusion_counts(test.labels, predictions)
    test_loss = float(
        keras.ops.convert_to_numpy(  # a tf.Tensor, jax.Array or torch.Tensor, depending on the backend
            keras.losses.categorical_crossentropy(keras.utils.to_categorical(test.labels, NUM_CLASSES), probabilities)
        ).mean()
    )
    metrics = {
        "test_accuracy": float((predictions == test.labels).mean()),
        "test_loss": test_loss,
        "test_images": int(len(test.labels)),
        "best_epoch": recorder.best_epoch,
        "best_val_accuracy": recorder.best_accuracy,
        "epochs": config.epochs,
        "class_names": list(CLASS_NAMES),
        "per_class": runs.per_class_scores(confusion),
        "confusion_matrix": confusion.tolist(),
    }
    runs.write_npz_atomic(
        folder / runs.OUTPUTS_FILE,
        probabilities=probabilities.astype(np.float32),
        features=features.astype(np.float16),
        labels=test.labels.astype(np.uint8),
    )
    save_model_atomic(model, folder / runs.MODEL_FILE)
    runs.write_json_atomic(folder / runs.ARCHITECTURE_FILE, architecture_rows(model))
    runs.write_json_atomic(
        folder / runs.CARD_FILE,
        {
            "model": "Tiny GoogLeNet",
            "command": "python -m training.train " + shlex.join(argv),
            "git_commit": commit,
            "settings": config.to_dict(),
            "validation_split_seed": VALIDATION_SPLIT_SEED,
            "train_images": int(config.limit or 60_000) - config.effective_val_size,
            "validation_images": config.effective_val_size,
            "data_md5": data_md5s(Path(data_dir)),
            "versions": library_versions(),
            "hardware": hardware_description(),
            "wall_seconds": wall_seconds,
            "parameters": int(model.count_params()),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    runs.write_json_atomic(folder / runs.METRICS_FILE, metrics)
    return metrics


# --------------------------------------------------------------------------- main


def prepare_folder(folder: Path, config: TrainConfig, force: bool) -> None:
    """Refuse to clobber a finished run or to resume with other settings."""
    status = runs.read_status(folder)
    saved = runs.read_json(folder / runs.CHECKPOINT_DIR / "config.json")
    if status.get("state") == runs.STATE_COMPLETE and not force:
        raise SystemExit(f"{folder} already holds a complete run. Use another --out, or --force to overwrite it.")
    if saved is not None and saved != config.to_dict():
        if not force:
            raise SystemExit(
                f"{folder} holds an unfinished run with other settings ({saved}). Rerun it with the same "
                "options to resume, use another --out, or add --force to start over."
            )
    if force:
        for name in (runs.CHECKPOINT_DIR, runs.SNAPSHOTS_DIR):
            shutil.rmtree(folder / name, ignore_errors=True)
        stale = (runs.FAITHFULNESS_FILE, runs.SCORECARD_PARTIAL_FILE, runs.SCORECARD_PROGRESS_FILE)
        stale += (runs.LEARNING_FILE, runs.LEARNING_PARTIAL_FILE, runs.LEARNING_PROGRESS_FILE)
        for name in (runs.HISTORY_FILE, runs.PROGRESS_FILE, runs.STATUS_FILE) + runs.RESULT_FILES + stale:
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    runs.write_json_atomic(folder / runs.CHECKPOINT_DIR / "config.json", config.to_dict())


def train(config: TrainConfig, folder: Path, argv=(), force: bool = False) -> dict:
    """Train (or resume) one run into ``folder`` and return its metrics."""
    folder = Path(folder)
    prepare_folder(folder, config, force)
    runs.write_status(folder, runs.STATE_RUNNING, "Loading data", pid=os.getpid())
    started = time.time()
    commit = git_commit()  # the code that starts the run, not whatever is checked out when it ends
    try:
        train_split = load_split("train")
        test = load_split("test")
    except DataError as exc:
        runs.write_status(folder, runs.STATE_FAILED, str(exc))
        raise

    import keras

    from model import build_tiny_googlenet

    set_random_seed(config.seed)
    (x_train, y_train), (x_val, y_val) = split_train_validation(train_split.images, train_split.labels, config)
    train_batches = make_dataset(x_train, y_train, config, training=True)
    steps_per_epoch = train_batches.steps_per_epoch
    model = build_tiny_googlenet()
    optimizer = make_optimizer(config, steps_per_epoch)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    recorder_class, best_class = make_recorder_class()
    recorder = recorder_class(folder, config, steps_per_epoch)
    callbacks = [
        # The history row first: once the resume checkpoint of an epoch exists, so does its row.
        recorder,
        # The backup before the swap, so that it holds the raw weights, which training resumes from.
        make_backup_callback(folder / runs.CHECKPOINT_DIR / "backup"),
        # After the backup, which sets the epoch a resumed run starts at: the batches continue from it.
        make_stream_start_callback(train_batches),
    ]
    if optimizer.use_ema:
        # Validation, the best-epoch checkpoint and so the shipped model use the averaged weights.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    # After the moving-average swap: the best weights and the snapshots hold the weights validation saw.
    callbacks.append(best_class(recorder))
    callbacks.append(make_snapshot_callback(folder, config.epochs, to_model_input(test.images)))
    callbacks.append(make_cancel_callback())  # last: a cancel stops after the epoch's files are written
    print(
        f"Training Tiny GoogLeNet on {len(y_train)} images, validating on {len(y_val)}, with Keras on "
        f"{keras.backend.backend()}; run folder {shown_path(folder)}",
        flush=True,
    )
    runs.write_status(folder, runs.STATE_RUNNING, "Training", pid=os.getpid())
    with _cancel_deferred():  # checkpoints and snapshots are written inside fit: stop between batches
        model.fit(
            train_batches,
            steps_per_epoch=steps_per_epoch,
            shuffle=False,  # the batches are shuffled by epoch and seed (training.data)
            validation_data=make_dataset(x_val, y_val, config, training=False),
            epochs=config.epochs,
            callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2,
        )
    if _Cancellation.requested:  # asked after the last epoch's end (the caller records 'cancelled')
        raise TrainingCancelled()

    best = folder / runs.CHECKPOINT_DIR / "best.weights.h5"
    if best.is_file():
        model.load_weights(best)
    print(
        f"Evaluating epoch {recorder.best_epoch} (best validation accuracy "
        f"{recorder.best_accuracy:.4f}) on the {len(test)} test images.",
        flush=True,
    )
    previous_seconds = sum(r["seconds"] for r in recorder.rows)
    wall = max(previous_seconds, time.time() - started)
    with _cancel_deferred():  # the model file and results are written whole: a cancel now comes too late
        metrics = write_results(folder, model, config, test, recorder, list(argv), wall, test.source, commit)
        runs.write_status(folder, runs.STATE_COMPLETE, f"Test accuracy {metrics['test_accuracy']:.4f}")
    (folder / runs.PROGRESS_FILE).unlink(missing_ok=True)
    shutil.rmtree(folder / runs.CHECKPOINT_DIR, ignore_errors=True)
    print(
        f"Test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f}. "
        f"Run folder: {shown_path(folder)}",
        flush=True,
    )
    return metrics


def score_maps(folder: Path, images: int, cascade_images: int) -> None:
    """The run's faithfulness scorecard (explain.scorecard), after training. The run is complete and
    usable meanwhile; a failure here leaves it so (the scorecard can be computed later on the page)."""
    from explain import scorecard

    print(f"Scoring the saliency maps' faithfulness on {images} test images…", flush=True)
    try:
        scorecard.compute(folder, min(images, 10_000), max(1, min(cascade_images, images)))
    except (TrainingCancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # the model is trained and saved: do not fail the run for its scorecard
        print(f"The scorecard failed ({type(exc).__name__}: {exc}); compute it later on the trust page.", flush=True)


def tell_story(folder: Path) -> None:
    """The training's story (explain.learning: learning.npz) from the snapshots, after the scorecard so that its
    maps are the run's default. Needs TensorFlow (the maps); a failure leaves the run complete without it."""
    if not scores_in_process():  # (checked first: on JAX even looking for TensorFlow is not wanted)
        print(
            "The training's story (learning.npz) needs TensorFlow for its maps: build it later with "
            f"python -m explain.learning --run {shown_path(folder)} where TensorFlow is installed.",
            flush=True,
        )
        return
    from explain import learning

    print("Building the training's story from the snapshots…", flush=True)
    try:
        learning.compute(folder)
    except (TrainingCancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # the model is trained and saved: do not fail the run for its story
        print(f"The training's story failed ({type(exc).__name__}: {exc}); build it later.", flush=True)


def scores_in_process() -> bool:
    """The scorecard (tf-keras-vis) runs on TensorFlow only: in this process when Keras runs on it."""
    import keras

    return keras.backend.backend() == "tensorflow"


def score_maps_in_tensorflow(folder: Path, images: int, cascade_images: int, rebuild_shipped: bool) -> int:
    """The scorecard of a run trained on another backend (JAX), computed by ``python -m explain.scorecard``
    in a TensorFlow process, once this process has let go of the folder's lock (the command takes it).
    Where TensorFlow is not installed (a GPU machine with JAX only) the run stays complete without one."""
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        print(
            "The saliency maps' scorecard needs TensorFlow (tf-keras-vis supports only it), which is not "
            "installed here; compute it later where it is (the trust page, or python -m explain.scorecard).",
            flush=True,
        )
        return 0
    images = min(images, 10_000)
    command = [sys.executable, "-m", "explain.scorecard", "--run", str(folder), "--images", str(images)]
    command += ["--cascade-images", str(max(1, min(cascade_images, images)))]
    command += ["--rebuild-shipped"] if rebuild_shipped else []
    print(f"Scoring the saliency maps' faithfulness on {images} test images, on TensorFlow…", flush=True)
    # Its output goes where ours goes: into the job's train.log when the app started the run.
    child = subprocess.Popen(command, cwd=runs.REPO_ROOT, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    try:
        code = child.wait()
    except (KeyboardInterrupt, TrainingCancelled):
        child.terminate()  # the scorecard keeps its partial results; computing it again continues them
        child.wait()
        return 130
    if code:
        print(f"The scorecard failed (exit code {code}); compute it later on the trust page.", flush=True)
    return 0


def _record_cancelled(folder: Path, epochs: int) -> None:
    """Say 'cancelled' in the run's status, once: a cancel can come during training, or after it while the
    test set is evaluated and the results written (then Resume trains no more epochs and writes them)."""
    if runs.read_status(folder).get("state") != runs.STATE_RUNNING:
        return
    done = len(runs.read_history_rows(Path(folder) / runs.HISTORY_FILE))
    message = (
        f"Cancelled after {done} complete epoch(s) of {epochs}. "
        "Rerun the same command (or press Resume) to continue from the checkpoint."
    )
    runs.write_status(folder, runs.STATE_CANCELLED, message)
    print(message, flush=True)


def _record_failure(folder: Path, message: str) -> None:
    try:
        runs.write_status(folder, runs.STATE_FAILED, message)
    except OSError:
        pass  # even a small file does not fit: the app's job runner marks the run failed instead


def disk_full_message(folder: Path, exc: BaseException) -> str:
    done = len(runs.read_history_rows(Path(folder) / runs.HISTORY_FILE))
    return (
        f"No space left on the device while writing {folder} ({exc}). The last complete checkpoint "
        f"(after epoch {done}) is intact: free some space, then rerun the same command (or press Resume "
        "on the Retrain page) to continue from it."
    )


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config, args = parse_args(argv)
    _Cancellation.requested = _Cancellation.deferred = False
    signal.signal(signal.SIGTERM, _raise_cancelled)
    # One process per run folder: a second identical command must not train into the same checkpoint.
    # The OS releases this lock when the process ends, however it ends.
    try:
        with guard.folder_lock(args.out):
            code = _train_and_score(config, args, argv)
    except guard.FolderBusy:
        fail(f"another process is writing into {args.out}; wait for it to finish, or use another --out.")
    if code == 0 and args.scorecard_images and not scores_in_process():
        try:
            code = score_maps_in_tensorflow(
                args.out, args.scorecard_images, args.scorecard_cascade_images, args.rebuild_shipped
            )
        except (KeyboardInterrupt, TrainingCancelled):  # before the child was started
            code = 130
    return code


def _train_and_score(config: TrainConfig, args, argv) -> int:
    try:
        train(config, args.out, argv, force=args.force)
        if _Cancellation.requested:  # came while the results were written: the run is complete, score nothing
            print("Cancelled after training: the run is complete, without its scorecard.", flush=True)
            return 130
        if args.scorecard_images and scores_in_process():
            score_maps(args.out, args.scorecard_images, args.scorecard_cascade_images)
        if args.learning:
            tell_story(args.out)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, TrainingCancelled):
        _record_cancelled(args.out, config.epochs)
        return 130
    except Exception as exc:
        if isinstance(exc, CheckpointWriteError) or is_disk_full(exc):
            message = disk_full_message(args.out, exc) if is_disk_full(exc) else str(exc)
            _record_failure(args.out, message)
            print(f"error: {message}", file=sys.stderr, flush=True)
            # h5py cannot recover from a failed write: its clean-up at interpreter exit can crash
            # (exit 139), so end here, after the status and the message are out.
            sys.stdout.flush()
            os._exit(1)
        _record_failure(args.out, f"{type(exc).__name__}: {exc}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
