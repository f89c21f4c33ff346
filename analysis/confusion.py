"""Views of a confusion matrix: normalised rows, the most confused pairs, a cell's images."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataset.fashion_mnist import CLASS_ABBREVIATIONS, CLASS_NAMES


def row_normalised(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its total: the share of each true class predicted as each class."""
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)


TRUE_AXIS, PREDICTED_AXIS = "True class ↓", "Predicted class →"


def confusion_frame(confusion: np.ndarray, normalise: bool = False, abbreviated: bool = False) -> pd.DataFrame:
    """Rows: true classes, columns: predicted classes (``abbreviated``: named in three letters, for a phone), with the
    axes named (a table shows the rows' name in its corner, the columns' name above them)."""
    values = row_normalised(confusion) if normalise else np.asarray(confusion)
    names = list(CLASS_ABBREVIATIONS if abbreviated else CLASS_NAMES)
    frame = pd.DataFrame(values, index=names, columns=names)
    frame.index.name, frame.columns.name = ("True", PREDICTED_AXIS) if abbreviated else (TRUE_AXIS, PREDICTED_AXIS)
    return frame


def class_index(name: str) -> int:
    """The class of a confusion frame's row or column, by its name or its abbreviation."""
    return CLASS_NAMES.index(name) if name in CLASS_NAMES else CLASS_ABBREVIATIONS.index(name)


def abbreviations_legend() -> str:
    """'Top T-shirt/top · Tro Trouser · ...': what the phone's column headings stand for."""
    return " · ".join(f"{short} {name}" for short, name in zip(CLASS_ABBREVIATIONS, CLASS_NAMES))


def most_confused_pairs(confusion: np.ndarray, top: int = 10) -> pd.DataFrame:
    """Off-diagonal cells, largest first: true class, predicted class, count, share of the true class."""
    confusion = np.asarray(confusion)
    shares = row_normalised(confusion)
    rows = [
        {
            "true": CLASS_NAMES[t],
            "predicted": CLASS_NAMES[p],
            "count": int(confusion[t, p]),
            "share of true class": float(shares[t, p]),
            "true_index": t,
            "predicted_index": p,
        }
        for t in range(len(confusion))
        for p in range(len(confusion))
        if t != p and confusion[t, p] > 0
    ]
    frame = pd.DataFrame(
        rows, columns=["true", "predicted", "count", "share of true class", "true_index", "predicted_index"]
    )
    return frame.sort_values("count", ascending=False, kind="stable").head(top).reset_index(drop=True)


def cell_indices(
    labels: np.ndarray,
    predictions: np.ndarray,
    true_class: int,
    predicted_class: int,
    probabilities: np.ndarray | None = None,
) -> np.ndarray:
    """Test indices in one confusion cell, most confident prediction first when probabilities are given."""
    idx = np.flatnonzero((labels == true_class) & (predictions == predicted_class))
    if probabilities is not None:
        idx = idx[np.argsort(-probabilities[idx, predicted_class], kind="stable")]
    return idx


def scores_frame(per_class: dict) -> pd.DataFrame:
    frame = pd.DataFrame({k: per_class[k] for k in ("precision", "recall", "f1", "support")}, index=list(CLASS_NAMES))
    frame.index.name = "class"
    return frame
