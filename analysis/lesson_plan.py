"""A 45-minute lesson through the app: the guided path of presenter mode and of the tour link.

Each stop names a page (a label of ``dashboard.ui.PAGES``, or "Home"), what to do there and two or
three talking points. The points say only what every run's page shows, so they hold for any model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stop:
    page: str
    title: str
    minutes: int
    points: tuple[str, ...]


STOPS: tuple[Stop, ...] = (
    Stop(
        "Home",
        "Meet the network",
        3,
        (
            "A network of about a million numbers sorts small grey pictures of clothing into ten classes.",
            "It learned from 60,000 labelled pictures; the accuracy shown is on 10,000 it never saw.",
            "Ask the class: which of the ten classes will it confuse most? Keep the guesses for later.",
        ),
    ),
    Stop(
        "Your own image",
        "Draw something for it",
        7,
        (
            "Ask a student to draw a trouser or a bag: the page shows the 28 x 28 picture the network really gets.",
            "Is it sure? The familiarity check says whether the drawing looks like anything it was trained on.",
            "Try something that is not clothing: it still answers with one of its ten classes.",
        ),
    ),
    Stop(
        "How it computes",
        "One image, step by step",
        10,
        (
            "A convolution is a weighted sum of a 3 x 3 patch: the page shows the real numbers, check one.",
            "Pooling keeps the strongest response of each window; the picture gets smaller, the channels more.",
            "Softmax turns the last ten scores into probabilities that add up to 1.",
        ),
    ),
    Stop(
        "Quiz",
        "Predict the network",
        10,
        (
            "Everyone opens the same quiz (the link and QR code are in the teachers' panel at the bottom).",
            "Guess what the network will answer, not what the picture really is.",
            "Discuss the questions most of the class got wrong: what did the network see?",
        ),
    ),
    Stop(
        "Saliency",
        "Where did it look?",
        8,
        (
            "A map colours the pixels that mattered most for one answer.",
            "Switch methods on the same image: the maps do not always agree.",
            "Pick a mistake (Next mistake) and ask whether its map explains the error.",
        ),
    ),
    Stop(
        "Can the maps be trusted?",
        "Test the explanation",
        7,
        (
            "A map is a claim: remove its most important pixels first and the answer should collapse quickly.",
            "Each method is compared with fair controls (random orders, the garment's own outline).",
            "Some methods fail these tests: the page says which, and by how much.",
        ),
    ),
)


def stop_of(page: str) -> int | None:
    """The position of ``page`` in the lesson, or None when the lesson does not visit it."""
    return next((i for i, stop in enumerate(STOPS) if stop.page == page), None)


def total_minutes() -> int:
    return sum(stop.minutes for stop in STOPS)
