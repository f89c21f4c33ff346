"""Turn maps into pictures: colour maps, saliency overlays and feature-map mosaics (numpy only)."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Anchor colours of perceptually ordered maps (from dark to bright), interpolated linearly.
COLOUR_MAPS = {
    "inferno": ["#000004", "#420a68", "#932667", "#dd513a", "#fca50a", "#fcffa4"],
    "viridis": ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"],
    # Made for colour-vision deficiency (Nuñez et al. 2018): blue to yellow, no red-green contrast.
    "cividis": ["#00224e", "#35456c", "#666970", "#948e77", "#c8b866", "#fee838"],
    "grey": ["#000000", "#ffffff"],
}
DEFAULT_COLOUR_MAP = "inferno"
COLOUR_BLIND_SAFE = "cividis"


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


def in_square(image: np.ndarray, size: int, check: int = 8) -> np.ndarray:
    """A grey uint8 image at its own shape, as large as fits a ``size`` x ``size`` square, centred on a
    checkerboard where it has no pixels (as picture editors show an empty area): a 28 x 12 picture and the same
    picture extended to 28 x 28 then look different. Images of at most 28 px are enlarged with crisp pixels."""
    height, width = image.shape
    scale = size / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.NEAREST if max(height, width) <= 28 else Image.LANCZOS
    shown = np.asarray(Image.fromarray(np.asarray(image, dtype=np.uint8)).resize(shape, resample))
    rows, columns = np.indices((size, size)) // check
    out = np.where((rows + columns) % 2 == 0, 236, 250).astype(np.uint8)
    top, left = (size - shape[1]) // 2, (size - shape[0]) // 2
    out[top : top + shape[1], left : left + shape[0]] = shown
    return out


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
    channels = maps.shape[-1]
    scale = (high - low) or 1.0
    tiles = [colourise(upscale((maps[..., c] - low) / scale, cell, smooth=False), colour_map) for c in range(channels)]
    return grid(np.stack(tiles), columns, gap)


def grid(tiles: np.ndarray, columns: int, gap: int = 2, background: int = 255) -> np.ndarray:
    """Equal-sized uint8 tiles (N, h, w[, 3]) laid out row by row, ``columns`` to a row, ``gap`` px apart."""
    count, height, width = tiles.shape[:3]
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    shape = (rows * (height + gap) - gap, columns * (width + gap) - gap, *tiles.shape[3:])
    out = np.full(shape, background, dtype=np.uint8)
    for number, tile in enumerate(tiles):
        r, k = divmod(number, columns)
        out[r * (height + gap) : r * (height + gap) + height, k * (width + gap) : k * (width + gap) + width] = tile
    return out


def stretch(image: np.ndarray) -> np.ndarray:
    """uint8 image scaled so its brightest pixel is white (a black image stays black)."""
    image = np.asarray(image, dtype=np.float32)
    high = float(image.max())
    return (image * (255.0 / high) if high > 0 else image).round().astype(np.uint8)


def boxed(image: np.ndarray, box: tuple[int, int, int, int], scale: int, colour=(255, 64, 64)) -> np.ndarray:
    """A grey uint8 (28, 28) image enlarged ``scale`` times (crisp) as RGB, with the inclusive pixel box
    (top, left, bottom, right) outlined: where a channel's unit looks (no outline when it is the whole image)."""
    rgb = np.repeat(crisp(image, scale)[..., None], 3, axis=-1)
    if box == (0, 0, image.shape[0] - 1, image.shape[1] - 1):
        return rgb  # the whole image: an outline would say nothing
    top, left, bottom, right = (v * scale for v in box)
    bottom, right = bottom + scale - 1, right + scale - 1
    rgb[top, left : right + 1] = rgb[bottom, left : right + 1] = colour
    rgb[top : bottom + 1, left] = rgb[top : bottom + 1, right] = colour
    return rgb
