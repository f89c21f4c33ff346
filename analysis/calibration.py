"""Whether the model's confidence can be taken at its word: reliability bins and calibration error.

A model is calibrated when, of all the answers it gives with 80% confidence, about 80% are right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BINS = 10


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Test images grouped by the confidence of their top answer into equal-width bins over (0, 1].

    One row per non-empty bin: its edges, the number of images, their mean confidence and the share
    of them answered correctly.
    """
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # right=True puts a confidence of exactly 0.9 in (0.8, 0.9], and 1.0 in the last bin.
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = [
        {
            "lower": edges[b],
            "upper": edges[b + 1],
            "images": int(members.sum()),
            "confidence": float(confidence[members].mean()),
            "accuracy": float(correct[members].mean()),
        }
        for b in range(bins)
        if (members := which == b).any()
    ]
    return pd.DataFrame(rows, columns=["lower", "upper", "images", "confidence", "accuracy"])


@dataclass(frozen=True)
class Calibration:
    mean_confidence: float
    accuracy: float
    expected_calibration_error: float  # image-weighted mean of |accuracy - confidence| over the bins
    bins: pd.DataFrame

    @property
    def verdict(self) -> str:
        """'overconfident', 'underconfident' or 'well calibrated' (within half a point on average)."""
        gap = self.mean_confidence - self.accuracy
        if abs(gap) < 0.005:
            return "well calibrated"
        return "overconfident" if gap > 0 else "underconfident"


def calibration(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> Calibration:
    table = reliability_bins(probabilities, labels, bins)
    weights = table["images"] / table["images"].sum()
    return Calibration(
        mean_confidence=float((weights * table["confidence"]).sum()),
        accuracy=float((weights * table["accuracy"]).sum()),
        expected_calibration_error=float((weights * (table["accuracy"] - table["confidence"]).abs()).sum()),
        bins=table,
    )


def smoothed_target(label_smoothing: float, classes: int) -> float:
    """The probability that label smoothing asks the model to give the true class."""
    return 1.0 - label_smoothing + label_smoothing / classes


def label_smoothing_effect(label_smoothing: float, classes: int) -> str:
    """One sentence on what the run's label smoothing does to its confidence."""
    if not label_smoothing:
        return (
            "It was trained without label smoothing, which pushes its answer on every training image towards 100% "
            "and tends to make networks overconfident."
        )
    return (
        f"It was trained with label smoothing {label_smoothing:g}, which asks it to give the true class "
        f"{smoothed_target(label_smoothing, classes):.0%} rather than 100%: it pulls every confidence down."
    )
