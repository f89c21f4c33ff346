"""Watch it learn: snapshots during training (across an interruption), the training's story (learning.npz),
its alignment, drift on constructed answers, its validation, and the page."""

import json
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analysis import learning, markup
from dataset.fashion_mnist import CLASS_NAMES
from runfolder import artefacts, runs
from tests.conftest import REPO_ROOT, app_pages, run_training
from training import snapshots

PAGE = app_pages()["Watch it learn"]


# --------------------------------------------------------------------------- drift on constructed arrays


def test_drift_figures_on_answers_with_a_known_history():
    # 10 images, 4 frames: 4 answers change between the first two frames, 1 between the next, none after.
    first = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    second = first.copy()
    second[:4] = 5
    third = second.copy()
    third[9] = 7
    frames = np.stack([first, second, third, third])
    changed = learning.answers_changed(frames)
    assert np.isnan(changed[0]) and changed[1:].tolist() == [0.4, 0.1, 0.0]
    assert learning.agreement_with_final(frames).tolist() == [0.5, 0.9, 1.0, 1.0]
    assert learning.first_epoch_reaching([1, 2, 5, 8], learning.agreement_with_final(frames), 0.9) == 2
    assert learning.first_epoch_reaching([1, 2, 5, 8], [0.5, 0.95, 0.8, 0.99], 0.9) == 8  # must stay there
    labels = np.array([5, 5, 5, 5, 1, 1, 1, 1, 2, 7])
    per_class = learning.accuracy_per_class(frames, labels)
    assert per_class[:, 5].tolist() == [0.0, 1.0, 1.0, 1.0] and per_class[:, 7].tolist() == [0.0, 0.0, 1.0, 1.0]
    learned = learning.learned_at([1, 2, 5, 8], per_class)
    assert learned[5] == 2 and learned[7] == 5 and learned[1] == 1
    assert learning.confusion(third, labels)[7, 7] == 1 and learning.confusion(first, labels)[5, 0] == 4


def test_a_class_answered_for_every_image_is_not_learned_yet():
    # Epoch 1 answers class 3 for everything: class 3 is all right (accuracy 1.0) but not learned; from epoch 2
    # on, each image gets its own class.
    labels = np.repeat(np.arange(4), 5)
    frames = np.stack([np.full(20, 3), labels, labels])
    per_class = learning.accuracy_per_class(frames, labels, classes=4)
    precision = learning.precision_per_class(frames, labels, classes=4)
    assert per_class[0].tolist() == [0, 0, 0, 1] and precision[0].tolist() == [0, 0, 0, 0.25]
    assert learning.learned_at([1, 2, 3], per_class)[3] == 1  # accuracy alone is fooled
    assert learning.learned_at([1, 2, 3], per_class, precision=precision) == [2, 2, 2, 2]
    names = ["a", "b", "c", "sandal"]
    said = learning.learned_first_sentence([1, 2, 3], per_class, names, precision)
    assert said == "Every class reaches 90% of its final accuracy and precision by epoch 2 and stays there."
    assert learning.one_answer_sentence([1, 2, 3], frames, names).startswith(
        "At epoch 1 it answers sandal for 100% of the images: that class's line is high there"
    )
    assert learning.one_answer_sentence([1, 2, 3], frames[1:], names) == ""
    # A class never answered at the end never settles, and the sentence says so instead of "every class".
    never = np.stack([labels, np.where(labels == 2, 1, labels)])
    said = learning.learned_first_sentence(
        [1, 2],
        learning.accuracy_per_class(never, labels, classes=4),
        names,
        learning.precision_per_class(never, labels, classes=4),
    )
    assert said.startswith("Every other class reaches") and said.endswith("Never settled: c.")


def test_map_correlation_with_the_final_maps():
    rng = np.random.default_rng(0)
    final = rng.random((5, 28, 28))
    maps = np.stack([rng.random((5, 28, 28)), final + 0.05 * rng.random((5, 28, 28)), final])
    correlation = learning.map_correlation_with_final(maps)
    assert abs(correlation[0]) < 0.1 and 0.9 < correlation[1] < 1.0 and correlation[2] == pytest.approx(1.0)


# --------------------------------------------------------------------------- the aligned map


def test_the_aligned_map_keeps_a_point_that_did_not_move_and_moves_one_that_did():
    from explain.learning import AlignedMap, first_of_each_class

    folder = runs.SHIPPED_RUNS["shipped"]
    features = runs.load_features(folder)
    labels = runs.load_results(folder).labels
    xy = np.load(folder / runs.EMBEDDING_FILE)["xy"]
    points = first_of_each_class(labels, 60)
    aligned = AlignedMap(features[points], xy[points])
    spread = np.linalg.norm(xy[points] - xy[points].mean(axis=0), axis=1).mean()
    unmoved = np.linalg.norm(aligned.place(features[points]) - xy[points], axis=1)
    assert np.median(unmoved) < 0.02 * spread  # stays where the final map has it
    # A point given another class's features lands among that class.
    trousers, sneakers = points[labels[points] == 1], points[labels[points] == 7]
    moved = aligned.place(features[sneakers[:10]])
    to_sneakers = np.linalg.norm(moved - xy[sneakers].mean(axis=0), axis=1).mean()
    to_trousers = np.linalg.norm(moved - xy[trousers].mean(axis=0), axis=1).mean()
    assert to_sneakers < to_trousers


# --------------------------------------------------------------------------- snapshots and the story of a tiny run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 3-epoch run (512 images) killed after epoch 2's checkpoint and resumed; the snapshot of epoch 2 is
    removed before the resume, as a kill between the checkpoint and the snapshot would leave it."""
    from tests.conftest import real_data_dir

    if real_data_dir() is None:
        pytest.skip("Fashion-MNIST not found: set FASHION_MNIST_DIR or provide ../shared/data/fashion-mnist")
    out = tmp_path_factory.mktemp("learning") / "run"
    args = ["--epochs", "3", "--limit", "512", "--out", out]
    process = run_training(args, background=True)
    backup = out / runs.CHECKPOINT_DIR / "backup" / "epoch-0002.weights.h5"
    deadline = time.time() + 300
    while time.time() < deadline and not backup.is_file() and process.poll() is None:
        time.sleep(0.02)
    process.kill()
    process.wait()
    before = {e: snapshots.answers_path(out, e).stat().st_mtime_ns for e in snapshots.recorded(out)}
    for path in (snapshots.weights_path(out, 2), snapshots.answers_path(out, 2)):
        path.unlink(missing_ok=True)
    result = run_training(args)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, before


def test_snapshots_are_written_at_the_scheduled_epochs_and_survive_a_resume(tiny_run):
    out, before = tiny_run
    assert 1 in before, "the run was killed before its first snapshot"
    assert snapshots.schedule(3) == [1, 2, 3] and snapshots.schedule(30) == [1, 2, 3, 5, 8, 12, 20, 30]
    assert snapshots.recorded(out) == [1, 2, 3]  # epoch 2's taken again on resume, from the checkpoint
    assert snapshots.answers_path(out, 1).stat().st_mtime_ns == before[1]  # intact, not rewritten
    final = np.load(out / runs.OUTPUTS_FILE)["probabilities"]
    selected = runs.read_json(out / runs.METRICS_FILE)["best_epoch"]
    answers, seconds = snapshots.read_answers(out, selected)
    # The snapshot of the selected epoch is the run's model: the same answers (float16).
    assert np.abs(answers.astype(np.float32) - final).max() < 2e-3 and seconds > 0


def test_the_story_of_a_tiny_run(tiny_run, monkeypatch):
    from explain import learning as build

    out, _ = tiny_run
    features = runs.load_features(out)
    # A stand-in for the Feature space page's t-SNE (a minute of work): the first two principal components.
    centred = features - features.mean(axis=0)
    xy = (centred @ np.linalg.svd(centred[:2000], full_matrices=False)[2][:2].T).astype(np.float32)
    from analysis import embedding

    runs.write_npz_atomic(
        out / runs.EMBEDDING_FILE, xy=xy, features_sha256=np.array(embedding.features_digest(features))
    )
    story = build.compute(out, map_points_per_class=20)
    labels = runs.load_results(out).labels
    arrays = artefacts.read_learning(out, runs.file_sha256(out / runs.MODEL_FILE), labels)
    assert arrays["epochs"].tolist() == [1, 2, 3] and len(arrays["map_points"]) == 200
    final = list(arrays["epochs"]).index(int(arrays["selected_epoch"]))
    assert np.allclose(arrays["positions"][final], xy[arrays["map_points"]])  # the final map itself
    assert arrays["probe_maps"].shape == (3, 100, 28, 28) and story["method"] == arrays["method"]
    told = learning.Story(arrays, labels)
    assert told.accuracy()[final] == pytest.approx(
        (np.load(out / runs.OUTPUTS_FILE)["probabilities"].argmax(1) == labels).mean(), abs=0.01
    )
    assert "epoch" in told.reading()


def test_a_rerun_tells_the_story_of_a_run_trained_without_snapshots(tiny_run, tmp_path, capsys):
    import shutil

    import keras

    from explain import learning as build

    rerun, _ = tiny_run  # after test_the_story_of_a_tiny_run, which gave it a map
    target = tmp_path / "older"  # the same settings, trained before snapshots were recorded: another model file
    shutil.copytree(rerun, target, ignore=shutil.ignore_patterns(runs.SNAPSHOTS_DIR, runs.LEARNING_FILE, ".*"))
    keras.models.load_model(target / runs.MODEL_FILE).save(target / runs.MODEL_FILE)
    target_sha = runs.file_sha256(target / runs.MODEL_FILE)
    assert target_sha != runs.file_sha256(rerun / runs.MODEL_FILE)
    with pytest.raises(runs.RunFolderError, match="no snapshots"):
        build.compute(target, map_points_per_class=5)  # its own story cannot be told

    assert build.main(["--run", str(target), "--from-rerun", str(rerun), "--map-points", "5"]) == 0
    labels = runs.load_results(target).labels
    arrays = artefacts.read_learning(target, target_sha, labels)
    assert str(arrays["trained_model_sha256"]) == runs.file_sha256(rerun / runs.MODEL_FILE)
    told = learning.Story(arrays, labels).rerun
    metrics = runs.read_json(rerun / runs.METRICS_FILE)
    assert told.test_accuracy == pytest.approx(metrics["test_accuracy"])
    assert told.validation_accuracy == pytest.approx(metrics["best_val_accuracy"])
    assert told.trained_on == build.trained_on(rerun) and told.trained_on.startswith("TensorFlow on ")
    own = np.load(rerun / runs.OUTPUTS_FILE)["probabilities"]
    final = list(arrays["epochs"]).index(int(arrays["selected_epoch"]))
    assert np.abs(arrays["probabilities"][final].astype(np.float32) - own).max() < 2e-3  # the rerun's answers
    assert (
        learning.Story(artefacts.read_learning(rerun, runs.file_sha256(rerun / runs.MODEL_FILE), labels), labels).rerun
        is None
    )

    assert not (rerun / runs.LEARNING_PARTIAL_FILE).exists()  # its frames, kept as they were done, are gone
    for argv, problem in (
        (["--run", str(rerun), "--from-rerun", str(rerun)], "names the run itself"),
        (["--run", str(rerun), "--from-rerun", str(target)], "has snapshots of its own"),
    ):
        capsys.readouterr()
        assert build.main(argv) == 2
        assert problem in capsys.readouterr().err
    card = runs.read_json(target / runs.CARD_FILE)
    card["settings"]["seed"] += 1
    runs.write_json_atomic(target / runs.CARD_FILE, card)
    capsys.readouterr()
    assert build.main(["--run", str(target), "--from-rerun", str(rerun)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "other settings" in error and "(seed differ)" in error
    card["settings"]["seed"] -= 1
    card["data_md5"] = {name: "0" * 32 for name in card["data_md5"]}  # other images
    runs.write_json_atomic(target / runs.CARD_FILE, card)
    assert build.main(["--run", str(target), "--from-rerun", str(rerun)]) == 2
    assert "(data_md5 differ)" in capsys.readouterr().err


# --------------------------------------------------------------------------- the page


def synthetic_story(folder, epochs=(1, 2, 5, 9), selected=9, points_per_class: int = 30) -> dict:
    """A valid learning.npz for the run in ``folder``: answers that get better epoch by epoch (the final frame
    the run's own), points drifting into place, maps sharpening."""
    results = runs.load_results(folder)
    rng = np.random.default_rng(3)
    frames = len(epochs)
    probabilities = []
    for f in range(frames):
        keep = (f + 1) / frames
        noise = rng.dirichlet(np.ones(10), size=len(results.labels)).astype(np.float32)
        probabilities.append((keep * results.probabilities + (1 - keep) * noise).astype(np.float16))
    points = np.sort(np.concatenate([np.flatnonzero(results.labels == c)[:points_per_class] for c in range(10)]))
    probe = np.sort(np.concatenate([np.flatnonzero(results.labels == c)[:10] for c in range(10)]))
    final_xy = rng.normal(size=(len(points), 2)) * 20 + results.labels[points, None] * 8
    positions = np.stack(
        [final_xy + rng.normal(size=final_xy.shape) * 30 * (1 - (f + 1) / frames) for f in range(frames)]
    )
    maps = rng.integers(0, 256, size=(frames, len(probe), 28, 28)).astype(np.uint8)
    arrays = {
        "version": np.array("learning-1"),
        "model_sha256": np.array(runs.file_sha256(folder / runs.MODEL_FILE)),
        "epochs": np.array(epochs, dtype=np.int32),
        "selected_epoch": np.array(selected, dtype=np.int32),
        "probabilities": np.stack(probabilities),
        "map_points": points.astype(np.int32),
        "positions": positions.astype(np.float32),
        "probe": probe.astype(np.int32),
        "probe_maps": maps,
        "probe_peaks": rng.random((frames, len(probe))).astype(np.float32),
        "method": np.array("occlusion"),
        "layer": np.array("input"),
        "seconds": np.array(12.0),
    }
    runs.write_npz_atomic(folder / runs.LEARNING_FILE, **arrays)
    return arrays


@pytest.fixture
def storied_run(tmp_path, monkeypatch, data_env):
    import shutil

    import streamlit as st

    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))
    folder = tmp_path / "runs" / "storied"
    # Without the shipped story: each test writes the story it needs (or none).
    shutil.copytree(
        runs.SHIPPED_RUNS["original-recipe"], folder, ignore=shutil.ignore_patterns(".*", runs.LEARNING_FILE)
    )
    yield folder
    st.cache_resource.clear()


def open_learning(**query) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / PAGE), default_timeout=120)
    at.session_state["selected_run"] = "storied"
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_the_page_tells_the_story_with_deep_links_and_refuses_bad_values(storied_run):
    arrays = synthetic_story(storied_run)
    probe = int(arrays["probe"][7])
    at = open_learning(epoch="2", index=str(probe))
    assert not at.exception and not at.error, at.exception
    assert at.select_slider(key="epoch").value == 2 and at.selectbox(key="index").value == probe
    assert len(at.get("plotly_chart")) == 5  # drift, per class, confusion, moving map, the image's answers
    bars = json.loads(at.get("plotly_chart")[4].proto.spec)["data"]  # one stacked bar per snapshot
    assert len(bars) == 10 and bars[0]["x"] == ["1", "2*", "5", "9"]
    np.testing.assert_allclose(
        [b["y"][1] for b in bars], arrays["probabilities"][1, probe].astype(np.float32), atol=1e-6
    )
    true = int(runs.load_results(storied_run).labels[probe])
    assert bars[true]["name"].endswith("(true class)") and bars[true]["marker"]["line"]["width"] == 2
    pictures = at.get("image")[0].proto.imgs  # its map at every snapshot, in one row that wraps, in epoch order
    answers = arrays["probabilities"][:, probe].astype(np.float32).argmax(axis=1)
    assert [p.caption.split(":")[0] for p in pictures] == ["epoch 1", "epoch 2", "epoch 5", "epoch 9"]
    assert [p.alt for p in pictures] == [
        f"Test image {probe} with the epoch {e} map for {CLASS_NAMES[a]}" for e, a in zip([1, 2, 5, 9], answers)
    ]
    table = at.dataframe[0].value  # the phone's version: the answer at each snapshot
    assert table["epoch"].tolist() == ["1", "2*", "5", "9"]  # '*' the chosen epoch, as the caption says
    assert table.iloc[1, 2] == pytest.approx(float(arrays["probabilities"][1, probe].max()))
    headline = next(m.value for m in at.markdown if m.value.startswith("**Epoch 2"))
    labels = runs.load_results(storied_run).labels
    expected = (arrays["probabilities"][1].astype(np.float32).argmax(1) == labels).mean()
    assert f"{expected:.1%}".replace(".", "\\.") in headline or f"{expected:.1%}" in headline
    at.select_slider(key="epoch").set_value(9).run()
    assert "the selected model" in next(m.value for m in at.markdown if m.value.startswith("**Epoch 9"))
    assert "epoch" not in at.query_params  # the selected epoch: what a link without one shows (ui.sync_query)
    at.select_slider(key="epoch").set_value(5).run()
    assert at.query_params["epoch"] in ("5", ["5"])
    at = open_learning(epoch="4", index="x`[y](http://e.x)")  # neither is a snapshot or a probe image
    assert not at.exception and at.select_slider(key="epoch").value == 9
    assert sum("Ignored" in i.body for i in at.info) == 2


def test_a_reruns_story_says_so_and_is_checked(storied_run):
    arrays = synthetic_story(storied_run)
    rerun = dict(
        trained_model_sha256=np.array("f" * 64),
        rerun_test_accuracy=np.array(0.9211),
        rerun_validation_accuracy=np.array(0.9214),
        rerun_trained_on=np.array("JAX on **NVIDIA H200**"),
    )
    runs.write_npz_atomic(storied_run / runs.LEARNING_FILE, **arrays, **rerun)
    at = open_learning(epoch="9")
    assert not at.exception and not at.error, at.exception
    notice = next(i.body for i in at.info if "rerun" in i.body)
    metrics = runs.read_json(storied_run / runs.METRICS_FILE)
    assert "92.14% on the validation images and 92.11% on the test images" in notice
    assert "Its epoch 9 is the rerun's selected model" in notice
    assert f"this model {metrics['best_val_accuracy']:.2%} and {metrics['test_accuracy']:.2%}" in notice
    assert markup.escape("JAX on **NVIDIA H200**") in notice  # text from the run folder is not markup
    assert "the rerun's selected model" in next(m.value for m in at.markdown if m.value.startswith("**Epoch 9"))

    sha, labels = runs.file_sha256(storied_run / runs.MODEL_FILE), runs.load_results(storied_run).labels
    for change, problem in (
        ({"rerun_trained_on": None}, "without its rerun_trained_on"),
        ({"rerun_test_accuracy": np.array(1.5)}, "accuracy outside"),
        ({"rerun_validation_accuracy": np.array(np.nan)}, "NaN"),
        ({"trained_model_sha256": np.array(sha)}, "rerun's figures but tells this model's training"),
    ):
        broken = {**arrays, **rerun, **change}
        runs.write_npz_atomic(storied_run / runs.LEARNING_FILE, **{k: v for k, v in broken.items() if v is not None})
        with pytest.raises(artefacts.LearningError, match=problem):
            artefacts.read_learning(storied_run, sha, labels)


def test_a_run_without_a_story_or_with_a_bad_one_says_so(storied_run):
    at = open_learning()
    assert not at.exception and "no training story yet" in at.info[0].body and not at.get("plotly_chart")
    arrays = synthetic_story(storied_run)
    arrays["positions"][0, 0, 0] = np.nan
    runs.write_npz_atomic(storied_run / runs.LEARNING_FILE, **arrays)
    at = open_learning()
    assert not at.exception and "NaN" in at.info[0].body
    arrays = synthetic_story(storied_run)
    arrays["model_sha256"] = np.array("0" * 64)
    runs.write_npz_atomic(storied_run / runs.LEARNING_FILE, **arrays)
    at = open_learning()
    assert "another model file" in at.info[0].body
    with pytest.raises(artefacts.LearningError, match="selected epoch"):
        synthetic_story(storied_run, selected=4)
        artefacts.read_learning(
            storied_run, runs.file_sha256(storied_run / runs.MODEL_FILE), runs.load_results(storied_run).labels
        )


@pytest.mark.browser
def test_in_a_browser_the_slider_moves_the_story_and_the_map_plays(storied_run, tmp_path):
    from tests.browser import browser, chromium_path, streamlit_server, wait_for_app, wait_until_drawn
    from tests.conftest import real_data_dir

    if chromium_path() is None:
        pytest.skip("Chromium not found: apt-get install chromium")
    synthetic_story(storied_run)
    env = {"FASHION_MNIST_DIR": str(real_data_dir()), runs.RUNS_DIR_ENV: str(storied_run.parent)}
    with streamlit_server(env) as (url, _), browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{url}/Watch_it_learn")
        wait_for_app(page)
        page.locator("[data-testid='stSidebar'] [data-testid='stRadio']").get_by_text("storied", exact=True).click()
        wait_for_app(page)
        page.get_by_text("Epoch 9 (the selected model").wait_for(timeout=60_000)
        thumb = page.get_by_role("slider", name="Epoch")
        thumb.focus()
        page.keyboard.press("Home")  # the first snapshot
        page.get_by_text("Epoch 1:").wait_for(timeout=60_000)
        page.keyboard.press("ArrowRight")
        page.get_by_text("Epoch 2:").wait_for(timeout=60_000)
        page.wait_for_function("location.search.includes('epoch=2')", timeout=30_000)  # the link follows
        wait_until_drawn(page)  # the rerun has drawn its charts anew: find the map's only after it
        charts = "[data-testid=stPlotlyChart]"
        drawn = f"Array.from(document.querySelectorAll('{charts}')).map(c => !!c.querySelector('.main-svg'))"
        assert page.evaluate(drawn) == [True] * 5  # drift, classes, confusion, the moving map, one image's answers
        # The feature map's own animation: play moves its slider past the first frame.
        chart = page.locator(".js-plotly-plot").nth(3)
        chart.scroll_into_view_if_needed()
        label = chart.locator("text.slider-label").first  # the current value: "epoch 2"
        before = label.text_content()
        chart.get_by_text("▶ play").click()
        deadline = time.time() + 30  # a frame every 0.9 s; a busy machine draws late
        while time.time() < deadline and label.text_content() == before:
            page.wait_for_timeout(250)
        assert label.text_content() != before, before
        page.screenshot(path=str(tmp_path / "watch_it_learn_desktop.png"))
        # The same session on a phone's width: nothing sticks out past the window's edge.
        page.set_viewport_size({"width": 400, "height": 800})
        page.wait_for_timeout(1500)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        page.screenshot(path=str(tmp_path / "watch_it_learn_phone.png"))


def test_the_vectorised_map_correlation_is_the_scorecards_spearman():
    from explain.faithfulness import spearman

    rng = np.random.default_rng(4)
    maps = rng.integers(0, 4, size=(3, 6, 28, 28)).astype(np.uint8)  # many ties, as stored maps have
    maps[1, 2] = 0  # a blank map: no ranking, left out
    expected = [np.nanmean([spearman(a, b) for a, b in zip(frame, maps[-1])]) for frame in maps]
    assert np.allclose(learning.map_correlation_with_final(maps), expected)


@pytest.mark.parametrize("shape, values", [((3, 5, 784), 4), ((7,), 3), ((2, 10), 1000), ((4, 1), 2), ((6, 9), 1)])
def test_average_ranks_are_scipys_with_ties(shape, values):
    from scipy.stats import rankdata

    x = np.random.default_rng(values).integers(0, values, size=shape).astype(np.float64)
    assert np.array_equal(learning.average_ranks(x), rankdata(x, axis=-1))


def test_the_moving_maps_mistakes_are_its_points_answered_wrong(storied_run):
    arrays = synthetic_story(storied_run)
    labels_all = runs.load_results(storied_run).labels
    story = learning.Story(arrays, labels_all)
    labels, wrong = story.map_mistakes()
    points = arrays["map_points"]
    assert np.array_equal(labels, labels_all[points]) and wrong.shape == (4, len(points))
    answers = arrays["probabilities"][2].astype(np.float32).argmax(1)
    assert wrong[2].sum() == (answers[points] != labels_all[points]).sum()


def test_the_moving_averages_lag_is_explained_with_its_arithmetic():
    shipped = {"epochs": 30, "batch_size": 128, "ema_momentum": 0.999}  # 430 steps an epoch on 55,000 images
    said = learning.average_lag_sentence(shipped, 55_000, [1, 2, 3, 5, 8], [0.10, 0.19, 0.32, 0.88, 0.91])
    # 0.999 ** 430 = 0.650: after epoch 1, 65% of the average is the random start; 0.999 ** 2150 = 12% < 15%.
    assert "after epoch 1 (430 steps) 65% of it is still the random start" in said and "answers 10% " in said
    assert "By epoch 5 less than 15% of the start is left" in said
    later = learning.average_lag_sentence(shipped, 55_000, [2, 5], [0.19, 0.88])  # a story from epoch 2
    assert "after epoch 2 (860 steps) 42% of it is still the random start" in later
    # A 5-epoch run caps the momentum (an average over at most a tenth of the run): 0.9953, so after epoch 1
    # only 13% of the start is left: nothing to explain.
    assert learning.average_lag_sentence({**shipped, "epochs": 5}, 55_000, [1, 2], [0.85, 0.88]) is None
    assert learning.average_lag_sentence({**shipped, "ema_momentum": 0.0}, 55_000, [1, 2], [0.5, 0.6]) is None
    assert learning.average_lag_sentence({"epochs": 30}, 55_000, [1], [0.8]) is None  # recorded before averages
    assert learning.average_lag_sentence({**shipped, "batch_size": "x"}, 55_000, [1], [0.1]) is None
    assert learning.average_lag_sentence(shipped, None, [1], [0.1]) is None


def test_the_drift_reading_says_settled_only_before_the_final_model():
    labels = np.repeat(np.arange(10), 10)
    wrong = (labels + 1) % 10

    def story(frames, maps_correlation):
        # Probe maps built so that each frame's rank correlation with the final frame's is as given.
        rng = np.random.default_rng(0)
        final = rng.random((100, 28, 28))
        maps = []
        for r in maps_correlation:
            noise = rng.random((100, 28, 28))
            maps.append(final if r == 1 else (r * final + (1 - r) * noise))
        arrays = {
            "epochs": np.array([1, 2, 5, 9]),
            "selected_epoch": np.array(9),
            "probabilities": np.stack([np.eye(10)[f] for f in frames]).astype(np.float16),
            "probe_maps": (np.stack(maps) * 255).astype(np.uint8),
        }
        return learning.Story(arrays, labels)

    settled = story([wrong, labels, labels, labels], [0.0, 0.2, 0.99, 1])
    assert settled.reading().startswith("By epoch 2 the answers have settled")
    assert "the maps keep changing until epoch 5" in settled.reading()
    late = story([wrong, wrong, wrong, labels], [0.0, 0.0, 0.0, 1])  # right only at the final model
    assert late.reading().startswith("The answers keep changing until the final model (epoch 9)")
    assert "the maps keep changing until the final model too" in late.reading()
    assert "settle by epoch 9" not in late.reading()


def test_the_epoch_axis_leaves_a_tick_unlabelled_where_labels_would_overlap():
    from dashboard import charts

    axis = charts._epoch_axis([1, 2, 3, 5, 8, 12, 20, 29, 30])
    assert axis["type"] == "log" and axis["tickvals"] == [1, 2, 3, 5, 8, 12, 20, 29, 30]
    assert axis["ticktext"] == ["1", "2", "3", "5", "8", "12", "20", "", "30"]
    # The shipped rerun: the selected model is epoch 29, and it keeps its label.
    assert charts._epoch_axis([1, 2, 3, 5, 8, 12, 20, 29, 30], 29)["ticktext"][-2:] == ["29", ""]
    assert charts._epoch_axis([1, 2, 3])["ticktext"] == ["1", "2", "3"]
