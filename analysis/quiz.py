"""Predict, then reveal: quiz questions drawn from the test set, the same for everyone with the same link.

``draw(seed, count, mix)`` picks test images of the kinds a teacher asks for (easy, near misses,
confident mistakes, or a mix), in an order fixed by the seed, so ``?quiz=7&questions=10&mix=mistakes``
gives every student the same questions. TensorFlow-free.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIXES = {
    "mixed": "A mix of the three kinds",
    "easy": "Easy: the network is right and sure",
    "near": "Near misses: the network hesitates between two classes",
    "mistakes": "Confident mistakes: the network is wrong and sure",
}
EASY_CONFIDENCE = 0.95
NEAR_MARGIN = 0.15  # top probability minus the runner-up's
MISTAKE_CONFIDENCE = 0.7
MAX_QUESTIONS = 500


def mix_name(mix: str) -> str:
    """A kind of quiz in a few words: 'Confident mistakes' (MIXES says what it means)."""
    return MIXES[mix].split(":")[0]


def pools(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Test indices of each kind of question (a near miss may be right or wrong)."""
    predicted, ranked = probabilities.argmax(axis=1), np.sort(probabilities, axis=1)
    confidence, margin = ranked[:, -1], ranked[:, -1] - ranked[:, -2]
    return {
        "easy": np.flatnonzero((predicted == labels) & (confidence >= EASY_CONFIDENCE)),
        "near": np.flatnonzero(margin < NEAR_MARGIN),
        "mistakes": np.flatnonzero((predicted != labels) & (confidence >= MISTAKE_CONFIDENCE)),
    }


@dataclass(frozen=True)
class Quiz:
    seed: int
    mix: str
    indices: np.ndarray  # test indices, in question order
    notice: str | None = None  # what was done instead of an impossible request


def draw(labels: np.ndarray, probabilities: np.ndarray, seed: int, count: int, mix: str = "mixed") -> Quiz:
    """``count`` questions of kind ``mix`` in an order fixed by ``seed`` (no image twice)."""
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {', '.join(MIXES)}, not {mix!r}")
    rng = np.random.default_rng(seed)
    available = pools(labels, probabilities)
    kinds = list(available) if mix == "mixed" else [mix]
    wanted = {kind: count // len(kinds) + (i < count % len(kinds)) for i, kind in enumerate(kinds)}
    chosen, short = [], []
    for kind in kinds:
        pool = np.setdiff1d(available[kind], chosen)
        take = min(wanted[kind], len(pool))
        if take < wanted[kind]:
            short.append(f"{len(pool)} {kind.replace('mistakes', 'confident mistakes').replace('near', 'near misses')}")
        chosen.extend(rng.choice(pool, size=take, replace=False).tolist())
    order = rng.permutation(len(chosen))
    notice = None
    if short:
        notice = (
            f"The link asks for {count} questions, but this run's test set has only {', '.join(short)}: "
            f"the quiz has {len(chosen)} questions."
        )
    return Quiz(seed, mix, np.asarray(chosen, dtype=int)[order], notice)


CELLS = 7  # the image is split into 7 x 7 squares of 4 x 4 pixels for "where does it look?"


def cell_shares(saliency: np.ndarray, cells: int = CELLS) -> np.ndarray:
    """(cells, cells) share of a map's total weight in each square of the image (all zero for a blank map)."""
    size = saliency.shape[0] // cells
    blocks = np.asarray(saliency, dtype=np.float64)[: size * cells, : size * cells]
    sums = blocks.reshape(cells, size, cells, size).sum(axis=(1, 3))
    total = sums.sum()
    return sums / total if total > 0 else sums


def where_verdict(saliency: np.ndarray, row: int, col: int, cells: int = CELLS) -> str:
    """How much of the map lies in the square the student picked, against an even spread and the map's peak."""
    shares = cell_shares(saliency, cells)
    if not shares.any():
        return "The map is blank for this image, so it cannot say where the network looked."
    best = np.unravel_index(int(shares.argmax()), shares.shape)
    distance = int(max(abs(best[0] - row), abs(best[1] - col)))
    return (
        f"The map puts {shares[row, col]:.0%} of its weight in the square you picked (an even spread would put "
        f"{1 / cells**2:.0%}); its strongest square holds {shares[best]:.0%}"
        + (", and it is the one you picked." if distance == 0 else f", {distance} square{'s' * (distance > 1)} away.")
    )


def answer_sheet(quiz: Quiz, labels: np.ndarray, probabilities: np.ndarray, class_names) -> pd.DataFrame:
    """One row per question: the test image, the true class, the network's answer and its confidence."""
    predicted = probabilities[quiz.indices].argmax(axis=1)
    return pd.DataFrame(
        {
            "question": np.arange(1, len(quiz.indices) + 1),
            "test image": quiz.indices,
            "true class": [class_names[k] for k in labels[quiz.indices]],
            "network's answer": [class_names[k] for k in predicted],
            "confidence": probabilities[quiz.indices].max(axis=1).round(4),
            "network right": predicted == labels[quiz.indices],
        }
    )


def printable_html(
    sheet: pd.DataFrame, pictures: list[str], title: str, link: str, class_names, qr_svg: str = ""
) -> str:
    """A printable page: the full link with its QR code, the ten classes to choose from, the questions with
    their pictures (PNG data URLs), then the answers on a new page."""
    rows = "".join(
        f"<div class='q'><img src='{picture}' width='112' height='112' alt='Question {int(q)}: a test image'>"
        f"<p>{int(q)}. Which class will the network predict? ______________</p></div>"
        for q, picture in zip(sheet["question"], pictures)
    )
    classes = "".join(f"<li>{html.escape(name)}</li>" for name in class_names)
    answers = sheet.to_html(index=False, escape=True)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif}}"
        ".q{display:inline-block;width:30%;margin:8px;vertical-align:top}img{image-rendering:pixelated}"
        ".link{display:flex;gap:16px;align-items:center}.link code{font-size:14pt;word-break:break-all}"
        ".classes{columns:5;font-size:11pt}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px}"
        ".answers{page-break-before:always}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><div class='link'>{qr_svg}<p>Open this quiz:<br>"
        f"<code>{html.escape(link)}</code></p></div>"
        f"<h2>The ten classes</h2><ol class='classes' start='0'>{classes}</ol><h2>Questions</h2>{rows}"
        f"<div class='answers'><h2>Answers</h2>{answers}</div></body></html>"
    )
