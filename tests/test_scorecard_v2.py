"""Scorecard version 2 on cases whose right answer is known: ROAD's imputation, the fills and orders, the
bootstrap interval and the sign test, the noise ceiling, a map that wins only under its own fill (which the
rule must not pass), Faster-ScoreCAM scored as the app computes it, and the file's validation."""

import json
import math

import numpy as np
import pytest

from analysis import trust
from explain import faithfulness as fa
from explain import scorecard, uncertainty
from explain.occlusion import occlusion_maps
from runfolder import artefacts

# --------------------------------------------------------------------------- ROAD's imputation


def test_road_recovers_a_linear_ramp_exactly():
    """A linear function equals the weighted mean of its eight neighbours (symmetric weights), so with the
    noise off, a hole cut anywhere away from the frame is filled back exactly."""
    rows, cols = np.mgrid[0:28, 0:28]
    ramp = (0.1 + 0.015 * rows + 0.01 * cols).astype(np.float32)  # within [0, 1], where nothing is clipped
    removed = np.zeros((28, 28), bool)
    removed[6:20, 9:15] = True
    removed[22, 3] = True
    filled = fa.road_impute(ramp, removed, np.random.default_rng(0), noise=0.0).reshape(28, 28)
    assert np.allclose(filled, ramp, atol=1e-5)


def test_road_keeps_kept_pixels_adds_seeded_noise_and_survives_removing_everything():
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    removed = np.random.default_rng(2).random((28, 28)) < 0.4
    a = fa.road_impute(image, removed, np.random.default_rng(3)).reshape(28, 28)
    b = fa.road_impute(image, removed, np.random.default_rng(3)).reshape(28, 28)
    quiet = fa.road_impute(image, removed, np.random.default_rng(3), noise=0.0).reshape(28, 28)
    assert np.array_equal(a, b)  # seeded
    assert np.array_equal(a[~removed], image[~removed])  # kept pixels untouched
    noise = (a - quiet)[removed & (quiet > 0.05) & (quiet < 0.95)]  # away from the clipping
    assert 0.007 < noise.std() < 0.013  # ROAD's noise, standard deviation 0.01
    # Every pixel removed: neighbours outside the frame are black, so the image becomes black (plus noise).
    everything = fa.road_impute(image, np.ones((28, 28), bool), np.random.default_rng(4), noise=0.0)
    assert np.abs(everything).max() < 1e-6


def test_road_agrees_with_a_dense_solve_of_the_same_equations():
    rng = np.random.default_rng(5)
    image = rng.random(784).astype(np.float32)
    removed = rng.random(784) < 0.7
    graph = fa._road_graph()
    unknown = np.flatnonzero(removed)
    system = np.eye(unknown.size) - graph[np.ix_(unknown, unknown)]
    expected = image.astype(np.float64).copy()
    expected[unknown] = np.linalg.solve(system, graph[unknown] @ np.where(removed, 0.0, image))
    got = fa.road_impute(image, removed, rng, noise=0.0)
    assert np.allclose(got, np.clip(expected, 0, 1), atol=1e-6)


# --------------------------------------------------------------------------- fills and orders


def test_each_fill_and_order_removes_the_pixels_it_says():
    rng = np.random.default_rng(6)
    image = np.zeros((28, 28, 1), np.float32)
    image[4:24, 6:22] = rng.uniform(0.3, 1.0, (20, 16, 1))
    order = fa.order_from_map(image[..., 0], rng)
    step = 5  # a quarter of the pixels
    count = 196
    first, last = order[:count], order[-count:]
    black = fa.perturbed_images(image, order, fa.TESTS_V2["deletion_black"], rng)[step].reshape(-1)
    assert np.all(black[first] == 0) and np.array_equal(black[order[count:]], image.reshape(-1)[order[count:]])
    blur = fa.perturbed_images(image, order, fa.TESTS_V2["deletion_blur"], rng)[step].reshape(-1)
    assert np.allclose(blur[first], fa.blurred(image).reshape(-1)[first])
    least = fa.perturbed_images(image, order, fa.TESTS_V2["lerf_black"], rng)[step].reshape(-1)
    assert np.all(least[last] == 0) and np.array_equal(least[first], image.reshape(-1)[first])
    road = fa.perturbed_images(image, order, fa.TESTS_V2["deletion_road"], rng)[step].reshape(-1)
    assert np.array_equal(road[order[count:]], image.reshape(-1)[order[count:]]) and road[first].max() > 0
    inserted = fa.perturbed_images(image, order, fa.TESTS_V2["insertion_blur"], rng)
    assert np.array_equal(inserted, fa.insertion_images(image, order))
    # and each chart's x axis says the same (it said "set to black" under every fill)
    axes = {key: test.axis_title for key, test in fa.TESTS_V2.items()}
    assert axes["deletion_black"].endswith("(set to black)") and axes["deletion_road"].endswith("(imputed by ROAD)")
    assert axes["lerf_blur"] == "fraction of pixels removed (replaced by the blur)"  # the order: in the title
    assert axes["insertion_blur"] == "fraction of pixels put back into the blurred image"
    assert max(len(axis) for axis in axes.values()) <= 50  # longer is cut off at a phone's width


def test_deleting_the_least_relevant_into_the_blur_is_insertion_read_backwards():
    """The identity the tests' labels state: the same images in reverse order, so the same area."""
    from tests.test_faithfulness import garment, region_map, region_model

    rng = np.random.default_rng(7)
    orders = [fa.order_from_map(region_map(), rng), fa.random_order(784, rng)]
    curves = fa.test_curves(region_model, garment(), orders, 0, rng, tests=("insertion_blur", "lerf_blur"))
    assert np.allclose(curves["lerf_blur"], curves["insertion_blur"][:, ::-1], atol=1e-6)
    assert "insertion into the blur" in fa.TESTS_V2["lerf_blur"].label


# --------------------------------------------------------------------------- uncertainty


def test_the_bootstrap_interval_has_the_width_and_coverage_theory_gives():
    rng = np.random.default_rng(8)
    sample = rng.normal(1.0, 2.0, 400)
    low, high = uncertainty.bootstrap_ci(sample)
    half = 1.96 * sample.std(ddof=1) / math.sqrt(sample.size)  # the normal approximation
    assert (high - low) / 2 == pytest.approx(half, rel=0.12)
    assert low < sample.mean() < high
    covered = 0
    for seed in range(200):  # a 95% interval covers the true mean about 95% of the time
        draw = np.random.default_rng(100 + seed).normal(1.0, 2.0, 60)
        low, high = uncertainty.bootstrap_ci(draw, resamples=1000, seed=seed)
        covered += low <= 1.0 <= high
    assert 0.88 <= covered / 200 <= 0.99
    assert uncertainty.bootstrap_ci(np.full(30, 0.25)) == (0.25, 0.25)  # no spread, no doubt


def test_the_sign_test_on_known_counts():
    assert uncertainty.sign_test(np.r_[np.ones(9), -1.0]) == pytest.approx(22 / 1024)  # 2 * P(X >= 9), n = 10
    assert uncertainty.sign_test(np.r_[np.ones(9), -1.0, np.zeros(5)]) == pytest.approx(22 / 1024)  # ties left out
    assert uncertainty.sign_test(np.r_[np.ones(5), -np.ones(5)]) == pytest.approx(1.0)
    assert uncertainty.sign_test(np.zeros(4)) == 1.0
    summary = uncertainty.paired(np.r_[np.full(30, 0.1), np.full(10, -0.1)])
    assert summary["win_share"] == 0.75 and summary["difference"] == pytest.approx(0.05)
    assert uncertainty.above_zero(summary) and not uncertainty.above_zero(uncertainty.paired(np.r_[1.0, -1.0]))


# --------------------------------------------------------------------------- correlations and the noise ceiling


def test_the_noise_ceiling_of_a_method_with_known_noise():
    """Maps = a fixed signal plus independent noise of variance s^2 (signal variance 1): two draws correlate
    at r = 1 / (1 + s^2), and Spearman's rho for normal data is (6 / pi) arcsin(r / 2)."""
    rng = np.random.default_rng(9)
    images = np.ones((40, 28, 28, 1), np.float32)
    signal = rng.normal(size=(40, 28, 28))
    for noise in (0.5, 1.0):
        first = signal + noise * rng.normal(size=signal.shape)
        second = signal + noise * rng.normal(size=signal.shape)
        ceiling = np.mean(scorecard._correlations(first, second, images)["all"])
        r = 1 / (1 + noise**2)
        assert ceiling == pytest.approx(6 / math.pi * math.asin(r / 2), abs=0.02)


def test_agreement_on_the_black_background_does_not_count_over_the_garment_pixels():
    rng = np.random.default_rng(10)
    images = np.zeros((20, 28, 28, 1), np.float32)
    images[:, 10:18, 10:18] = 0.8
    a = np.zeros((20, 28, 28))
    b = np.zeros((20, 28, 28))
    a[:, 10:18, 10:18] = rng.random((20, 8, 8)) + 1
    b[:, 10:18, 10:18] = rng.random((20, 8, 8)) + 1  # unrelated to a on the garment
    both = scorecard._correlations(a, b, images)
    assert np.mean(both["all"]) > 0.5  # inflated by the shared zeros
    assert abs(np.mean(both["garment"])) < 0.1


# ----------------------------------------------------- the rule, on a map that wins only under its own fill

CONTENT = (slice(10, 18), slice(16, 24))  # the bright stripes the model reads
HOLE = (slice(2, 26), slice(2, 14))  # where the model reacts to *exact black*, an artefact of black filling


def fill_sensitive_model(batch: np.ndarray) -> np.ndarray:
    """P(class 0) from the bright stripes in CONTENT, times a penalty for exactly black pixels in HOLE: black
    deletion there hurts the class, a blur or ROAD fill (never exactly black inside the garment) does not."""
    batch = np.asarray(batch, dtype=np.float64).reshape(-1, 28, 28)
    content = (batch[:, CONTENT[0], CONTENT[1]] >= 0.95).mean(axis=(1, 2))
    holes = (batch[:, HOLE[0], HOLE[1]] == 0).mean(axis=(1, 2))
    p0 = np.exp(-10.0 * holes) / (1.0 + np.exp(-20.0 * (content - 0.25)))
    return np.column_stack([p0] + [(1.0 - p0) / 9.0] * 9)


def jittered_garment(rng) -> np.ndarray:
    image = np.zeros((28, 28, 1), np.float32)
    image[2:26, 2:26, 0] = rng.uniform(0.82, 0.9)
    image[10:18:2, 16:24, 0] = 1.0
    image[11:18:2, 16:24, 0] = 0.6
    return image


def synthetic_card(monkeypatch, maps_for, images, head_random: float = 0.1) -> dict:
    """A version-2 card built by explain.scorecard's own code from per-image curves of the fill-sensitive model,
    for two entries: 'occlusion' and 'saliency' (whose maps ``maps_for(image)`` gives)."""
    pairs = [("occlusion", "input"), ("saliency", "input")]
    monkeypatch.setattr(scorecard, "entries", lambda: pairs)
    arrays: dict[str, list] = {}
    for position, image in enumerate(images):
        for name, curve in scorecard.image_curves(fill_sensitive_model, image, maps_for(image), 0, 0, position).items():
            arrays.setdefault(name, []).append(curve)
    for m, layer in pairs:
        arrays[f"blank|{m}|{layer}"] = [False] * len(images)
        arrays[f"runner_up|{m}|{layer}"] = [0.2] * 5
        for draw in range(scorecard.RANDOMISATION_DRAWS):
            for stage in ("output", "dense", "block4", "block3", "block2", "block1", "stem"):
                for pixels in scorecard.PIXEL_SETS:
                    arrays[f"random|{draw}|{stage}|{m}|{layer}|{pixels}"] = [head_random] * 5
    settings = {"randomisation_draws": scorecard.RANDOMISATION_DRAWS, "bootstrap_seed": 1, "bootstrap_resamples": 1000}
    sample = {"indices": list(range(len(images))), "images": len(images), "cascade_images": 5}
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    return scorecard.build_scorecard(arrays, pairs, sample, settings, "0" * 64, 1.0)


def test_a_map_that_wins_only_under_its_own_fill_does_not_pass(monkeypatch):
    rng = np.random.default_rng(11)
    images = [jittered_garment(rng) for _ in range(12)]
    content_map = np.zeros((28, 28))
    content_map[CONTENT] = 1.0

    def maps_for(image):
        black_patches = occlusion_maps(fill_sensitive_model, image[np.newaxis], [0])[0]  # the variant under test
        return [black_patches, content_map]

    assert np.mean(occlusion_maps(fill_sensitive_model, images[0][np.newaxis], [0])[0][HOLE]) > 0.1  # finds HOLE
    card = synthetic_card(monkeypatch, maps_for, images)
    occlusion, content = card["entries"]["occlusion@input"], card["entries"]["saliency@input"]
    # Black-patch occlusion wins black deletion on every image, clearly ...
    assert occlusion["tests"]["deletion_black"]["against"]["garment"]["win_share"] == 1.0
    assert occlusion["holds"]["deletion_black"]
    # ... and not under the fills that never make a pixel exactly black: the rule does not pass it.
    assert not occlusion["holds"]["deletion_blur"] and not occlusion["holds"]["deletion_road"]
    assert occlusion["verdict"] == "partial" and not occlusion["passes"]
    assert "not in" in occlusion["where"] or "worse" in occlusion["where"]
    # The map of what the model really reads holds under every fill and passes.
    assert all(content["holds"][t] for t in fa.RULE_TESTS), content["holds"]
    assert content["verdict"] == "passes" and card["default"]["key"] == "saliency@input"


def test_a_verdict_needs_every_draw_below_the_line():
    entry = {
        "blank_rate": 0.0,
        "holds": {t: True for t in fa.TESTS_V2},
        "tests": {t: {"against": {"garment": {"ci": [0.01, 0.05]}}} for t in fa.TESTS_V2},
        "randomisation_draws": {"dense": {"garment": [0.2, 0.3, 0.45, 0.2, 0.3]}},
    }
    assert trust.judge(entry)[0] == "passes"
    entry["randomisation_draws"]["dense"]["garment"][2] = 0.52  # one draw over the line
    verdict, reason = trust.judge(entry)
    assert verdict == "not-model" and "depends on the draw" in reason and "0.20 to 0.52 over 5 draws" in reason
    entry["holds"]["deletion_road"] = False
    entry["randomisation_draws"]["dense"]["garment"][2] = 0.45
    assert trust.judge(entry)[0] == "partial"
    assert "not in deletion with ROAD's fill" in trust.where_sentence(entry)
    entry["tests"]["deletion_road"]["against"]["garment"]["ci"] = [-0.09, -0.01]
    assert "clearly worse than the garment order in deletion with ROAD's fill" in trust.where_sentence(entry)


# --------------------------------------------------------------------------- Faster-ScoreCAM as the app computes it


def test_faster_scorecam_in_a_batch_is_each_image_alone_as_the_app_computes_it(data_env):
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from explain.saliency import build_explainers, saliency_map, saliency_maps
    from runfolder import runs

    net = tgn.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE)
    explainers = build_explainers(net)
    x = to_model_input(load_split("test").images[:3])
    targets = np.asarray(net.predict_on_batch(x)).argmax(1)
    batch = saliency_maps(explainers, x, "faster-scorecam", targets, "block3", normalize=False)
    for i in range(3):
        alone = saliency_map(explainers, x[i], "faster-scorecam", int(targets[i]), "block3", normalize=False)
        assert np.allclose(batch[i], alone, atol=1e-5)


# --------------------------------------------------------------------------- the file


def test_a_version_2_file_is_validated_and_a_version_1_file_is_still_read(monkeypatch, tmp_path):
    rng = np.random.default_rng(12)
    content_map = np.zeros((28, 28))
    content_map[CONTENT] = 1.0
    card = synthetic_card(
        monkeypatch, lambda image: [content_map, content_map], [jittered_garment(rng) for _ in range(3)]
    )
    (tmp_path / "faithfulness.json").write_text(json.dumps(card))
    read = artefacts.read_scorecard(tmp_path)
    assert trust.version(read) == 2 and trust.rule_text(read) == trust.RULE_V2_TEXT
    broken = json.loads(json.dumps(card))
    del broken["entries"]["saliency@input"]["tests"]["deletion_road"]
    (tmp_path / "faithfulness.json").write_text(json.dumps(broken))
    with pytest.raises(artefacts.ScorecardError, match="seven tests|deletion_road"):
        artefacts.read_scorecard(tmp_path)
    broken = json.loads(json.dumps(card))
    broken["entries"]["saliency@input"]["tests"]["insertion_blur"]["against"]["garment"]["ci"] = [0.3, 0.1]
    (tmp_path / "faithfulness.json").write_text(json.dumps(broken))
    with pytest.raises(artefacts.ScorecardError, match="low end"):
        artefacts.read_scorecard(tmp_path)
    old = {k: v for k, v in card.items() if k != "version"}
    old["entries"] = {
        k: {f: x for f, x in e.items() if f not in artefacts.V2_ENTRY_FIELDS} for k, e in card["entries"].items()
    }
    (tmp_path / "faithfulness.json").write_text(json.dumps(old))
    read = artefacts.read_scorecard(tmp_path)
    assert trust.version(read) == 1 and trust.rule_text(read) == trust.RULE_TEXT


def test_a_phone_reads_each_test_in_words_that_match_its_interval():
    def paired(low, high):
        return {"difference": (low + high) / 2, "ci": [low, high], "win_share": 0.5, "sign_p": 1.0, "images": 9}

    intervals = {t: (0.01, 0.05) for t in fa.TESTS_V2} | {"deletion_road": (-0.09, -0.01), "lerf_black": (-0.02, 0.03)}
    entry = {"tests": {t: {"against": {"garment": paired(*ci)}} for t, ci in intervals.items()}}
    lines = dict(zip(fa.TESTS_V2, trust.tests_lines(entry)))
    assert lines["deletion_black"].endswith("; clear") and "(+0.010 to +0.050)" in lines["deletion_black"]
    assert lines["deletion_road"].endswith("clearly worse")
    assert lines["lerf_black"].endswith("not clear (not in the rule)")
    assert trust.tests_frame(entry)["clear"].tolist() == ["yes", "yes", "no", "yes", "no", "yes", "yes"]


def test_the_page_says_why_it_opens_on_its_default(monkeypatch):
    rng = np.random.default_rng(13)
    images = [jittered_garment(rng) for _ in range(12)]
    content_map = np.zeros((28, 28))
    content_map[CONTENT] = 1.0
    card = synthetic_card(
        monkeypatch,
        lambda image: [occlusion_maps(fill_sensitive_model, image[np.newaxis], [0])[0], content_map],
        images,
    )
    assert "of the maps that pass, it beats the garment order most clearly" in trust.default_reason(card)
    card["entries"]["saliency@input"]["passes"] = False  # as if nothing passed: the fallback's reason
    card["default"]["key"] = trust.choose_default(card["entries"])
    assert card["default"]["key"] == "saliency@input"  # still the one that holds in the most tests
    assert "closest to passing" in trust.default_reason(card) and "(4 of 4)" in trust.default_reason(card)
