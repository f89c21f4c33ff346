"""Occlusion sensitivity (Zeiler and Fergus, 2014): cover a patch, see how much the class loses.

A black 4x4 patch ("no ink") slides over the image in steps of 2 pixels (13 x 13 = 169
positions); for each position the target class's probability is measured. A pixel's value is the
mean drop of that probability over the patches that cover it, positive part only (what supports
the class). It needs nothing but the model's output, so it works for any model, and it is the
easiest map to explain to a beginner: "hide this part, and the network is less sure". All the
occluded copies of all the images go through the model in one call.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

PATCH = 4
STRIDE = 2
SIZE = 28


def patch_corners(size: int = SIZE, patch: int = PATCH, stride: int = STRIDE) -> list[int]:
    """Top (or left) coordinates of the patches, the last one flush with the border."""
    corners = list(range(0, size - patch + 1, stride))
    if corners[-1] != size - patch:
        corners.append(size - patch)
    return corners


def occluded_copies(image: np.ndarray, patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """(positions, 28, 28, 1) copies of ``image`` with one black patch each."""
    image = np.asarray(image, dtype=np.float32).reshape(SIZE, SIZE)
    corners = patch_corners(SIZE, patch, stride)
    copies = np.repeat(image[np.newaxis], len(corners) ** 2, axis=0)
    for i, (top, left) in enumerate((t, lft) for t in corners for lft in corners):
        copies[i, top : top + patch, left : left + patch] = 0.0
    return copies[..., np.newaxis]


def occlusion_maps(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    targets,
    patch: int = PATCH,
    stride: int = STRIDE,
) -> np.ndarray:
    """(N, 28, 28) maps in probability units: how much the target class's probability drops, on average,
    when a patch covering the pixel is blacked out (positive part; all-zero when nothing matters)."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, SIZE, SIZE, 1)
    targets = np.asarray(targets, dtype=int).reshape(-1)
    corners = patch_corners(SIZE, patch, stride)
    positions = len(corners) ** 2
    batch = np.concatenate([images] + [occluded_copies(image, patch, stride) for image in images])
    probabilities = np.asarray(predict(batch))
    original = probabilities[np.arange(len(images)), targets]
    occluded = probabilities[len(images) :].reshape(len(images), positions, -1)
    drops = original[:, np.newaxis] - occluded[np.arange(len(images)), :, targets]  # (N, positions)

    total = np.zeros((len(images), SIZE, SIZE), dtype=np.float64)
    covered = np.zeros((SIZE, SIZE), dtype=np.float64)
    for i, (top, left) in enumerate((t, lft) for t in corners for lft in corners):
        total[:, top : top + patch, left : left + patch] += drops[:, i, np.newaxis, np.newaxis]
        covered[top : top + patch, left : left + patch] += 1
    return np.clip(total / covered, 0.0, None).astype(np.float32)
