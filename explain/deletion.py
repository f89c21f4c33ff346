"""Deletion curves: does removing the most salient pixels first destroy the prediction fastest?

Pixels are replaced by the data set's mean in order of saliency; the target class's
probability is recorded after each step. A faithful map gives a curve that falls
faster, so a smaller area under it, than removing pixels in a random order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DATASET_MEAN = 0.2860  # Fashion-MNIST training pixel mean on the 0-1 scale
STEPS = 28  # removal fractions 0, 1/28, ..., 1


@dataclass
class DeletionCurve:
    fractions: np.ndarray
    probabilities: np.ndarray
    auc: float


def deletion_images(image: np.ndarray, order: np.ndarray, steps: int = STEPS) -> np.ndarray:
    """(steps+1, 28, 28, 1) copies of ``image`` with the first k pixels of ``order`` replaced."""
    flat = np.asarray(image, dtype=np.float32).reshape(-1)
    counts = np.round(np.linspace(0, flat.size, steps + 1)).astype(int)
    batch = np.repeat(flat[np.newaxis], steps + 1, axis=0)
    for row, count in enumerate(counts):
        batch[row, order[:count]] = DATASET_MEAN
    return batch.reshape(steps + 1, 28, 28, 1)


def deletion_curve(
    net, image: np.ndarray, saliency: np.ndarray, target_class: int, steps: int = STEPS, order: np.ndarray | None = None
) -> DeletionCurve:
    """The curve for removing pixels most-salient first (or in a given ``order``)."""
    if order is None:
        order = np.argsort(-np.asarray(saliency).reshape(-1), kind="stable")
    batch = deletion_images(image, order, steps)
    probabilities = np.asarray(net.predict_on_batch(batch))[:, int(target_class)]
    fractions = np.linspace(0.0, 1.0, steps + 1)
    return DeletionCurve(fractions, probabilities, float(np.trapezoid(probabilities, fractions)))


def random_deletion_curve(
    net, image: np.ndarray, target_class: int, seed: int = 0, steps: int = STEPS
) -> DeletionCurve:
    order = np.random.default_rng(seed).permutation(np.asarray(image).size)
    return deletion_curve(net, image, None, target_class, steps, order=order)
