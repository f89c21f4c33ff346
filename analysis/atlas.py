"""Reading the channel atlas (``atlas.npz``, written by ``python -m explain.atlas``) without TensorFlow.

One row per channel, layers in the order of ``Atlas.layers``; ``Atlas.row(layer, channel)`` finds a
channel's row. ``read`` checks the file against the run (its model file, its convolutions as
architecture.json lists them, its number of test images) and raises ``AtlasError`` with a message a
user can act on when it is missing, unreadable or made for something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.architecture import receptive_box
from runfolder import artefacts
from runfolder.artefacts import AtlasError  # noqa: F401  (the pages catch it by this name)


def layer_label(layer: str) -> str:
    """'stem_conv' -> 'Stem convolution'; 'block3_5x5_reduce' -> 'Block 3 · 1x1 reduction before the 5x5'."""
    match = artefacts.ATLAS_LAYER_NAME.fullmatch(layer)
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

    def channel(self, layer: str, row: int) -> int:
        """The channel number of ``row`` within ``layer`` (the inverse of ``row``)."""
        return row - self.rows(layer).start

    def layer_summary(self, layer: str, class_names) -> str:
        """The layer's channels in words: how many are dead, and the classes they most often prefer."""
        rows = range(self.rows(layer).start, self.rows(layer).stop)
        alive = [row for row in rows if not self.dead(row)]
        favourites = np.bincount([self.favourite_classes(row, 1)[0] for row in alive], minlength=len(class_names))
        top = np.argsort(-favourites, kind="stable")[:2]
        said = f"{len(rows)} channels, {len(rows) - len(alive)} dead (never active on the test images)."
        if alive:
            said += (
                f" Most often a channel fires most for {class_names[top[0]]} ({favourites[top[0]]} channels), "
                f"then {class_names[top[1]]} ({favourites[top[1]]})."
            )
        return said


def read(folder: Path, architecture: list[dict], images: int, model_sha256: str) -> Atlas:
    """The run's atlas, validated against the run (runfolder.artefacts); AtlasError if missing, unreadable
    or inconsistent."""
    return Atlas(artefacts.read_atlas(folder, architecture, images, model_sha256))
