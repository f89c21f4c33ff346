"""Deletion curves: does removing the most salient pixels first destroy the prediction fastest?

Pixels are replaced by a fill value in order of saliency; the target class's
probability is recorded after each step. A faithful map gives a curve that falls
faster, so a smaller area under it, than removing pixels in a random order.

The fill matters on Fashion-MNIST. About half of every image is exactly black
background. Filling with the data-set mean (grey) does not remove those pixels, it
*adds* grey specks to the background, and a random order sprinkles them everywhere:
the network has never seen such noise and its prediction collapses faster than under
any contiguous deletion. With the mean fill the random baseline wins for every method
(on 100 test images: random 0.31 against Grad-CAM 0.40); with the background fill
(black, "no ink") Grad-CAM, Grad-CAM++, LayerCAM and Score-CAM all beat it. So the
background is the default and the mean remains available for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DATASET_MEAN = 0.2860  # Fashion-MNIST training pixel mean on the 0-1 scale
FILLS = {"background": 0.0, "mean": DATASET_MEAN}
DEFAULT_FILL = "background"
STEPS = 28  # removal fractions 0, 1/28, ..., 1


@dataclass
class DeletionCurve:
    fractions: np.ndarray
    probabilities: np.ndarray
    auc: float


def deletion_images(image: np.ndarray, order: np.ndarray, steps: int = STEPS, fill: str = DEFAULT_FILL) -> np.ndarray:
    """(steps+1, 28, 28, 1) copies of ``image`` with the first k pixels of ``order`` replaced."""
    flat = np.asarray(image, dtype=np.float32).reshape(-1)
    counts = np.round(np.linspace(0, flat.size, steps + 1)).astype(int)
    batch = np.repeat(flat[np.newaxis], steps + 1, axis=0)
    for row, count in enumerate(counts):
        batch[row, order[:count]] = FILLS[fill]
    return batch.reshape(steps + 1, 28, 28, 1)


def deletion_curve(
    net,
    image: np.ndarray,
    saliency: np.ndarray | None,
    target_class: int,
    steps: int = STEPS,
    order: np.ndarray | None = None,
    fill: str = DEFAULT_FILL,
) -> DeletionCurve:
    """The curve for removing pixels most-salient first (or in a given ``order``)."""
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {', '.join(FILLS)}, not {fill!r}")
    if order is None:
        order = np.argsort(-np.asarray(saliency).reshape(-1), kind="stable")
    batch = deletion_images(image, order, steps, fill)
    probabilities = np.asarray(net.predict_on_batch(batch))[:, int(target_class)]
    fractions = np.linspace(0.0, 1.0, steps + 1)
    return DeletionCurve(fractions, probabilities, float(np.trapezoid(probabilities, fractions)))


def random_deletion_curve(
    net, image: np.ndarray, target_class: int, seed: int = 0, steps: int = STEPS, fill: str = DEFAULT_FILL
) -> DeletionCurve:
    order = np.random.default_rng(seed).permutation(np.asarray(image).size)
    return deletion_curve(net, image, None, target_class, steps, order=order, fill=fill)
