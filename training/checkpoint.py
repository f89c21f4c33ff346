"""The resume checkpoint, written so that a crash at any moment leaves the last good one intact.

Keras' ``BackupAndRestore`` overwrites ``latest.weights.h5`` in place: a full disk
in the middle of that write (or a kill) leaves a half-written HDF5 file that no
later resume can read. Here each epoch's state goes to a temporary file that is
renamed to ``epoch-0007.weights.h5`` only once it is complete; older checkpoints
are deleted only after that. On resume the newest checkpoint that loads wins, so
the epoch number travels with the weights and no separate metadata file can
disagree with them. The weights file holds the model's and the optimizer's
variables (Adam moments, step count and the moving average of the weights).
"""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

import numpy as np

BACKUP_DIR = "backup"
_NAME = re.compile(r"^epoch-(\d{4,})\.weights\.h5$")


class CheckpointWriteError(OSError):
    """The checkpoint could not be written; the previous one is untouched."""


def is_disk_full(exc: BaseException) -> bool:
    """True when an error (or one it was raised from) says the disk is full. h5py reports it as a
    plain OSError whose message, not errno, carries 'No space left on device'."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _state_bytes(model) -> int:
    """Bytes of the model's and optimizer's variables: about what one weights file takes."""
    variables = list(model.weights) + (list(model.optimizer.variables) if model.optimizer is not None else [])
    # From shapes and dtypes: reading the values would copy every array, and under JAX during fit() some of
    # them are buffers the training step has donated.
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


def save_weights_atomic(model, path: Path) -> None:
    """``model.save_weights`` into ``path`` via a temporary file and a rename, never half-written.

    The free space is checked first: h5py cannot recover from a write that fails for want of
    space (its clean-up then crashes the process), so a full disk is reported before h5py starts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")  # Keras wants the .weights.h5 suffix
    needed = int(_state_bytes(model) * 1.1) + (1 << 20)
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise CheckpointWriteError(
            errno.ENOSPC,
            f"Could not write {path.name}: no space left on the device ({free >> 20} MB free, "
            f"{needed >> 20} MB needed)",
        )
    try:
        model.save_weights(tmp, overwrite=True)
        tmp.replace(path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        full = is_disk_full(exc)
        reason = "no space left on the device" if full else f"{type(exc).__name__}: {exc}"
        code = errno.ENOSPC if full else errno.EIO
        raise CheckpointWriteError(code, f"Could not write {path.name} ({reason})") from exc


def checkpoint_name(epochs_done: int) -> str:
    return f"epoch-{epochs_done:04d}.weights.h5"


def saved_epochs(folder: Path) -> list[int]:
    """Epoch counts of the complete checkpoints in ``folder``, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found, reverse=True)


def make_backup_callback(folder: Path):
    """A Keras callback that restores the newest loadable checkpoint at the start of training and
    writes a new one, atomically, after every epoch."""
    import keras

    class AtomicBackup(keras.callbacks.Callback):
        def __init__(self, backup_dir: Path):
            super().__init__()
            self.backup_dir = Path(backup_dir)

        def on_train_begin(self, logs=None):
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)  # so its variables can be loaded
            for epochs_done in saved_epochs(self.backup_dir):
                try:
                    self.model.load_weights(self.backup_dir / checkpoint_name(epochs_done))
                except Exception as exc:  # a damaged file from an older version or a broken disk
                    print(f"Skipping the unreadable checkpoint after epoch {epochs_done}: {exc}", flush=True)
                    continue
                self.model._initial_epoch = epochs_done  # what BackupAndRestore sets for fit()
                return

        def on_epoch_end(self, epoch, logs=None):
            self.save(epoch + 1)

        def save(self, epochs_done: int) -> None:
            save_weights_atomic(self.model, self.backup_dir / checkpoint_name(epochs_done))
            for older in saved_epochs(self.backup_dir):
                if older != epochs_done:
                    (self.backup_dir / checkpoint_name(older)).unlink(missing_ok=True)

    return AtomicBackup(Path(folder))
