"""Maps and tile grids in words: the text a screen reader reads, and a check for everyone's eyes.

``describe_map`` says where a map is strongest and how concentrated it is, from the numbers that are
drawn (numpy only; a 28 x 28 map takes microseconds).
"""

from __future__ import annotations

import numpy as np

ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")
TOP_SHARE = 0.10  # "its strongest tenth of the pixels"
# Scattered: the strongest tenth lies on average more than a quarter of the picture's side from its own centre
# (a 5 x 5 blob: 0.07; stripes over a whole 28 x 28 picture, or two far corners: 0.35 and more).
SCATTERED = 0.25
MAIN_PLACES_SHARE = 0.6  # "mostly the top centre and the centre": those places hold 60% of the strongest tenth


def position(row: float, col: float, height: int, width: int) -> str:
    """A place in a picture in words, by thirds: 'top left', 'centre', 'bottom right'..."""
    r = ROWS[min(2, int(3 * row / height))]
    c = COLUMNS[min(2, int(3 * col / width))]
    if r == "middle" and c == "centre":
        return "centre"
    if r == "middle":
        return f"middle {c}"
    return f"{r} {c}" if c != "centre" else f"{r} centre"


def describe_map(values: np.ndarray, name: str = "The map") -> str:
    """Where ``values`` (a 2-D map, larger = more important) is strongest and how concentrated it is.

    'The map is strongest at the top left: its strongest tenth of the pixels is centred there and holds 62% of its
    total (concentrated). Its single highest pixel: row 3, column 5 of 28 x 28.'"""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or not np.isfinite(v).all():
        return f"{name} cannot be described: it is not a finite 2-D map."
    v = np.clip(v, 0, None)
    total = v.sum()
    if total <= 0:
        return f"{name} is blank: it marks no pixel."
    peak_row, peak_col = np.unravel_index(int(v.argmax()), v.shape)
    count = max(1, int(round(TOP_SHARE * v.size)))
    ranked = np.sort(v, axis=None)[::-1]
    share = ranked[:count].sum() / total
    # The strongest tenth with its ties (an even map's tenth is all of it, not whichever pixels sort last).
    rows, cols = np.nonzero(v >= ranked[count - 1])
    weights = v[rows, cols]
    centre_row, centre_col = np.average(rows, weights=weights), np.average(cols, weights=weights)
    distance = np.average(np.hypot(rows - centre_row, cols - centre_col), weights=weights) / max(v.shape)
    spread = "concentrated" if share >= 0.5 else "spread out" if share < 0.25 else "moderately concentrated"
    peak = f"Its single highest pixel: row {peak_row + 1}, column {peak_col + 1} of {v.shape[0]} x {v.shape[1]}."
    if distance > SCATTERED:  # the weighted centre of stripes or of two far corners is no place the map marks
        return (
            f"{name} is strongest in several places, {_main_places(rows, cols, weights, v.shape)}: its strongest "
            f"tenth of the pixels holds {share:.0%} of its total ({spread}). {peak}"
        )
    place = position(centre_row + 0.5, centre_col + 0.5, *v.shape)
    # Where the strongest tenth lies, and apart from it the single highest pixel, which can lie elsewhere (a
    # lone bright pixel in a corner): "strongest in the centre (peak at row 3, column 3)" read as a contradiction.
    return (
        f"{name} is strongest {'in the' if place == 'centre' else 'at the'} {place}: its strongest tenth of the "
        f"pixels is centred there and holds {share:.0%} of its total ({spread}). {peak}"
    )


def _main_places(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> str:
    """'mostly the top centre and the centre': the fewest thirds of the picture (at most three) that hold
    MAIN_PLACES_SHARE of the weights, or 'all over the picture' where three are not enough."""
    held: dict[str, float] = {}
    for row, col, weight in zip(rows, cols, weights):
        place = position(row + 0.5, col + 0.5, *shape)
        held[place] = held.get(place, 0.0) + weight
    ranked = sorted(held, key=held.get, reverse=True)
    total, covered = sum(held.values()), 0.0
    for count, place in enumerate(ranked[:3], start=1):
        covered += held[place]
        if covered >= MAIN_PLACES_SHARE * total:
            names = [f"the {p}" for p in ranked[:count]]
            return "mostly " + (names[0] if count == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    return "all over the picture"
