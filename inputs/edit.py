"""Paint on a 28x28 image: turn the drawing canvas's strokes into the edited network input.

The canvas shows the image enlarged (each pixel a block of ``scale`` x ``scale``) and returns its
rendering as RGBA. Depending on the canvas, that rendering holds the strokes alone (transparent
elsewhere) or the strokes over the enlarged image; both are handled. Ink is white, erasing is black,
and a pixel's new value is the mean over its block, so a stroke that covers half a pixel half-paints it.
"""

from __future__ import annotations

import numpy as np

SIZE = 28


def block_mean(values: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Average (H, W) values over a size x size grid of equal blocks (H and W multiples of size)."""
    height, width = values.shape
    return values.reshape(size, height // size, size, width // size).mean(axis=(1, 3))


def apply_strokes(original: np.ndarray, canvas_rgba: np.ndarray) -> np.ndarray:
    """The edited (28, 28) uint8 image: ``original`` with the canvas's strokes painted in."""
    original = np.asarray(original, dtype=np.float64).reshape(SIZE, SIZE)
    rgba = np.asarray(canvas_rgba, dtype=np.float64)
    if rgba.shape[0] % SIZE or rgba.shape[1] % SIZE or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"the canvas must be RGBA with sides a multiple of {SIZE}, not {rgba.shape}")
    grey = rgba[..., :3].mean(axis=2)
    alpha = rgba[..., 3] / 255.0
    if alpha.min() >= 1.0:  # the rendering includes the enlarged image: it is the edited image
        edited = block_mean(grey)
    else:  # strokes only: paint them over the original
        coverage = block_mean(alpha)
        painted = np.divide(block_mean(grey * alpha), coverage, out=np.zeros_like(coverage), where=coverage > 0)
        edited = original * (1.0 - coverage) + painted * coverage
    return np.clip(np.round(edited), 0, 255).astype(np.uint8)
