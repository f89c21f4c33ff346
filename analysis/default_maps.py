"""The run's default map of every test image and its per-image test, as stored by ``python -m
explain.default_maps`` (``default_maps.npz``): what a class asks for most (a Saliency view, a quiz reveal, a
mistake explained) answered from the run folder, the same for everybody, without TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain import faithfulness as fa
from explain.methods import expand_cam


class StoredVerdict(fa.ImageVerdict):
    """A per-image test read back from the file: the stored curves for the chart, the stored (float32)
    AUCs for the verdict, so the sentence and the chart come from one computation."""

    def __init__(self, curves: np.ndarray, aucs: np.ndarray):
        as_curves = [fa.Curves(curves[0, k][None], curves[1, k][None]) for k in range(curves.shape[1])]
        super().__init__(map_curves=as_curves[0], control_curves=dict(zip(fa.CONTROLS, as_curves[1:])))
        self.aucs = aucs

    def map_auc(self, test: str) -> float:
        return float(self.aucs[fa.TESTS.index(test), 0])

    def control_auc(self, test: str, name: str) -> float:
        return float(self.aucs[fa.TESTS.index(test), 1 + fa.CONTROLS.index(name)])


@dataclass(frozen=True)
class DefaultMaps:
    arrays: dict

    @property
    def method(self) -> str:
        return str(self.arrays["method"])

    @property
    def layer(self) -> str:
        return str(self.arrays["layer"])

    def covers(self, method: str, layer: str) -> bool:
        """Whether these are the maps of ``method`` at ``layer`` (pixel-level methods: any layer choice)."""
        return method == self.method and (self.layer == "input" or layer == self.layer)

    def map(self, index: int, target: int) -> np.ndarray | None:
        """The raw (28, 28) map of test image ``index`` for class ``target``, if stored (the predicted
        class, and the true class of a misclassified image); None otherwise."""
        if int(self.arrays["targets"][index]) == target:
            return _raw(self.arrays["map_u8"][index], self.arrays["map_peak"][index])
        row = np.searchsorted(self.arrays["other_index"], index)
        if row < len(self.arrays["other_index"]) and self.arrays["other_index"][row] == index:
            if int(self.arrays["other_target"][row]) == target:
                return _raw(self.arrays["other_u8"][row], self.arrays["other_peak"][row])
        return None

    def verdict(self, index: int, target: int) -> StoredVerdict | None:
        """The per-image test of the predicted class's map (the only one stored), else None."""
        if int(self.arrays["targets"][index]) != target:
            return None
        return StoredVerdict(np.asarray(self.arrays["curves"][index], dtype=np.float32), self.arrays["aucs"][index])


def _raw(levels: np.ndarray, peak) -> np.ndarray:
    # A CAM is stored at its layer's resolution: stretched to the image as tf-keras-vis does it.
    return expand_cam(np.asarray(levels, dtype=np.float32) / 255.0 * np.float32(peak))
