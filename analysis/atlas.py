"""Reading the channel atlas (``atlas.npz``, written by ``python -m explain.atlas``) without TensorFlow.

One row per channel, layers in the order of ``Atlas.layers``; ``Atlas.row(layer, channel)`` finds a
channel's row. ``read`` checks the file against the run (its model file, its convolutions as
architecture.json lists them, its number of test images) and raises ``AtlasError`` with a message a
user can act on when it is missing, unreadable or made for something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.architecture import receptive_box

ROW_ARRAYS = {  # array -> trailing shape per channel (None: any)
    "top_index": (9,),
    "top_value": (9,),
    "top_peak": (9, 2),
    "peak_max": (),
    "class_mean": (10,),
    "level": (),
    "best_mean": (),
    "visual": (28, 28),
    "visual_mean": (),
    "knockout_correct": (10,),
    "knockout_true_probability": (10,),
}
LAYER_ARRAYS = ("layers", "channels", "field", "jump", "grid")
OTHER_ARRAYS = ("probe_indices", "probe_correct", "probe_count", "probe_true_probability", "images", "model_sha256")
LAYER_NAME = re.compile(r"stem_conv|block(\d)_(3x3|5x5)(_reduce)?")


class AtlasError(ValueError):
    """atlas.npz is missing, unreadable or made for another model or architecture; the message says which."""


def layer_label(layer: str) -> str:
    """'stem_conv' -> 'Stem convolution'; 'block3_5x5_reduce' -> 'Block 3 · 1x1 reduction before the 5x5'."""
    match = LAYER_NAME.fullmatch(layer)
    if not match or layer == "stem_conv":
        return "Stem convolution" if layer == "stem_conv" else layer
    block, branch, reduce = match.groups()
    return f"Block {block} · " + (f"1x1 reduction before the {branch}" if reduce else f"{branch} branch")


@dataclass(frozen=True)
class Atlas:
    arrays: dict

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    @property
    def layers(self) -> list[str]:
        return [str(name) for name in self.arrays["layers"]]

    def channels(self, layer: str) -> int:
        return int(self.arrays["channels"][self.layers.index(layer)])

    def row(self, layer: str, channel: int) -> int:
        number = self.layers.index(layer)
        if not 0 <= channel < int(self.arrays["channels"][number]):
            raise IndexError(f"{layer} has {self.channels(layer)} channels, not channel {channel}")
        return int(self.arrays["channels"][:number].sum()) + channel

    def rows(self, layer: str) -> slice:
        start = self.row(layer, 0)
        return slice(start, start + self.channels(layer))

    def dead(self, row: int) -> bool:
        """The channel never passes anything on: its ReLU'd output is zero on every test image."""
        return float(self.arrays["best_mean"][row]) <= 0.0

    def peak_box(self, layer: str, row: int, rank: int) -> tuple[int, int, int, int]:
        """Input pixels (top, left, bottom, right) seen by the unit where top image ``rank`` peaks."""
        number = self.layers.index(layer)
        peak_row, peak_col = (int(v) for v in self.arrays["top_peak"][row, rank])
        return receptive_box(peak_row, peak_col, int(self.arrays["field"][number]), int(self.arrays["jump"][number]))

    def visual_strength(self, row: int) -> float:
        """The activation the feature visualisation reaches, as a multiple of the best test image's."""
        best = float(self.arrays["best_mean"][row])
        return float(self.arrays["visual_mean"][row]) / best if best > 0 else 0.0

    def knockout(self, row: int) -> dict:
        """On the probe set, with the channel and without: per class, accuracy and mean true-class
        probability; over all probe images, ``total`` and ``total_off`` accuracy."""
        count = np.maximum(self.arrays["probe_count"], 1)
        probes = max(int(self.arrays["probe_count"].sum()), 1)
        return {
            "accuracy": self.arrays["probe_correct"] / count,
            "accuracy_off": self.arrays["knockout_correct"][row] / count,
            "probability": self.arrays["probe_true_probability"] / count,
            "probability_off": self.arrays["knockout_true_probability"][row] / count,
            "total": float(self.arrays["probe_correct"].sum()) / probes,
            "total_off": float(self.arrays["knockout_correct"][row].sum()) / probes,
        }

    def favourite_classes(self, row: int, count: int = 2) -> list[int]:
        """The classes with the highest mean activation, strongest first."""
        return [int(k) for k in np.argsort(-self.arrays["class_mean"][row], kind="stable")[:count]]


def expected_layers(architecture: list[dict]) -> list[tuple[str, int]]:
    """(name, channels) of the convolutions a run's architecture.json lists."""
    return [(row["name"], int(row["output_shape"][-1])) for row in architecture if row["type"] == "Conv2D"]


def read(folder: Path, architecture: list[dict], images: int, model_sha256: str, file_name: str = "atlas.npz") -> Atlas:
    """The run's atlas, checked against the run; AtlasError if missing, unreadable or inconsistent."""
    path = Path(folder) / file_name
    if not path.is_file():
        raise AtlasError(f"This run has no channel atlas yet ({path.name} is missing).")
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in (*ROW_ARRAYS, *LAYER_ARRAYS, *OTHER_ARRAYS)}
    except Exception as exc:  # truncated, not a zip, a missing array, object arrays
        raise AtlasError(f"{path.name} cannot be read ({type(exc).__name__}: {exc}).") from exc
    if str(arrays["model_sha256"]) != model_sha256:
        raise AtlasError(f"{path.name} was computed for another model file than this run's (retrained since?).")
    listed = [(str(name), int(count)) for name, count in zip(arrays["layers"], arrays["channels"])]
    expected = expected_layers(architecture)
    if sorted(listed) != sorted(expected):  # the same convolutions and widths (the atlas orders them by branch)
        raise AtlasError(
            f"{path.name} describes other convolutions ({len(listed)} layers, {sum(c for _, c in listed)} channels) "
            f"than this run's architecture ({len(expected)} layers, {sum(c for _, c in expected)} channels)."
        )
    total = sum(count for _, count in listed)
    for key, shape in ROW_ARRAYS.items():
        if arrays[key].shape != (total, *shape):
            raise AtlasError(
                f"{path.name} is inconsistent: {key} has shape {arrays[key].shape}, not {(total, *shape)}."
            )
    if int(arrays["images"]) != images or arrays["top_index"].min() < 0 or arrays["top_index"].max() >= images:
        raise AtlasError(f"{path.name} was made from {int(arrays['images'])} test images; this run has {images}.")
    return Atlas(arrays)
