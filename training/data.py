"""The training input pipeline in NumPy: batches and augmentation that work on every Keras backend.

``tf.data`` tied training to TensorFlow, and Keras's random augmentation layers inside a
JAX-compiled model did not finish one epoch in 255 s (measured outside the project on an
H200). Here a batch is made on the host from the uint8 images: scaled to [0, 1], flipped,
shifted and erased in NumPy, labels one-hot. Keras feeds it to whichever backend runs.

Every batch is a pure function of (seed, epoch, batch number): the order of an epoch is a
permutation drawn from (seed, epoch) and each batch's augmentation from (seed, epoch, batch).
A resumed run therefore sees exactly the batches an uninterrupted run would have seen, and
Keras may fetch batches ahead (TensorFlow prefetches in a thread) without changing them.
Keras's PyDataset without worker processes; importing this module imports NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from dataset.fashion_mnist import NUM_CLASSES

from .config import TrainConfig

# Keeps the three random streams of one seed apart (a SeedSequence of other entropy).
_ORDER, _AUGMENT = 0, 1


def to_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], the model's input contract."""
    return (images.astype(np.float32) / np.float32(255.0))[..., np.newaxis]


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype=np.float32)[labels.astype(np.int64)]


def flip(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image mirrored left-right with probability 1/2 (Keras's RandomFlip("horizontal"))."""
    chosen = rng.random(len(x)) < 0.5
    out = x.copy()
    out[chosen] = x[chosen, :, ::-1]
    return out


def shift(x: np.ndarray, rng: np.random.Generator, pixels: int) -> np.ndarray:
    """Each image moved by a whole number of pixels, drawn uniformly from -pixels..pixels on each axis,
    with black (0, the background) coming in at the edges. Whole pixels keep the strokes crisp, as the
    nearest-neighbour RandomTranslation of the tf.data pipeline did."""
    if pixels <= 0:
        return x
    n, height, width = x.shape[:3]
    dy = rng.integers(-pixels, pixels + 1, size=n)
    dx = rng.integers(-pixels, pixels + 1, size=n)
    padded = np.pad(x, [(0, 0), (pixels, pixels), (pixels, pixels)] + [(0, 0)] * (x.ndim - 3))
    rows = (pixels - dy)[:, None] + np.arange(height)[None, :]  # source row in the padded image
    cols = (pixels - dx)[:, None] + np.arange(width)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def erase(
    x: np.ndarray, rng: np.random.Generator, probability: float, scale: tuple[float, float] = (0.02, 0.2)
) -> np.ndarray:
    """Random erasing as Keras's RandomErasing(factor=(p, p), scale, value_range=(0, 1)) does it: with
    probability p an image gets one box whose width and height are each sqrt(U(scale)) of the image's,
    at a uniform position, filled with N(0, 1) noise clipped to [0, 1]."""
    if probability <= 0:
        return x
    n, height, width = x.shape[:3]
    fraction = np.sqrt(rng.uniform(scale[0], scale[1], size=(n, 2)))
    box_w, box_h = fraction[:, 0] * width, fraction[:, 1] * height
    x0 = rng.random(n) * (width - box_w)
    y0 = rng.random(n) * (height - box_h)
    cols, rows = np.arange(width)[None, :], np.arange(height)[None, :]
    inside_x = (cols >= x0[:, None]) & (cols < (x0 + box_w)[:, None])
    inside_y = (rows >= y0[:, None]) & (rows < (y0 + box_h)[:, None])
    mask = inside_y[:, :, None] & inside_x[:, None, :] & (rng.random(n) < probability)[:, None, None]
    if x.ndim == 4:
        mask = mask[..., None]
    noise = np.clip(rng.standard_normal(x.shape, dtype=np.float32), 0.0, 1.0)
    return np.where(mask, noise, x)


def augment(x: np.ndarray, rng: np.random.Generator, config: TrainConfig) -> np.ndarray:
    """The recipe's augmentation (flips, then shifts, then erasing, as before) on a float batch."""
    if not config.augment:
        return x
    x = flip(x, rng)
    x = shift(x, rng, config.shift_pixels)
    return erase(x, rng, config.erasing_probability)


def make_batches(images, labels, config: TrainConfig, training: bool):
    """A keras.utils.PyDataset over uint8 images (N, 28, 28) and integer labels.

    training=True: an endless stream (fit needs ``steps_per_epoch``), reshuffled and augmented
    per epoch; ``first_epoch`` is where a resumed run starts. training=False: the images in
    order, once, without augmentation (validation, evaluation)."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            # No worker threads or processes: a batch takes well under a millisecond to make, and
            # TensorFlow already prefetches in its own thread.
            super().__init__(workers=1, use_multiprocessing=False)
            self.images = np.asarray(images)
            self.labels = one_hot(np.asarray(labels))
            self.batch_size = int(config.batch_size)
            self.steps_per_epoch = math.ceil(len(self.labels) / self.batch_size)
            self.first_epoch = 0
            self._order = (None, None)  # (epoch, permutation) of the last epoch asked for

        @property
        def num_batches(self):
            # None: endless. Keras asks for batch i, i = 0, 1, 2, ... from the start of fit(); the
            # epoch is derived from i, so nothing depends on when Keras starts or ends an epoch.
            return None if training else self.steps_per_epoch

        def order(self, epoch: int) -> np.ndarray:
            if self._order[0] != epoch:
                rng = np.random.default_rng([config.seed, _ORDER, epoch])
                self._order = (epoch, rng.permutation(len(self.labels)))
            return self._order[1]

        def batch_indices(self, index: int) -> tuple[int, int, np.ndarray | slice]:
            """(epoch, batch number in it, the images it takes) of stream position ``index``."""
            if not training:
                return 0, index, slice(index * self.batch_size, (index + 1) * self.batch_size)
            epoch, step = divmod(int(index), self.steps_per_epoch)
            epoch += self.first_epoch
            return epoch, step, self.order(epoch)[step * self.batch_size : (step + 1) * self.batch_size]

        def __getitem__(self, index):
            epoch, step, chosen = self.batch_indices(index)
            x = to_inputs(self.images[chosen])
            if training:
                x = augment(x, np.random.default_rng([config.seed, _AUGMENT, epoch, step]), config)
            return x, self.labels[chosen]

    return Batches()


def make_stream_start_callback(batches):
    """A callback that starts a training stream at the epoch fit() resumes from. It must come after the
    checkpoint callback, which sets the model's initial epoch in on_train_begin; Keras asks for the
    first training batch only after every callback's on_train_begin has run."""
    import keras

    class StreamStart(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            batches.first_epoch = int(getattr(self.model, "_initial_epoch", None) or 0)

    return StreamStart()
