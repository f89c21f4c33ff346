"""The saliency methods and layers the app offers, by name: one list for the maps (``explain.saliency``), the
scorecard, the run folder's validation and the pages. TensorFlow-free, so the fast pages can use it."""

from __future__ import annotations

import numpy as np

# method key -> label shown to users
METHODS = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "scorecam": "Score-CAM",
    "faster-scorecam": "Faster-ScoreCAM",
    "layercam": "LayerCAM",
    "saliency": "Vanilla saliency",
    "smoothgrad": "SmoothGrad × input",
    "occlusion": "Occlusion",
}
CAM_METHODS = ("gradcam", "gradcam++", "scorecam", "faster-scorecam", "layercam")
# Layers a CAM can explain at: the stem's output and each whole inception block (concat + LRN);
# explain.saliency.TARGET_LAYERS maps them to the network's layer names.
CAM_LAYERS = ("stem", "block1", "block2", "block3", "block4")
INPUT_LAYER = "input"  # the "layer" of the gradient and occlusion maps, which explain pixels directly
# Not plain Grad-CAM: at the default layer its map is blank (no location with positive evidence) for about
# one test image in five (12 of the first 60, image 0 among them); Grad-CAM++ was blank for none of them.
DEFAULT_METHOD = "gradcam++"
DEFAULT_LAYER = "block3"  # 7x7: fine enough to locate parts of a 28x28 garment, late enough to be semantic
# The side of a map as a method computes it: a CAM at its layer's resolution (the stem and block 1 work on the
# whole 28x28 image, each later block after a 2x2 pooling), the pixel-level methods on the 28x28 image.
IMAGE_SIDE = 28
MAP_SIDE = {"stem": 28, "block1": 28, "block2": 14, "block3": 7, "block4": 4, INPUT_LAYER: IMAGE_SIDE}


def layer_label(key: str) -> str:
    return "Stem" if key == "stem" else f"Inception block {key[-1]}"


def method_label(method: str, layer: str) -> str:
    return METHODS[method] + (f" · {layer_label(layer)}" if method in CAM_METHODS else "")


def uses_layer(method: str) -> bool:
    """Whether a method explains at a chosen layer (the CAMs); gradients and occlusion explain the pixels."""
    return method in CAM_METHODS


def no_layer_reason(method: str) -> str:
    """Why the layer choice does not apply to a method that explains pixels directly."""
    how = "covers patches of the image" if method == "occlusion" else "follows the gradient back to the pixels"
    return f"{METHODS[method]} {how}: it explains the pixels themselves, so there is no layer to choose."


def method_layers(method: str) -> list[str]:
    """The layers a method can explain at: every CAM layer for a CAM, the input otherwise."""
    return list(CAM_LAYERS) if method in CAM_METHODS else [INPUT_LAYER]


def default_view(scorecard: dict | None) -> tuple[str, str]:
    """(method, CAM layer) to open on: the run's scorecard default, or this module's defaults for a run
    without one. Pixel-level methods keep the default CAM layer selected."""
    if not scorecard:
        return DEFAULT_METHOD, DEFAULT_LAYER
    method, layer = scorecard["default"]["method"], scorecard["default"]["layer"]
    return method, layer if layer in CAM_LAYERS else DEFAULT_LAYER


def is_blank(saliency_values: np.ndarray) -> bool:
    """True for a map with nothing in it, e.g. Grad-CAM when no location has positive evidence."""
    return not np.any(saliency_values)


def blank_map_reason(method: str, layer: str) -> str:
    """Why a map came out blank, and what to try instead."""
    name = METHODS[method]
    if method == "gradcam":
        why = (
            f"{name} weighs each channel of {layer_label(layer)} by one number for the whole image and keeps only "
            "locations where the weighted sum is positive. Here the channels that speak against the class outweigh "
            "the ones that speak for it at every location, so nothing is left."
        )
        return (
            f"{why} Try LayerCAM, which keeps only positive gradients, occlusion, or another layer "
            "('Can the maps be trusted?' says which hold up on this model)."
        )
    return f"{name} finds no location that raises the score of this class; try another method or layer."


def expand_cam(maps: np.ndarray, side: int = IMAGE_SIDE) -> np.ndarray:
    """(..., n, n) maps stretched to (..., side, side) as tf-keras-vis expands a CAM to the image: linear
    interpolation on a grid whose corners meet the image's corners (``scipy.ndimage.zoom(order=1)``), in
    NumPy so that a page reading stored maps needs neither SciPy nor TensorFlow."""
    maps = np.asarray(maps, dtype=np.float32)
    n = maps.shape[-1]
    if maps.shape[-2] != n:
        raise ValueError(f"maps must be square, not {maps.shape[-2:]}")
    if n == side:
        return maps
    where = np.arange(side) * ((n - 1) / (side - 1)) if n > 1 else np.zeros(side)
    low = np.minimum(where.astype(int), max(n - 2, 0))
    high = np.minimum(low + 1, n - 1)
    part = where - low
    rows = maps[..., low, :] * (1 - part)[:, None] + maps[..., high, :] * part[:, None]
    return (rows[..., low] * (1 - part) + rows[..., high] * part).astype(np.float32)
