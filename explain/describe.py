"""Maps and tile grids in words: the text a screen reader reads, and a check for everyone's eyes.

``describe_map`` says where a map is strongest and how concentrated it is, from the numbers that are
drawn (numpy only; a 28 x 28 map takes microseconds).
"""

from __future__ import annotations

import numpy as np

ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")
TOP_SHARE = 0.10  # "its strongest tenth of the pixels"


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
    strongest = np.argsort(v, axis=None)[::-1][:count]
    share = v.ravel()[strongest].sum() / total
    rows, cols = np.unravel_index(strongest, v.shape)
    weights = v.ravel()[strongest]
    centre_row, centre_col = np.average(rows, weights=weights), np.average(cols, weights=weights)
    place = position(centre_row + 0.5, centre_col + 0.5, *v.shape)
    spread = "concentrated" if share >= 0.5 else "spread out" if share < 0.25 else "moderately concentrated"
    # Where the strongest tenth lies, and apart from it the single highest pixel, which can lie elsewhere (a
    # lone bright pixel in a corner): "strongest in the centre (peak at row 3, column 3)" read as a contradiction.
    return (
        f"{name} is strongest {'in the' if place == 'centre' else 'at the'} {place}: its strongest tenth of the "
        f"pixels is centred there and holds {share:.0%} of its total ({spread}). Its single highest pixel: row "
        f"{peak_row + 1}, column {peak_col + 1} of {v.shape[0]} x {v.shape[1]}."
    )
