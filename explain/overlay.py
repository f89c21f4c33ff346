"""Turn maps into pictures: colour maps, saliency overlays and feature-map mosaics (numpy only)."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Anchor colours of perceptually ordered maps (from dark to bright), interpolated linearly.
COLOUR_MAPS = {
    "inferno": ["#000004", "#420a68", "#932667", "#dd513a", "#fca50a", "#fcffa4"],
    "viridis": ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"],
    "grey": ["#000000", "#ffffff"],
}
DEFAULT_COLOUR_MAP = "inferno"


def colourise(values: np.ndarray, colour_map: str = DEFAULT_COLOUR_MAP) -> np.ndarray:
    """Values in [0, 1] (any shape) -> uint8 RGB of shape (..., 3)."""
    anchors = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in COLOUR_MAPS[colour_map]], dtype=np.float32)
    positions = np.linspace(0, 1, len(anchors))
    v = np.clip(np.nan_to_num(values), 0, 1)
    rgb = np.stack([np.interp(v, positions, anchors[:, c]) for c in range(3)], axis=-1)
    return rgb.round().astype(np.uint8)


def crisp(image: np.ndarray, scale: int) -> np.ndarray:
    """Each pixel as a scale x scale block of uint8: enlarged here, so the browser does not blur it."""
    return np.asarray(image, dtype=np.uint8).repeat(scale, axis=0).repeat(scale, axis=1)


def upscale(values: np.ndarray, size: int, smooth: bool) -> np.ndarray:
    image = Image.fromarray(np.asarray(values, dtype=np.float32), mode="F")
    return np.asarray(image.resize((size, size), Image.BILINEAR if smooth else Image.NEAREST))


def overlay(
    image: np.ndarray, saliency: np.ndarray, opacity: float = 0.5, size: int = 224, colour_map: str = DEFAULT_COLOUR_MAP
) -> np.ndarray:
    """A uint8 (28, 28) image with a [0, 1] saliency map blended on top, upscaled to ``size``.

    The image is enlarged with nearest neighbour (crisp pixels), the map bilinearly (smooth heat).
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be between 0 and 1, not {opacity}")
    grey = upscale(np.asarray(image, dtype=np.float32) / 255.0, size, smooth=False)
    heat = colourise(upscale(saliency, size, smooth=True), colour_map).astype(np.float32)
    base = np.repeat(grey[..., np.newaxis] * 255.0, 3, axis=-1)
    return ((1 - opacity) * base + opacity * heat).clip(0, 255).astype(np.uint8)


def mosaic(
    maps: np.ndarray,
    low: float,
    high: float,
    columns: int = 16,
    cell: int = 48,
    gap: int = 2,
    colour_map: str = DEFAULT_COLOUR_MAP,
) -> np.ndarray:
    """Feature maps (H, W, C) as one RGB grid of C tiles, coloured on the fixed scale [low, high]."""
    height, width, channels = maps.shape
    columns = min(columns, channels)
    rows = -(-channels // columns)
    scale = (high - low) or 1.0
    out = np.full((rows * (cell + gap) - gap, columns * (cell + gap) - gap, 3), 255, dtype=np.uint8)
    for c in range(channels):
        r, k = divmod(c, columns)
        tile = upscale((maps[..., c] - low) / scale, cell, smooth=False)
        out[r * (cell + gap) : r * (cell + gap) + cell, k * (cell + gap) : k * (cell + gap) + cell] = colourise(
            tile, colour_map
        )
    return out
