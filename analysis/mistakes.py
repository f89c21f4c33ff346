"""The Mistakes browser's logic: filter misclassified test images, sort them, page through them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dataset.fashion_mnist import CLASS_NAMES

SORT_ORDERS = {
    "confidence": "Most confidently wrong first",
    "margin": "Closest calls first (smallest margin over the true class)",
    "index": "Test-set order",
}


def mistakes_table(probabilities: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per misclassified test image.

    confidence: probability of the (wrong) predicted class; true_probability: of the true class;
    margin: confidence - true_probability (small = a close call).
    """
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities[wrong, predictions[wrong]]
    true_probability = probabilities[wrong, labels[wrong]]
    return pd.DataFrame(
        {
            "index": wrong,
            "true": labels[wrong],
            "predicted": predictions[wrong],
            "confidence": confidence,
            "true_probability": true_probability,
            "margin": confidence - true_probability,
        }
    )


def filter_and_sort(
    table: pd.DataFrame, true_class: int | None = None, predicted_class: int | None = None, sort: str = "confidence"
) -> pd.DataFrame:
    if sort not in SORT_ORDERS:
        raise ValueError(f"sort must be one of {sorted(SORT_ORDERS)}, not {sort!r}")
    selected = table
    if true_class is not None:
        selected = selected[selected["true"] == true_class]
    if predicted_class is not None:
        selected = selected[selected["predicted"] == predicted_class]
    ascending = {"confidence": False, "margin": True, "index": True}[sort]
    return selected.sort_values(sort, ascending=ascending, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Page:
    rows: pd.DataFrame
    number: int  # 1-based, clamped to the valid range
    count: int


def paginate(table: pd.DataFrame, page: int, per_page: int) -> Page:
    count = max(1, -(-len(table) // per_page))
    page = min(max(int(page), 1), count)
    start = (page - 1) * per_page
    return Page(rows=table.iloc[start : start + per_page], number=page, count=count)


def class_label(index: int | None) -> str:
    return "Any class" if index is None else CLASS_NAMES[index]
