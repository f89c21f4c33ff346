"""Snapshots during training: the model's weights and its answers on the test images at a fixed schedule of
epochs, so that ``explain.learning`` can tell how the network learned (``learning.npz``).

Each snapshot is two files in the run folder's ``snapshots/``, written atomically: ``epoch-0005.weights.npz``
(the model's weights as plain arrays, 4 MB; not committed) and ``epoch-0005.npz`` (the 10,000 test
probabilities as float16 and the seconds the snapshot took). They are taken after the epoch's validation, so
with an exponential moving average of the weights they hold the averaged weights, as the best-epoch checkpoint
does. A resumed run keeps the snapshots it already has (each file is complete or absent), and takes the
snapshot of the epoch it resumes from if the interruption came between that epoch's checkpoint and its
snapshot.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from runfolder import runs

SCHEDULE = (1, 2, 3, 5, 8, 12, 20, 30, 45, 60)  # and always the last epoch
ANSWER_CHUNK = 1000  # test images per forward pass: 10,000 in equal chunks
_NAME = re.compile(r"^epoch-(\d{4,})\.npz$")


def scheduled(epoch: int, epochs: int) -> bool:
    """Whether ``epoch`` (counted from 1) gets a snapshot in a run of ``epochs``."""
    return epoch in SCHEDULE or epoch == epochs


def schedule(epochs: int) -> list[int]:
    return [e for e in range(1, epochs + 1) if scheduled(e, epochs)]


def folder_of(run: Path) -> Path:
    return Path(run) / runs.SNAPSHOTS_DIR


def weights_path(run: Path, epoch: int) -> Path:
    return folder_of(run) / f"epoch-{epoch:04d}.weights.npz"


def load_weights(model, run: Path, epoch: int) -> None:
    """Set ``model`` (a freshly built Tiny GoogLeNet) to a snapshot's weights."""
    with np.load(weights_path(run, epoch), allow_pickle=False) as stored:
        model.set_weights([stored[f"w{i}"] for i in range(len(stored.files))])


def answers_path(run: Path, epoch: int) -> Path:
    return folder_of(run) / f"epoch-{epoch:04d}.npz"


def recorded(run: Path) -> list[int]:
    """The epochs whose snapshot is complete (both files present), in order."""
    found = []
    for path in folder_of(run).glob("epoch-*.npz") if folder_of(run).is_dir() else []:
        match = _NAME.match(path.name)
        if match and weights_path(run, int(match.group(1))).is_file():
            found.append(int(match.group(1)))
    return sorted(found)


def read_answers(run: Path, epoch: int) -> tuple[np.ndarray, float]:
    """(probabilities (10000, 10) float16, seconds) of one snapshot."""
    with np.load(answers_path(run, epoch), allow_pickle=False) as stored:
        return stored["probabilities"], float(stored["seconds"])


def make_snapshot_callback(run: Path, epochs: int, test_images: np.ndarray):
    """A Keras callback that records a snapshot at the end of each scheduled epoch. ``test_images``: the
    model's input for the 10,000 test images."""
    import keras

    class SnapshotRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.resumed_checked = False
            self.forward = None

        def answers(self) -> np.ndarray:
            """The model's probabilities for the test images, in equal chunks (one compiled shape)."""
            if self.forward is None:
                self.forward = self._forward()
            return np.concatenate(
                [self.forward(test_images[i : i + ANSWER_CHUNK]) for i in range(0, len(test_images), ANSWER_CHUNK)]
            )

        def _forward(self):
            model = self.model
            if keras.backend.backend() != "jax":
                return lambda x: keras.ops.convert_to_numpy(model(x, training=False))
            # Under JAX a plain call runs op by op, compiling each op on first use: 23 s for the first snapshot
            # on an H200 against 2.5 s an epoch. One compiled, stateless forward pass takes a few seconds once.
            # (Not predict_on_batch: inside fit() it deletes the buffers the training step holds.)
            import jax

            call = jax.jit(lambda trainable, other, x: model.stateless_call(trainable, other, x, training=False)[0])

            def forward(x):
                trainable = [v.value for v in model.trainable_variables]
                other = [v.value for v in model.non_trainable_variables]
                return np.asarray(call(trainable, other, x))

            return forward

        def on_epoch_begin(self, epoch, logs=None):
            # A run killed after the resume checkpoint of a scheduled epoch but before its snapshot: the
            # checkpoint holds what the snapshot needs (the weights and their moving average), so take it now.
            if self.resumed_checked:
                return
            self.resumed_checked = True
            if epoch and scheduled(epoch, epochs) and epoch not in recorded(run):
                swap = keras.callbacks.SwapEMAWeights() if self.model.optimizer.use_ema else None
                if swap is not None:  # the averaged weights in, as validation saw them
                    swap.set_model(self.model)
                    swap.on_test_begin()
                self._take(epoch)
                if swap is not None:
                    swap.on_test_end()

        def on_epoch_end(self, epoch, logs=None):
            if scheduled(epoch + 1, epochs):
                self._take(epoch + 1)

        def _take(self, number: int) -> None:
            started = time.time()
            probabilities = self.answers()
            # The model's weights only, as plain arrays (4 MB): Keras' weights file would add the optimizer's
            # state (17 MB), which a snapshot does not need.
            runs.write_npz_atomic(
                weights_path(run, number), **{f"w{i}": w for i, w in enumerate(self.model.get_weights())}
            )
            runs.write_npz_atomic(
                answers_path(run, number),
                probabilities=probabilities.astype(np.float16),
                seconds=np.array(time.time() - started),
            )

    return SnapshotRecorder()
