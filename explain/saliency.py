"""Saliency maps: the Grad-CAM family and gradient saliency from tf-keras-vis, and occlusion.

The CAM and gradient maps come from tf-keras-vis itself. What this module adds: the target
layer is always passed explicitly (tf-keras-vis would otherwise pick the last Conv2D it finds,
which is one branch of block 4, not the block); the explainer objects, which clone the model,
are built once per model; maps are computed for a batch of images at once; and a map can be
had raw (not stretched to [0, 1]), so maps of two classes can share one intensity scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from tf_keras_vis.gradcam import Gradcam
from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
from tf_keras_vis.layercam import Layercam
from tf_keras_vis.saliency import Saliency
from tf_keras_vis.scorecam import Scorecam
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore

import model as tgn
from explain.methods import (  # noqa: F401  (the names the rest of the app imports from here)
    CAM_LAYERS,
    CAM_METHODS,
    DEFAULT_LAYER,
    DEFAULT_METHOD,
    INPUT_LAYER,
    MAP_SIDE,
    METHODS,
    blank_map_reason,
    is_blank,
    layer_label,
    method_label,
    method_layers,
)
from explain.occlusion import occlusion_maps

FASTER_SCORECAM_MAX_N = 10  # channels with the largest variance kept by Faster-ScoreCAM
SMOOTHGRAD_SAMPLES = 20
# SmoothGrad with absolute gradients and noise 0.2 put 61% of its mass on the black background (40
# test images): the model is sensitive to ink *appearing* there, which no deletion can test and no
# student reads correctly. Signed gradients averaged over noisy copies (noise 10% of the pixel range),
# times the pixel's own value, positive part: each pixel's first-order contribution to the class
# score ("SmoothGrad x input"). Background pixels contribute nothing by definition, and on those 40
# images the map beat the garment-pixels control on 75% (deletion) and 65% (insertion) of them.
SMOOTHGRAD_NOISE = 0.1

# The network's layer behind each CAM layer choice: the stem's output and each whole inception block.
TARGET_LAYERS = {"stem": tgn.STEM_OUTPUT, **{f"block{b}": tgn.block_output(b) for b in tgn.BLOCKS}}
assert tuple(TARGET_LAYERS) == CAM_LAYERS
INTERACTIVE_CHUNK = 64  # images per model call in the app (see predict_in_chunks)


@dataclass
class Explainers:
    """tf-keras-vis explainers sharing one linear-output clone of the model."""

    gradcam: Gradcam
    gradcam_plus_plus: GradcamPlusPlus
    scorecam: Scorecam
    layercam: Layercam
    saliency: Saliency
    model: keras.Model  # the model itself (softmax output), for occlusion


def build_explainers(model) -> Explainers:
    # Score-CAM calls model.predict() internally, which would print a progress bar per map.
    keras.utils.disable_interactive_logging()
    # One clone with the softmax replaced by a linear output (gradients of logits, not of
    # saturated probabilities), shared by all explainers instead of one clone each.
    linear = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True).model
    return Explainers(
        gradcam=Gradcam(linear, clone=False),
        gradcam_plus_plus=GradcamPlusPlus(linear, clone=False),
        scorecam=Scorecam(linear, clone=False),
        layercam=Layercam(linear, clone=False),
        saliency=Saliency(linear, clone=False),
        model=model,
    )


def saliency_map(
    explainers: Explainers,
    image: np.ndarray,
    method: str,
    target_class: int,
    layer: str = DEFAULT_LAYER,
    progress=None,
    normalize: bool = True,
) -> np.ndarray:
    """A (28, 28) map for one model-input image (28, 28, 1) and one class: in [0, 1], or raw.

    ``layer`` is a key of TARGET_LAYERS (used by the CAM methods only).
    ``progress(fraction)`` is called while SmoothGrad runs.
    """
    return saliency_maps(explainers, image[np.newaxis], method, [target_class], layer, progress, normalize)[0]


def saliency_maps(
    explainers: Explainers,
    images: np.ndarray,
    method: str,
    target_classes,
    layer: str = DEFAULT_LAYER,
    progress=None,
    normalize: bool = True,
    expand: bool = True,
) -> np.ndarray:
    """(N, 28, 28) maps for N images, each for its own class, computed in one batch.

    With ``normalize`` each map is stretched to [0, 1] (a blank map stays all zero); without, maps
    keep the method's own units, all non-negative, so two maps of one method on one image compare.
    Without ``expand`` a CAM keeps its layer's resolution, (N, side, side) with side ``MAP_SIDE[layer]``:
    ``methods.expand_cam`` stretches it to the (N, 28, 28) map exactly as tf-keras-vis does.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method in CAM_METHODS and layer not in TARGET_LAYERS:
        raise ValueError(f"Unknown layer {layer!r}; choose one of {', '.join(TARGET_LAYERS)}")
    targets = [int(t) for t in np.atleast_1d(target_classes)]
    if not all(0 <= t < tgn.architecture.NUM_CLASSES for t in targets):
        raise ValueError(f"target classes must be 0-9, not {targets}")
    x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
    score = CategoricalScore(targets)
    cam_args = dict(penultimate_layer=TARGET_LAYERS.get(layer), seek_penultimate_conv_layer=False)
    cam_args.update(normalize_cam=False, expand_cam=expand)
    if method == "gradcam":
        result = explainers.gradcam(score, x, **cam_args)
    elif method == "gradcam++":
        result = explainers.gradcam_plus_plus(score, x, **cam_args)
    elif method == "layercam":
        result = explainers.layercam(score, x, **cam_args)
    elif method == "scorecam":
        result = explainers.scorecam(score, x, **cam_args)
    elif method == "faster-scorecam":
        # One image per call: given a batch, tf-keras-vis keeps the union of every image's top channels,
        # which is close to full Score-CAM, so a batch would not compute the map the app shows for one image.
        result = np.concatenate(
            [
                explainers.scorecam(CategoricalScore([t]), x[i : i + 1], max_N=FASTER_SCORECAM_MAX_N, **cam_args)
                for i, t in enumerate(targets)
            ]
        )
    elif method == "saliency":
        result = explainers.saliency(score, x, normalize_map=False)
    elif method == "occlusion":
        result = occlusion_maps(lambda batch: predict_in_chunks(explainers.model, batch), x, targets)
    else:
        result = _smoothgrad(explainers.saliency, score, x, progress) * x[..., 0]
    side = 28 if expand or method not in CAM_METHODS else MAP_SIDE[layer]
    maps = np.clip(np.nan_to_num(np.asarray(result, dtype=np.float32).reshape(-1, side, side)), 0.0, None)
    return np.stack([_unit_range(m) for m in maps]) if normalize else maps


def predict_in_chunks(model, batch: np.ndarray, chunk: int = INTERACTIVE_CHUNK) -> np.ndarray:
    """Probabilities for a large batch, in chunks (predict_on_batch: no per-call dataset set-up).

    Small chunks keep the server's memory down: TensorFlow keeps the peak of its activations. A walk of
    every page peaked at 914 MB RSS with 2048 images per call and at 817 MB with 64 (measured back to back)."""
    return np.concatenate(
        [np.asarray(model.predict_on_batch(batch[i : i + chunk])) for i in range(0, len(batch), chunk)]
    )


def _smoothgrad(saliency: Saliency, score, x, progress, chunks: int = 4) -> np.ndarray:
    # tf-keras-vis's SmoothGrad in chunks of samples, signed and un-normalised, so a page can show
    # progress; the mean over chunks equals one call with all the samples.
    total = np.zeros((len(x), 28, 28), dtype=np.float32)
    per_chunk = SMOOTHGRAD_SAMPLES // chunks
    for i in range(chunks):
        total += np.asarray(
            saliency(
                score,
                x,
                smooth_samples=per_chunk,
                smooth_noise=SMOOTHGRAD_NOISE,
                normalize_map=False,
                gradient_modifier=lambda gradients: gradients,  # signed: tf-keras-vis takes abs() by default
            )
        ).reshape(-1, 28, 28)
        if progress is not None:
            progress((i + 1) / chunks)
    return total / chunks


def _unit_range(saliency: np.ndarray) -> np.ndarray:
    saliency = np.nan_to_num(saliency)
    low, high = float(saliency.min()), float(saliency.max())
    return (saliency - low) / (high - low) if high > low else np.zeros_like(saliency)
