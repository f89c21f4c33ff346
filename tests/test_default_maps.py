"""The run's default maps and per-image tests, computed once for every test image (issue 23): the stored
values are what the pages would compute live, a broken file is refused, and the pages that read them answer
without calling the model."""

import numpy as np
import pytest
import streamlit as st

from analysis.default_maps import DefaultMaps
from explain import faithfulness as fa
from explain import methods
from runfolder import artefacts, runs
from tests.conftest import open_page
from tests.test_hardening import copy_run

SHIPPED = runs.SHIPPED_RUNS["shipped"]


class SimulatedInterrupt(KeyboardInterrupt):
    """The test's own Ctrl-C. ``pytest.raises(KeyboardInterrupt)`` would also catch a real one pressed during
    the computation, turning the user's Ctrl-C into a test result while the suite ran on."""


@pytest.fixture(autouse=True)
def isolated_runs(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))
    yield tmp_path / "runs"
    st.cache_data.clear()
    st.cache_resource.clear()


def stored(folder=SHIPPED) -> DefaultMaps:
    results = runs.load_results(folder)
    sha = runs.file_sha256(folder / runs.MODEL_FILE)
    return DefaultMaps(artefacts.read_default_maps(folder, sha, results.labels, results.predictions))


@pytest.fixture(scope="module")
def live():
    """The shipped model, its explainers and the test images, to recompute what the file stores."""
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from explain.saliency import build_explainers, predict_in_chunks

    net = tgn.load_model(SHIPPED / runs.MODEL_FILE)
    test = load_split("test")
    return net, build_explainers(net), test, to_model_input, lambda batch: predict_in_chunks(net, batch)


# --------------------------------------------------------------------------- the committed file


@pytest.mark.parametrize("name", list(runs.SHIPPED_RUNS))
def test_each_shipped_run_stores_its_default_map_for_every_test_image(name):
    folder = runs.SHIPPED_RUNS[name]
    if not (folder / runs.DEFAULT_MAPS_FILE).is_file():
        pytest.skip(f"{name} has no stored default maps (the pages compute them live)")
    maps = stored(folder)
    card = artefacts.read_scorecard(folder)
    assert maps.method == card["default"]["method"] and maps.layer == card["default"]["layer"]
    assert (folder / runs.DEFAULT_MAPS_FILE).stat().st_size < 10_000_000
    results = runs.load_results(folder)
    wrong = np.flatnonzero(results.predictions != results.labels)
    assert maps.map(int(wrong[0]), int(results.labels[wrong[0]])) is not None  # a mistake: both classes
    assert maps.map(0, (int(results.predictions[0]) + 1) % 10) is None  # any other class: not stored


@pytest.mark.parametrize("name", list(runs.SHIPPED_RUNS))
def test_each_shipped_run_commits_at_most_15_mb(name):
    folder = runs.SHIPPED_RUNS[name]
    # Hidden files are a run's resume state and lock, which git ignores (.gitignore); the rest is committed.
    committed = {path.name: path.stat().st_size for path in folder.iterdir() if not path.name.startswith(".")}
    assert runs.MODEL_FILE in committed and sum(committed.values()) <= 15_000_000, committed


def test_stored_maps_and_verdicts_are_what_the_page_computes_live(live):
    from explain.saliency import saliency_maps

    net, explainers, test, to_model_input, predict = live
    maps = stored()
    results = runs.load_results(SHIPPED)
    wrong = int(np.flatnonzero(results.predictions != results.labels)[0])
    for index in (0, 4321, wrong):
        x = to_model_input(test.images[index : index + 1])
        predicted = int(results.predictions[index])
        raw = saliency_maps(explainers, x, maps.method, [predicted], maps.layer, normalize=False)[0]
        kept = maps.map(index, predicted)
        assert np.abs(kept - raw).max() <= half_level(maps, index)
        verdict = fa.image_verdict(predict, x[0], raw, predicted, seed=index)
        kept_verdict = maps.verdict(index, predicted)
        for test_name in fa.TESTS:
            assert kept_verdict.map_auc(test_name) == pytest.approx(verdict.map_auc(test_name), abs=1e-4)
            for control in fa.CONTROLS:
                assert kept_verdict.control_auc(test_name, control) == pytest.approx(
                    verdict.control_auc(test_name, control), abs=1e-4
                )
        assert fa.verdict_sentence(kept_verdict) == fa.verdict_sentence(verdict)
    true = int(results.labels[wrong])
    x = to_model_input(test.images[wrong : wrong + 1])
    raw = saliency_maps(explainers, x, maps.method, [true], maps.layer, normalize=False)[0]
    row = int(np.searchsorted(maps.arrays["other_index"], wrong))
    assert np.abs(maps.map(wrong, true) - raw).max() <= maps.arrays["other_peak"][row] / 255 * 0.51 + 1e-7


# --------------------------------------------------------------------------- computing: small, then resumed


def test_compute_writes_the_maps_and_resumes_after_an_interruption(tmp_path, monkeypatch, live):
    from explain import default_maps
    from explain.saliency import saliency_maps

    net, explainers, test, to_model_input, predict = live
    folder = copy_run(SHIPPED, tmp_path / "run")
    for name in (runs.DEFAULT_MAPS_FILE, runs.DEFAULT_MAPS_PARTIAL_FILE, runs.DEFAULT_MAPS_PROGRESS_FILE):
        (folder / name).unlink(missing_ok=True)
    count = 12
    real_load = runs.load_results

    def first_images(path):  # a run of 12 test images, so the test is quick
        results = real_load(path)
        results.probabilities, results.labels = results.probabilities[:count], results.labels[:count]
        return results

    monkeypatch.setattr(default_maps.runs, "load_results", first_images)
    monkeypatch.setattr(default_maps, "CHUNK", 5)
    real_verdict = fa.image_verdict
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:  # during the second chunk
            raise SimulatedInterrupt
        return real_verdict(*args, **kwargs)

    monkeypatch.setattr(default_maps.fa, "image_verdict", interrupted)
    with pytest.raises(SimulatedInterrupt):
        default_maps.compute(folder)
    assert (folder / runs.DEFAULT_MAPS_PARTIAL_FILE).is_file() and not (folder / runs.DEFAULT_MAPS_FILE).exists()
    calls.clear()
    monkeypatch.setattr(default_maps.fa, "image_verdict", lambda *a, **k: calls.append(1) or real_verdict(*a, **k))
    arrays = default_maps.compute(folder)
    assert len(calls) == count - 5  # the first chunk was not computed again
    assert not (folder / runs.DEFAULT_MAPS_PARTIAL_FILE).exists()
    results = first_images(folder)
    maps = DefaultMaps(arrays)
    for index in (0, 11):
        predicted = int(results.predictions[index])
        x = to_model_input(test.images[index : index + 1])
        raw = saliency_maps(explainers, x, maps.method, [predicted], maps.layer, normalize=False)[0]
        assert np.abs(maps.map(index, predicted) - raw).max() <= half_level(maps, index)
    assert len(arrays["other_index"]) == int((results.predictions != results.labels).sum())
    side = methods.MAP_SIDE[maps.layer]
    assert arrays["map_u8"].shape == (count, side, side) and str(arrays["version"]) == default_maps.VERSION

    # --maps-only turns a version-1 file (every map stretched to 28x28) into this one, keeping its tests
    version_one = dict(arrays)
    for which in ("map", "other"):
        stretched = methods.expand_cam(arrays[f"{which}_u8"] / 255.0 * arrays[f"{which}_peak"][:, None, None])
        version_one[f"{which}_u8"], version_one[f"{which}_peak"] = default_maps.quantise(stretched)
    version_one.update(version=np.array("default-maps-1"), curves=arrays["curves"] * np.float16(0.5))
    runs.write_npz_atomic(folder / runs.DEFAULT_MAPS_FILE, **version_one)
    third = int(results.predictions[3])
    read_back = DefaultMaps(version_one).map(3, third)  # a version-1 file still reads
    assert read_back.shape == (28, 28) and np.abs(read_back - maps.map(3, third)).max() <= 2 * half_level(maps, 3)
    calls.clear()
    again = default_maps.store_native_maps(folder)
    assert not calls  # no test was run again
    assert str(again["version"]) == default_maps.VERSION and again["map_u8"].shape == arrays["map_u8"].shape
    assert np.array_equal(again["curves"], version_one["curves"])  # the file's own tests, kept
    for which in ("map", "other"):
        assert np.abs(again[f"{which}_u8"].astype(int) - arrays[f"{which}_u8"]).max(initial=0) <= 1
        assert np.allclose(again[f"{which}_peak"], arrays[f"{which}_peak"], rtol=1e-4)
    assert stored(folder).map(0, int(results.predictions[0])).shape == (28, 28)


def half_level(maps: DefaultMaps, index: int) -> float:
    """How far a stored map may be from the live one: half of one of its 255 levels (of its layer-resolution
    peak, which can exceed the 28x28 map's own: tf-keras-vis samples between the layer's cells)."""
    return float(maps.arrays["map_peak"][index]) / 255 * 0.51 + 1e-7


def test_maps_only_needs_an_existing_file(tmp_path, capsys):
    from explain import default_maps

    folder = copy_run(SHIPPED, tmp_path / "run")
    (folder / runs.DEFAULT_MAPS_FILE).unlink(missing_ok=True)
    assert default_maps.main(["--run", str(folder), "--maps-only"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "default_maps.npz is missing" in err and "without --maps-only" in err


# --------------------------------------------------------------------------- a broken file


def _edit(folder, change):
    path = folder / runs.DEFAULT_MAPS_FILE
    with np.load(path) as kept:
        arrays = {k: kept[k].copy() for k in kept.files}
    change(arrays)
    runs.write_npz_atomic(path, **arrays)


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda a: a.update(targets=np.roll(a["targets"], 1)), "predicted classes"),
        (lambda a: a["curves"].__setitem__((3, 0, 0, 0), np.nan), "NaN"),
        (lambda a: a["aucs"].__setitem__((3, 0, 0), 4.0), "probabilities"),
        (lambda a: a.update(other_index=a["other_index"][::-1].copy()), "misclassified"),
        (lambda a: a.update(map_u8=a["map_u8"][:100]), "has shape"),
        (lambda a: a.update(map_u8=a["map_u8"][:, :10, :10].copy()), "must be square, 14x14 or 28x28"),
        (lambda a: a.update(other_u8=np.zeros((len(a["other_u8"]), 28, 28), np.uint8)), "differ in size"),
        (lambda a: a.update(method=np.array("magic")), "unknown method"),
        (lambda a: a.update(model_sha256=np.array("0" * 64)), "another model"),
    ],
)
def test_a_broken_file_is_refused_and_the_pages_compute_live(damage, expected, tmp_path, isolated_runs):
    if not (SHIPPED / runs.DEFAULT_MAPS_FILE).is_file():
        pytest.skip("the shipped run has no stored default maps")
    folder = copy_run(SHIPPED, isolated_runs / "tampered")
    _edit(folder, damage)
    with pytest.raises(artefacts.DefaultMapsError, match=expected):
        stored(folder)
    if expected == "predicted classes":
        at = open_page("dashboard/app_pages/10_Saliency.py", session={"selected_run": "tampered"}, index="7")
        assert not at.exception
        assert any(m.value.startswith("On this image, in the order of") for m in at.markdown)


# --------------------------------------------------------------------------- the pages read them


def test_the_default_view_and_the_quiz_reveal_need_no_model_call(monkeypatch):
    if not (SHIPPED / runs.DEFAULT_MAPS_FILE).is_file():
        pytest.skip("the shipped run has no stored default maps")
    from dashboard import model_cache

    def no_model(*args, **kwargs):
        raise AssertionError("the model was called for a stored view")

    for name in ("load_model", "saliency_map", "explainers"):
        monkeypatch.setattr(model_cache, name, no_model)
    maps = stored()
    results = runs.load_results(SHIPPED)
    at = open_page("dashboard/app_pages/10_Saliency.py", index="5")
    assert not at.exception, at.exception
    sentence = next(m.value for m in at.markdown if m.value.startswith("On this image, in the order of"))
    kept = maps.verdict(5, int(results.predictions[5]))
    assert all(part in sentence for part in [*(fa.test_sentence(kept, t) for t in fa.TESTS), fa.summary_sentence(kept)])

    quiz = open_page("dashboard/app_pages/3_Quiz.py", quiz="7", questions="3")
    assert not quiz.exception, quiz.exception
    quiz.radio(key="guess_7_0").set_value(0).run()
    quiz.button(key="reveal").click().run()
    assert not quiz.exception, quiz.exception
    assert any("Where it looked" in (p.caption or "") for image in quiz.get("image") for p in image.proto.imgs)
