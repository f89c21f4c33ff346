"""Is a saliency map faithful to the model? Deletion and insertion curves against fair controls.

A map ranks the 784 pixels. Two tests use that ranking (Petsiuk et al., 2018, "RISE"):

- **Deletion**: remove pixels (set them to black, "no ink") most salient first and follow the
  target class's probability. A faithful map makes it fall fast: a *small* area under the curve.
- **Insertion**: start from the image blurred with a Gaussian (sigma 3 px) and put the original
  pixels back, most salient first. A faithful map makes the probability rise fast: a *large* area.

Beating a uniformly random order is not enough on Fashion-MNIST: about half of every image is
exactly black, so a random order wastes half its deletions on pixels that are already black, and
any map that merely sits on the garment wins. So every map is compared with three controls that
know nothing about the model:

- ``random``: uniformly random orders (the mean over several);
- ``garment``: the garment's (non-zero) pixels first, in random order, then the background;
- ``edges``: the image's Sobel edge magnitude, strongest first.

A map earns trust only by beating the controls, above all ``garment``. Ties in a map (a flat
region, a blank map) are broken at random, never by pixel position: a stable sort would turn a
blank map into a top-left-to-bottom-right raster scan. This module needs NumPy and SciPy only; the
model is passed in as ``predict(batch) -> probabilities``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

STEPS = 20  # fractions 0, 0.05, ..., 1
BLUR_SIGMA = 3.0
RANDOM_ORDERS = 3
CONTROLS = ("random", "garment", "edges")
CONTROL_LABELS = {
    "random": "a random order",
    "garment": "garment pixels first (random order)",
    "edges": "strongest edges first",
}
TESTS = ("deletion", "insertion")

Predict = Callable[[np.ndarray], np.ndarray]


def fractions(steps: int = STEPS) -> np.ndarray:
    return np.linspace(0.0, 1.0, steps + 1)


def auc(curve: np.ndarray) -> float:
    """Area under a curve sampled at ``fractions(len(curve) - 1)``, by the trapezoid rule."""
    curve = np.asarray(curve, dtype=np.float64)
    return float(np.trapezoid(curve, fractions(len(curve) - 1)))


# --------------------------------------------------------------------------- pixel orders


def order_from_map(saliency: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pixel indices, most salient first; equal values in random order."""
    values = np.asarray(saliency, dtype=np.float64).reshape(-1)
    return np.lexsort((rng.random(values.size), -values))


def random_order(size: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(size)


def garment_order(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The non-zero (garment) pixels in random order, then the background in random order."""
    ink = np.asarray(image).reshape(-1) > 0
    return np.lexsort((rng.random(ink.size), ~ink))


def edge_map(image: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the image: a map that knows edges, not the model."""
    image = np.asarray(image, dtype=np.float64).reshape(28, 28)
    from scipy import ndimage  # imported here: the TensorFlow-free pages import this module for its names only

    return np.hypot(ndimage.sobel(image, axis=0), ndimage.sobel(image, axis=1))


def control_orders(image: np.ndarray, rng: np.random.Generator, random_orders: int = RANDOM_ORDERS) -> dict:
    """name -> list of orders: several for ``random``, one each for the others."""
    size = np.asarray(image).size
    return {
        "random": [random_order(size, rng) for _ in range(random_orders)],
        "garment": [garment_order(image, rng)],
        "edges": [order_from_map(edge_map(image), rng)],
    }


# --------------------------------------------------------------------------- curves


def blurred(image: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    from scipy import ndimage

    return ndimage.gaussian_filter(image.reshape(28, 28), sigma=sigma, mode="constant").reshape(image.shape)


def _counts(size: int, steps: int) -> np.ndarray:
    return np.round(np.linspace(0, size, steps + 1)).astype(int)


def deletion_images(image: np.ndarray, order: np.ndarray, steps: int = STEPS) -> np.ndarray:
    """(steps + 1, 28, 28, 1): the image with its first k pixels of ``order`` set to black."""
    flat = np.asarray(image, dtype=np.float32).reshape(-1)
    batch = np.repeat(flat[np.newaxis], steps + 1, axis=0)
    for row, count in enumerate(_counts(flat.size, steps)):
        batch[row, order[:count]] = 0.0
    return batch.reshape(steps + 1, 28, 28, 1)


def insertion_images(image: np.ndarray, order: np.ndarray, steps: int = STEPS, start=None) -> np.ndarray:
    """(steps + 1, 28, 28, 1): the blurred image with its first k pixels of ``order`` restored."""
    flat = np.asarray(image, dtype=np.float32).reshape(-1)
    base = (blurred(image) if start is None else np.asarray(start, dtype=np.float32)).reshape(-1)
    batch = np.repeat(base[np.newaxis], steps + 1, axis=0)
    for row, count in enumerate(_counts(flat.size, steps)):
        batch[row, order[:count]] = flat[order[:count]]
    return batch.reshape(steps + 1, 28, 28, 1)


# --------------------------------------------------------------------------- fills (scorecard version 2)

# What a removed pixel becomes. Black favours maps made by blacking pixels out (occlusion with black patches):
# each method tends to win the test that uses its own perturbation (Rong et al., 2022, "ROAD"), so the
# scorecard deletes under three fills and a verdict must hold under all of them.
FILLS = ("black", "blur", "road")
FILL_LABELS = {
    "black": "black (the background)",
    "blur": "a blur of the image (sigma 3 px)",
    "road": "ROAD's noisy linear imputation",
}
FILL_NAMES = {"black": "black", "blur": "blur", "road": "ROAD"}
ROAD_NOISE = 0.01  # Rong et al.'s default: the standard deviation of the noise added to imputed pixels
# ROAD's neighbour weights: 1/6 for the four direct neighbours, 1/12 for the four diagonal ones (sum 1).
_ROAD_WEIGHTS = {(-1, 0): 1 / 6, (1, 0): 1 / 6, (0, -1): 1 / 6, (0, 1): 1 / 6,
                 (-1, -1): 1 / 12, (-1, 1): 1 / 12, (1, -1): 1 / 12, (1, 1): 1 / 12}  # fmt: skip
_ROAD_BAND = 29  # the widest neighbour offset in row-major order on a 28x28 grid (one row and one column)
_road_graph_cache: dict = {}


def _road_graph(side: int = 28) -> np.ndarray:
    """The (side*side)^2 matrix of neighbour weights inside the frame, built once."""
    if side not in _road_graph_cache:
        graph = np.zeros((side * side, side * side))
        for r in range(side):
            for c in range(side):
                for (dr, dc), w in _ROAD_WEIGHTS.items():
                    if 0 <= r + dr < side and 0 <= c + dc < side:
                        graph[r * side + c, (r + dr) * side + c + dc] = w
        _road_graph_cache[side] = graph
    return _road_graph_cache[side]


def road_impute(image: np.ndarray, removed: np.ndarray, rng: np.random.Generator, noise: float = ROAD_NOISE):
    """ROAD's noisy linear imputation (Rong et al., 2022): each removed pixel becomes the weighted mean of its
    eight neighbours (removed ones included, so the values are found together by one linear solve), plus
    Gaussian noise of ``noise``; kept pixels are unchanged. Neighbours outside the frame count as black, the
    data set's own background, which also keeps the system solvable when every pixel is removed (ROAD itself
    drops them from the mean). Returns the flat image, clipped to [0, 1].

    The system (I - W) x = b over the removed pixels is symmetric positive definite and banded (neighbours
    are at most one row and one column apart, and dropping the kept pixels only narrows the band), so a
    banded Cholesky solve takes about a tenth of a millisecond: the scorecard needs over half a million."""
    from scipy.linalg import solveh_banded

    flat = np.asarray(image, dtype=np.float64).reshape(-1)
    removed = np.asarray(removed, dtype=bool).reshape(-1)
    out = flat.copy()
    unknown = np.flatnonzero(removed)
    if unknown.size == 0:
        return out.astype(np.float32)
    graph = _road_graph(int(round(np.sqrt(flat.size))))
    rhs = (graph @ np.where(removed, 0.0, flat))[unknown]
    band = min(_ROAD_BAND, unknown.size - 1)
    upper = np.zeros((band + 1, unknown.size))
    upper[band] = 1.0  # the diagonal of I - W
    for k in range(1, band + 1):
        upper[band - k, k:] = -graph[unknown[:-k], unknown[k:]]
    out[unknown] = solveh_banded(upper, rhs, check_finite=False) + rng.normal(0.0, noise, unknown.size)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Test:
    """One perturbation test of scorecard version 2: what happens to removed pixels, and in which order."""

    key: str
    kind: str  # "deletion" or "insertion"
    fill: str  # what removed pixels become (insertion: where it starts from)
    least_first: bool = False  # delete the *least* relevant pixels first (a faithful map keeps the class)

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "insertion" or self.least_first

    @property
    def short_label(self) -> str:
        """A chart title that fits half a phone's width."""
        if self.kind == "insertion":
            return "Insertion · from the blur"
        return f"{'Least relevant first' if self.least_first else 'Deletion'} · {FILL_NAMES[self.fill]} fill"

    @property
    def axis_title(self) -> str:
        """The x axis of this test's curves: what removed pixels become (the order is in ``short_label``; an
        axis title longer than about 50 characters is cut off at a phone's width)."""
        if self.kind == "insertion":
            return "fraction of pixels put back into the blurred image"
        becomes = {"black": "set to black", "blur": "replaced by the blur", "road": "imputed by ROAD"}[self.fill]
        return f"fraction of pixels removed ({becomes})"

    @property
    def label(self) -> str:
        if self.kind == "insertion":
            return "insertion (from the blur)"
        fill = FILL_NAMES[self.fill]
        if not self.least_first:
            return f"deletion, {fill} fill, most relevant first"
        # Deleting the least relevant pixels first, filling them with F, passes through the same images as
        # inserting the most relevant ones into F, in reverse: the same area. So this is insertion from F.
        into = {"black": "a black image", "blur": "the blur", "road": "ROAD's fill"}[self.fill]
        return f"deletion, {fill} fill, least relevant first (= insertion into {into})"


TESTS_V2 = {
    t.key: t
    for t in (
        Test("deletion_black", "deletion", "black"),
        Test("deletion_blur", "deletion", "blur"),
        Test("deletion_road", "deletion", "road"),
        Test("insertion_blur", "insertion", "blur"),
        Test("lerf_black", "deletion", "black", least_first=True),
        Test("lerf_blur", "deletion", "blur", least_first=True),
        Test("lerf_road", "deletion", "road", least_first=True),
    )
}
RULE_TESTS = ("deletion_black", "deletion_blur", "deletion_road", "insertion_blur")  # the rule's four
GARMENT_ORDERS = 3  # the garment control is the mean of this many random garment-first orders per image


def perturbed_images(
    image: np.ndarray, order: np.ndarray, test: Test, rng: np.random.Generator, steps: int = STEPS, start=None
) -> np.ndarray:
    """(steps + 1, 28, 28, 1): the images of one test along one pixel order."""
    flat = np.asarray(image, dtype=np.float32).reshape(-1)
    order = np.asarray(order)
    if test.kind == "insertion":
        return insertion_images(image, order, steps, start)
    if test.least_first:
        order = order[::-1]
    batch = np.repeat(flat[np.newaxis], steps + 1, axis=0)
    fill = None if test.fill != "blur" else (blurred(image) if start is None else start).reshape(-1)
    for row, count in enumerate(_counts(flat.size, steps)):
        removed = order[:count]
        if test.fill == "black":
            batch[row, removed] = 0.0
        elif test.fill == "blur":
            batch[row, removed] = fill[removed]
        elif count:
            mask = np.zeros(flat.size, dtype=bool)
            mask[removed] = True
            batch[row] = road_impute(flat, mask, rng)
    return batch.reshape(steps + 1, 28, 28, 1)


def test_curves(
    predict: Predict, image: np.ndarray, orders: list[np.ndarray], target: int, rng: np.random.Generator,
    tests=tuple(TESTS_V2), steps: int = STEPS,
) -> dict[str, np.ndarray]:  # fmt: skip
    """test key -> (orders, steps + 1) curves of the target probability, every test and order in one call of
    ``predict``. ROAD's noise comes from ``rng``, in a fixed order (test, then order)."""
    from threadpoolctl import threadpool_limits

    start = blurred(image)
    # ROAD's many small banded solves run 30 times slower with two BLAS threads fighting over two cores than
    # with one (measured: 12 ms against 0.34 ms a solve). TensorFlow keeps its own threads.
    with threadpool_limits(limits=1, user_api="blas"):
        batch = np.concatenate(
            [perturbed_images(image, o, TESTS_V2[t], rng, steps, start) for t in tests for o in orders]
        )
    probabilities = np.asarray(predict(batch))[:, int(target)].reshape(len(tests), len(orders), steps + 1)
    return dict(zip(tests, probabilities))


@dataclass
class Curves:
    """Deletion and insertion curves of the target probability, one row per order."""

    deletion: np.ndarray  # (orders, steps + 1)
    insertion: np.ndarray

    def aucs(self) -> dict[str, np.ndarray]:
        return {
            "deletion": np.array([auc(c) for c in self.deletion]),
            "insertion": np.array([auc(c) for c in self.insertion]),
        }


def curves(predict: Predict, image: np.ndarray, orders: list[np.ndarray], target: int, steps: int = STEPS) -> Curves:
    """Both curves for every order, in one call of ``predict``."""
    start = blurred(image)
    batch = np.concatenate(
        [deletion_images(image, o, steps) for o in orders] + [insertion_images(image, o, steps, start) for o in orders]
    )
    probabilities = np.asarray(predict(batch))[:, int(target)].reshape(2, len(orders), steps + 1)
    return Curves(deletion=probabilities[0], insertion=probabilities[1])


def beats(test: str, map_auc: float, control_auc: float) -> bool:
    """Whether a map's AUC is better than a control's: lower for deletion, higher for insertion."""
    return map_auc < control_auc if test == "deletion" else map_auc > control_auc


@dataclass
class ImageVerdict:
    """One map on one image, against the controls (the Saliency page's per-image test)."""

    map_curves: Curves  # one order: the map's
    control_curves: dict[str, Curves]  # name -> curves of its orders

    def control_auc(self, test: str, name: str) -> float:
        return float(np.mean(self.control_curves[name].aucs()[test]))

    def map_auc(self, test: str) -> float:
        return float(self.map_curves.aucs()[test][0])

    def beaten(self, test: str) -> list[str]:
        """The controls this map beats on ``test``."""
        return [n for n in CONTROLS if beats(test, self.map_auc(test), self.control_auc(test, n))]


def image_verdict(
    predict: Predict, image: np.ndarray, saliency: np.ndarray, target: int, seed: int = 0, steps: int = STEPS
) -> ImageVerdict:
    """A map and every control on one image, in a single call of ``predict`` (7 orders, 2 curves each)."""
    rng = np.random.default_rng(seed)
    controls = control_orders(image, rng)
    names = [n for n in CONTROLS for _ in controls[n]]
    orders = [order_from_map(saliency, rng)] + [o for n in CONTROLS for o in controls[n]]
    both = curves(predict, image, orders, target, steps)
    split = {n: [i + 1 for i, m in enumerate(names) if m == n] for n in CONTROLS}
    return ImageVerdict(
        map_curves=Curves(both.deletion[:1], both.insertion[:1]),
        control_curves={n: Curves(both.deletion[rows], both.insertion[rows]) for n, rows in split.items()},
    )


CONTROL_NAMES = {"random": "a random order", "garment": "the garment order", "edges": "the edge order"}
TEST_VERBS = {"deletion": "falls faster than", "insertion": "recovers faster than"}


def _listed(names: list[str], joiner: str = "and") -> str:
    words = [CONTROL_NAMES[n] for n in names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {joiner} " + words[-1]


def test_sentence(verdict, test: str) -> str:
    """One test in words, naming the controls the map beats and those it does not (as its chart shows).

    'Deletion: falls faster than a random order and the garment order, but not faster than the edge order.'"""
    beaten = verdict.beaten(test)
    lost = [n for n in CONTROLS if n not in beaten]
    verb = TEST_VERBS[test]
    if not lost:
        said = f"{verb} every control ({_listed(beaten)})"
    elif not beaten:
        said = f"{verb} none of the controls ({_listed(lost)})"
    else:
        said = f"{verb} {_listed(beaten)}, but not {verb.split()[1]} than {_listed(lost, 'or')}"
    return f"{test.capitalize()}: {said}."


def summary_sentence(verdict) -> str:
    """What the two tests together say about the map on this image, by the fair controls: a random order,
    then the garment order (a map that only traces the garment matches it)."""
    random = [t for t in TESTS if "random" in verdict.beaten(t)]
    garment = [t for t in TESTS if "garment" in verdict.beaten(t)]
    if len(random) < len(TESTS):
        if not random:
            return "It does not beat a random order in either test: on this image, read the map with caution."
        return (
            f"It beats a random order in {random[0]} only: on this image, the map's ranking is only half "
            "supported; read it with caution."
        )
    if len(garment) == len(TESTS):
        return (
            "It beats a random order and the garment order in both tests: on this image the map points at pixels "
            "the model uses more than the garment's outline does."
        )
    if garment:
        return (
            f"It beats a random order in both tests and the garment order in {garment[0]} only: on this image the "
            "map says somewhat more than where the garment is."
        )
    return (
        "It beats a random order in both tests but not the garment order: on this image the map may just be "
        "tracing the garment."
    )


def verdict_sentence(verdict: ImageVerdict) -> str:
    """The per-image verdict in words: each test on its own (agreeing with its chart), then the summary."""
    return " ".join([*(test_sentence(verdict, t) for t in TESTS), summary_sentence(verdict)])


# --------------------------------------------------------------------------- rank correlation


def spearman(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """Spearman rank correlation of two maps (NaN when either is constant, e.g. blank); over the pixels
    ``where`` is True only, if given (the garment's pixels: two maps that are both zero on the black
    background agree there for free, which inflates the correlation over all pixels)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if where is not None:
        where = np.asarray(where, dtype=bool).reshape(-1)
        a, b = a[where], b[where]
        if a.size < 2:
            return float("nan")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    # Pearson correlation of average ranks (ties share their mean rank): Spearman's definition.
    from scipy import stats

    return float(np.corrcoef(stats.rankdata(a), stats.rankdata(b))[0, 1])
