"""Is a picture like the images the network knows? Nearest test images in its own feature space.

The network describes every image by the 250 numbers of its penultimate layer (``head_batchnorm``;
stored for the 10,000 test images in ``test_outputs.npz``). A user's picture gets the same 250
numbers; its five nearest test images (Euclidean distance) show what the network thinks it resembles,
and the mean distance to them says how familiar it is.

The threshold is calibrated on the test set itself: each test image's mean distance to its five
nearest *other* test images, and the 99th percentile of those. A picture farther from its neighbours
than 99% of test images are from theirs is "unfamiliar": the network has seen little like it, and its
answer deserves less trust whatever its confidence. Beyond the 90th percentile it is "unusual".

This is a weak detector, and the page says so: the network maps much that is not a garment (random
noise, say) close to some garment it knows, so a "familiar" verdict does not prove a picture is a
garment; an "unfamiliar" one is a strong hint that the answer means little. NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NEIGHBOURS = 5
PERCENTILE = 99.0  # farther than this share of test images: "unfamiliar"
UNUSUAL_PERCENTILE = 90.0  # farther than this share: "unusual"


@dataclass(frozen=True)
class Familiarity:
    neighbours: np.ndarray  # test indices, nearest first
    distances: np.ndarray  # their distances
    mean_distance: float
    threshold: float  # the "unfamiliar" threshold: farther than this is farther than PERCENTILE % of test images
    unusual_threshold: float  # the same for UNUSUAL_PERCENTILE
    percentile: float  # the share of test images (0-100) whose mean distance is below this picture's

    @property
    def unfamiliar(self) -> bool:
        return self.mean_distance > self.threshold

    @property
    def level(self) -> str:
        """'familiar', 'unusual' (farther than 90% of test images) or 'unfamiliar' (than 99%). By the
        thresholds' definition (``threshold``) the same as comparing ``percentile`` with 90 and 99."""
        if self.unfamiliar:
            return "unfamiliar"
        return "unusual" if self.mean_distance > self.unusual_threshold else "familiar"

    def shown(self) -> "ShownFamiliarity":
        """The numbers as the page prints them, each with as many decimals as it takes for the printed numbers
        to compare as the exact ones do (a distance of 1.62 beyond a threshold of 1.58 is not "1.6" and
        "1.6"; 98.99% is not "99%" when 99% is the line)."""
        places = decimals([self.mean_distance, self.unusual_threshold, self.threshold], start=1)
        share = decimals([self.percentile, UNUSUAL_PERCENTILE, PERCENTILE], start=0)
        return ShownFamiliarity(
            distance=f"{self.mean_distance:.{places}f}",
            unusual_threshold=f"{self.unusual_threshold:.{places}f}",
            threshold=f"{self.threshold:.{places}f}",
            percentile=f"{self.percentile:.{share}f}",
            unusual_percentile=f"{UNUSUAL_PERCENTILE:g}",
            unfamiliar_percentile=f"{PERCENTILE:g}",
        )


@dataclass(frozen=True)
class ShownFamiliarity:
    """A Familiarity's numbers as text (Familiarity.shown)."""

    distance: str
    unusual_threshold: str
    threshold: str
    percentile: str
    unusual_percentile: str
    unfamiliar_percentile: str


def decimals(values, start: int = 0, most: int = 6) -> int:
    """The fewest decimals (at least ``start``, at most ``most``) with which the rounded values are ordered
    as the values are: no two different values print the same, no value jumps past another."""
    values = np.asarray(values, dtype=np.float64)
    exact = np.sign(values[:, None] - values[None, :])
    for places in range(start, most + 1):
        rounded = np.array([float(f"{v:.{places}f}") for v in values])
        if (np.sign(rounded[:, None] - rounded[None, :]) == exact).all():
            return places
    return most


def threshold(reference: np.ndarray, percentile: float) -> float:
    """The mean distance beyond which a picture is farther from its neighbours than ``percentile`` % of the
    test images are from theirs: the k-th smallest reference distance, k = ceil(percentile % of them). A
    picture is beyond it exactly when at least that share of test images lies below it."""
    ordered = np.sort(np.asarray(reference, dtype=np.float64))
    k = math.ceil(percentile * len(ordered) / 100.0 - 1e-9)
    return float(ordered[max(k, 1) - 1])


def _squared_distances(queries: np.ndarray, features: np.ndarray, feature_norms: np.ndarray) -> np.ndarray:
    queries = np.asarray(queries, dtype=np.float32)
    squared = (queries**2).sum(axis=1)[:, None] + feature_norms[None, :] - 2.0 * queries @ features.T
    return np.maximum(squared, 0.0)


def reference_distances(features: np.ndarray, k: int = NEIGHBOURS, chunk: int = 1000) -> np.ndarray:
    """Each test image's mean distance to its k nearest other test images (leave-one-out)."""
    features = np.asarray(features, dtype=np.float32)
    norms = (features**2).sum(axis=1)
    out = np.empty(len(features), dtype=np.float32)
    for start in range(0, len(features), chunk):
        squared = _squared_distances(features[start : start + chunk], features, norms)
        rows = np.arange(len(squared))
        squared[rows, start + rows] = np.inf  # not its own neighbour
        nearest = np.partition(squared, k, axis=1)[:, :k]
        out[start : start + chunk] = np.sqrt(nearest).mean(axis=1)
    return out


def nearest(query: np.ndarray, features: np.ndarray, k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of the k test images nearest to one feature vector, nearest first."""
    features = np.asarray(features, dtype=np.float32)
    squared = _squared_distances(np.asarray(query).reshape(1, -1), features, (features**2).sum(axis=1))[0]
    order = np.argsort(squared)[:k]
    return order, np.sqrt(squared[order])


def familiarity(query: np.ndarray, features: np.ndarray, reference: np.ndarray, k: int = NEIGHBOURS) -> Familiarity:
    """The k nearest test images of one feature vector, and whether it is farther than the test set's
    own UNUSUAL_PERCENTILE and PERCENTILE (``reference``: reference_distances(features))."""
    order, distances = nearest(query, features, k)
    return judge(order, distances, reference)


def judge(neighbours: np.ndarray, distances: np.ndarray, reference: np.ndarray) -> Familiarity:
    """The verdict on a picture whose nearest test images are ``neighbours`` at ``distances``."""
    mean = float(np.mean(distances))
    return Familiarity(
        neighbours=neighbours,
        distances=distances,
        mean_distance=mean,
        threshold=threshold(reference, PERCENTILE),
        unusual_threshold=threshold(reference, UNUSUAL_PERCENTILE),
        percentile=100.0 * np.count_nonzero(np.asarray(reference) < mean) / len(reference),  # exact at 90, 99
    )
