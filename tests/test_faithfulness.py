"""The faithfulness metrics on cases whose right answer is known.

A synthetic "model" looks only at one 8x8 region of the image: its confidence in class 0 rises with
the number of bright (>= 0.95) pixels there. The garment is a 24x24 square of grey 0.9 with fine
stripes of 1.0 and 0.6 in that region: blurring the image (the start of insertion) removes the bright
stripes, and Sobel edges see only the square's outline (period-2 stripes have no central difference).
So a map that marks the region must beat every control; an edge map must not beat the garment
control; a blank map is no better than chance.
"""

import numpy as np
import pytest

from analysis import trust
from explain import faithfulness as fa
from explain.occlusion import occlusion_maps, patch_corners

REGION = (slice(10, 18), slice(10, 18))


def region_model(batch: np.ndarray) -> np.ndarray:
    """P(class 0) = sigmoid(20 * (share of bright pixels in REGION - 0.25)); the rest spread evenly."""
    batch = np.asarray(batch, dtype=np.float64).reshape(-1, 28, 28)
    evidence = (batch[:, REGION[0], REGION[1]] >= 0.95).mean(axis=(1, 2))
    p0 = 1.0 / (1.0 + np.exp(-20.0 * (evidence - 0.25)))
    return np.column_stack([p0] + [(1.0 - p0) / 9.0] * 9)


def garment() -> np.ndarray:
    image = np.zeros((28, 28, 1), dtype=np.float32)
    image[2:26, 2:26, 0] = 0.9
    image[10:18:2, 10:18, 0] = 1.0
    image[11:18:2, 10:18, 0] = 0.6
    return image


def region_map() -> np.ndarray:
    saliency = np.zeros((28, 28))
    saliency[REGION] = 1.0
    return saliency


def test_auc_by_the_trapezoid_rule_on_known_curves():
    assert fa.auc(np.ones(fa.STEPS + 1)) == pytest.approx(1.0)
    assert fa.auc(np.linspace(1.0, 0.0, fa.STEPS + 1)) == pytest.approx(0.5)
    assert fa.auc(np.r_[1.0, np.zeros(fa.STEPS)]) == pytest.approx(0.5 / fa.STEPS)


def test_orders_break_ties_at_random_never_by_position():
    rng = np.random.default_rng(1)
    blank = fa.order_from_map(np.zeros((28, 28)), rng)
    assert sorted(blank) == list(range(784))
    assert not np.array_equal(blank, np.arange(784))  # a stable sort would give the raster scan
    ranked = fa.order_from_map(region_map(), rng)
    assert set(ranked[:64]) == set(np.flatnonzero(region_map().reshape(-1)))


def test_garment_order_puts_every_ink_pixel_before_the_background():
    image = garment()
    order = fa.garment_order(image, np.random.default_rng(2))
    ink = image.reshape(-1) > 0
    assert ink[order[: ink.sum()]].all() and not ink[order[ink.sum() :]].any()


def test_deletion_and_insertion_images():
    image = garment()
    order = fa.order_from_map(region_map(), np.random.default_rng(3))
    deleted = fa.deletion_images(image, order)
    assert deleted.shape == (fa.STEPS + 1, 28, 28, 1)
    assert np.array_equal(deleted[0], image) and not deleted[-1].any()
    inserted = fa.insertion_images(image, order)
    assert np.allclose(inserted[0], fa.blurred(image)) and np.allclose(inserted[-1], image)


def test_the_synthetic_model_is_what_the_tests_assume():
    image = garment()
    assert region_model(image)[0, 0] > 0.95 and region_model(fa.blurred(image))[0, 0] < 0.05
    edges = fa.edge_map(image)
    assert edges[REGION].max() < 0.5 * edges.max()  # the outline, not the stripes, has the edges


def test_a_map_of_the_region_the_model_uses_beats_every_control():
    verdict = fa.image_verdict(region_model, garment(), region_map(), target=0, seed=4)
    for test in fa.TESTS:
        assert set(verdict.beaten(test)) == set(fa.CONTROLS), (test, verdict.map_auc(test))
    assert "beats a random order and the garment order in both tests" in fa.verdict_sentence(verdict)


def test_an_edge_map_does_not_beat_the_garment_control():
    image = garment()
    verdict = fa.image_verdict(region_model, image, fa.edge_map(image), target=0, seed=5)
    assert "garment" not in verdict.beaten("deletion") and "garment" not in verdict.beaten("insertion")


def test_a_blank_map_is_no_better_than_chance_on_average():
    image = garment()
    deletion = [fa.image_verdict(region_model, image, np.zeros((28, 28)), target=0, seed=s) for s in range(10)]
    blank = np.mean([v.map_auc("deletion") for v in deletion])
    random = np.mean([v.control_auc("deletion", "random") for v in deletion])
    assert abs(blank - random) < 0.05  # a random order in disguise, not a raster scan


def test_occlusion_finds_the_region_the_model_uses():
    maps = occlusion_maps(region_model, garment()[np.newaxis], [0])
    assert maps.shape == (1, 28, 28) and 0.0 < maps.max() <= 1.0  # a drop of probability

    # Each patch covering (13, 13) lies inside the region and hides 8 of its 32 bright pixels (share 0.5 -> 0.375).
    def p0(share):
        return 1 / (1 + np.exp(-20 * (share - 0.25)))

    assert maps[0, 13, 13] == pytest.approx(p0(0.5) - p0(0.375), abs=1e-4)
    inside = maps[0][REGION].mean()
    outside = maps[0][np.ones((28, 28), bool) ^ np.pad(np.ones((8, 8), bool), 10)].mean()
    assert inside > 5 * outside
    assert patch_corners()[-1] == 24 and len(patch_corners()) == 13  # the patches cover the border


def test_spearman_on_known_pairs():
    a = np.arange(784.0).reshape(28, 28)
    assert fa.spearman(a, a) == pytest.approx(1.0)
    assert fa.spearman(a, -a) == pytest.approx(-1.0)
    assert fa.spearman(a, a**3) == pytest.approx(1.0)  # ranks only
    assert np.isnan(fa.spearman(a, np.zeros((28, 28))))  # a blank map has no ranking
    noise = np.random.default_rng(6).random((2, 28, 28))
    assert abs(fa.spearman(noise[0], noise[1])) < 0.1


def _entry(garment_deletion, garment_insertion, head_random, blank=0.0):
    return {
        "beats": {"deletion": {"garment": garment_deletion}, "insertion": {"garment": garment_insertion}},
        "randomisation": {"output": head_random, "dense": head_random},
        "blank_rate": blank,
    }


@pytest.mark.parametrize(
    "entry, verdict",
    [
        (_entry(0.8, 0.7, 0.1), "passes"),
        (_entry(0.8, 0.4, 0.1), "not-faithful"),  # insertion alone fails it
        (_entry(0.8, 0.7, 0.9), "not-model"),  # Grad-CAM++ at block 3 on the shipped model looks like this
        (_entry(0.2, 0.3, 0.9), "neither"),
        (_entry(0.8, 0.7, 0.1, blank=0.25), "blank"),  # plain Grad-CAM at block 3
        (_entry(0.8, 0.7, None), "not-model"),  # no correlation could be measured: not shown to follow the model
    ],
)
def test_the_rule(entry, verdict):
    assert trust.judge(entry)[0] == verdict


def test_the_default_is_the_clearest_pass_or_else_the_best_fallback():
    entries = {"a": _entry(0.6, 0.6, 0.1), "b": _entry(0.9, 0.8, 0.2), "c": _entry(0.95, 0.95, 0.9)}
    for entry in entries.values():
        entry["passes"] = trust.judge(entry)[0] == "passes"
    assert trust.choose_default(entries) == "b"  # c beats the garment more clearly, but fails randomisation
    for entry in entries.values():
        entry["passes"] = False
    assert trust.choose_default(entries) == "b"  # model-sensitive first, then faithful


def _verdict(deletion: dict[str, float], insertion: dict[str, float]) -> fa.ImageVerdict:
    """An ImageVerdict whose curves are flat at the given levels (a flat curve's area is its level)."""

    def flat(level: float, rows: int = 1) -> np.ndarray:
        return np.full((rows, fa.STEPS + 1), level)

    return fa.ImageVerdict(
        map_curves=fa.Curves(flat(deletion["map"]), flat(insertion["map"])),
        control_curves={n: fa.Curves(flat(deletion[n], 3), flat(insertion[n], 3)) for n in fa.CONTROLS},
    )


# Controls' areas: deletion (smaller is better) and insertion (larger is better).
CONTROL_AREAS = ({"random": 0.5, "garment": 0.3, "edges": 0.4}, {"random": 0.5, "garment": 0.7, "edges": 0.6})


@pytest.mark.parametrize(
    "map_areas, words",
    [
        (
            (0.2, 0.8),
            [
                "Deletion: falls faster than every control",
                "Insertion: recovers faster than every control",
                "beats a random order and the garment order in both tests",
            ],
        ),
        (
            (0.2, 0.55),
            [
                "Deletion: falls faster than every control",
                "Insertion: recovers faster than a random order, but not faster than the garment order or "
                "the edge order",
                "the garment order in deletion only",
            ],
        ),
        (
            (0.35, 0.65),
            [
                "Deletion: falls faster than a random order and the edge order, but not faster than the garment order",
                "Insertion: recovers faster than a random order and the edge order, but "
                "not faster than the garment order",
                "may just be tracing the garment",
            ],
        ),
        (
            (0.35, 0.45),
            ["Insertion: recovers faster than none of the controls", "beats a random order in deletion only"],
        ),
        ((0.6, 0.45), ["Deletion: falls faster than none of the controls", "does not beat a random order in either"]),
        (
            (0.6, 0.75),
            [
                "Deletion: falls faster than none",
                "Insertion: recovers faster than every control",
                "beats a random order in insertion only",
            ],
        ),
    ],
)
def test_the_per_image_verdict_states_each_test_as_its_chart_shows(map_areas, words):
    deletion, insertion = CONTROL_AREAS
    verdict = _verdict({**deletion, "map": map_areas[0]}, {**insertion, "map": map_areas[1]})
    text = fa.verdict_sentence(verdict)
    for phrase in words:
        assert phrase in text, (phrase, text)
    # The sentence never claims a win the chart does not show.
    for test in fa.TESTS:
        for name in fa.CONTROLS:
            if name not in verdict.beaten(test):
                assert f"{fa.TEST_VERBS[test]} every control" not in text or test not in text.split(":")[0].lower()
