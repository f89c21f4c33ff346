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
    threshold: float  # the test set's PERCENTILE of the same quantity
    percentile: float  # where this picture's mean distance falls among the test images' (0-100)

    @property
    def unfamiliar(self) -> bool:
        return self.mean_distance > self.threshold

    @property
    def level(self) -> str:
        """'familiar', 'unusual' (farther than 90% of test images) or 'unfamiliar' (than 99%)."""
        if self.unfamiliar:
            return "unfamiliar"
        return "unusual" if self.percentile > UNUSUAL_PERCENTILE else "familiar"


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
    own PERCENTILE (``reference``: reference_distances(features))."""
    order, distances = nearest(query, features, k)
    mean = float(distances.mean())
    return Familiarity(
        neighbours=order,
        distances=distances,
        mean_distance=mean,
        threshold=float(np.percentile(reference, PERCENTILE)),
        percentile=float((reference < mean).mean() * 100.0),
    )
