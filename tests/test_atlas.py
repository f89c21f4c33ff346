"""The channel atlas: geometry, the stored atlases recomputed, resumable computation, the page and its links."""

import functools
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analysis import atlas as atlas_file
from analysis.architecture import layer_geometry, receptive_box
from dataset.fashion_mnist import CLASS_NAMES
from runfolder import guard, runs
from tests.conftest import REPO_ROOT, app_pages, open_page
from training import jobs

PAGE = app_pages()["Channel atlas"]
SHIPPED = runs.SHIPPED_RUNS["shipped"]


@pytest.fixture(autouse=True)
def isolated_runs(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))
    yield tmp_path / "runs"


def shipped_atlas(folder=SHIPPED) -> atlas_file.Atlas:
    results = runs.load_results(folder)
    return atlas_file.read(
        folder, results.architecture, len(results.labels), runs.file_sha256(folder / runs.MODEL_FILE)
    )


# --------------------------------------------------------------------------- geometry and building blocks


def test_receptive_fields_and_boxes_of_known_units():
    assert layer_geometry("stem_conv") == (3, 1)
    assert layer_geometry("block1_5x5") == (7, 1)
    assert layer_geometry("block2_3x3_reduce") == (8, 2)  # block 1's 5x5 (7 px) widened by its 2x2 pool
    assert layer_geometry("block4_5x5") == (70, 8)
    with pytest.raises(ValueError):
        layer_geometry("head_dense")
    assert receptive_box(5, 5, 3, 1) == (4, 4, 6, 6)
    # Unit 3 after one pool covers input rows 6-7; with its 7-px branches it sees rows 3-10.
    assert receptive_box(3, 3, 8, 2) == (3, 3, 10, 10)
    assert receptive_box(0, 0, 70, 8) == (0, 0, 27, 27)


def test_statistics_top_images_and_probe_set_on_known_arrays():
    from explain import atlas

    outputs = np.zeros((3, 2, 2, 2), dtype=np.float32)
    outputs[0, 1, 0, 0] = 5.0  # image 0 peaks at (1, 0) in channel 0
    outputs[1, 0, 1, 0] = 5.0  # image 1 ties with it, at (0, 1)
    outputs[2, :, :, 1] = -1.0  # channel 1 is never positive for image 2
    peaks, where, means = atlas.layer_statistics(outputs)
    assert peaks[:, 0].tolist() == [5.0, 5.0, 0.0] and where[:, 0].tolist() == [2, 1, 0]
    assert means[0, 0] == pytest.approx(1.25) and means[2, 1] == 0.0  # ReLU'd before averaging
    assert atlas.top_images(peaks, 2)[0].tolist() == [0, 1]  # a tie goes to the lower index
    labels = np.array([1, 0, 1, 0, 1, 0, 2])
    assert atlas.probe_indices(labels, 2).tolist() == [0, 1, 2, 3, 6]


# --------------------------------------------------------------------------- the committed atlases


@pytest.mark.parametrize("name", list(runs.SHIPPED_RUNS))
def test_each_shipped_run_has_an_atlas_of_all_976_channels(name):
    import model as tgn

    folder = runs.SHIPPED_RUNS[name]
    atlas = shipped_atlas(folder)
    assert atlas.layers == tgn.conv_layers() and int(atlas["channels"].sum()) == 976
    assert atlas["probe_count"].tolist() == [100] * 10 and int(atlas["images"]) == 10_000
    assert (folder / runs.ATLAS_FILE).stat().st_size < 3_000_000
    alive = ~np.array([atlas.dead(row) for row in range(976)])
    # The synthetic images do what they claim: they drive their channel above its mean level on the test
    # set (a grey image would not), for nearly every live channel.
    assert (atlas["visual_mean"][alive] > atlas["level"][alive]).mean() > 0.9


def _layer_outputs(net, layer, images):
    import keras

    return np.asarray(keras.Model(net.inputs, net.get_layer(layer).output).predict(images, batch_size=500, verbose=0))


def test_stored_top_images_are_the_argmax_of_the_recomputed_activations():
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input

    atlas = shipped_atlas()
    net = tgn.load_model(SHIPPED / runs.MODEL_FILE)
    x = to_model_input(load_split("test").images)
    for layer, channel in [("stem_conv", 3), ("block2_5x5", 7), ("block4_3x3_reduce", 100)]:
        row = atlas.row(layer, channel)
        outputs = _layer_outputs(net, layer, x)[..., channel]
        peaks = outputs.reshape(len(x), -1).max(axis=1)
        order = np.argsort(-peaks, kind="stable")[:9]
        assert atlas["top_value"][row] == pytest.approx(peaks[order], rel=1e-4)
        assert atlas["top_value"][row] == pytest.approx(peaks[atlas["top_index"][row]], rel=1e-4)
        first = int(atlas["top_index"][row, 0])
        peak_row, peak_col = atlas["top_peak"][row, 0]
        assert outputs[first, peak_row, peak_col] == pytest.approx(peaks[first], rel=1e-4)


def test_a_stored_knock_out_matches_switching_the_filter_off_in_the_weights():
    """Recomputed another way: the channel's kernel and bias zeroed in a copy of the model."""
    import keras

    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input

    atlas = shipped_atlas()
    net = tgn.load_model(SHIPPED / runs.MODEL_FILE)
    test = load_split("test")
    probe = atlas["probe_indices"]
    x, labels = to_model_input(test.images[probe]), test.labels[probe].astype(int)
    for layer in ("stem_conv", "block3_3x3"):
        rows = atlas.rows(layer)
        # The channel whose removal moves the true-class probability most: a case with a visible effect.
        change = np.abs(atlas["knockout_true_probability"][rows] - atlas["probe_true_probability"]).sum(axis=1)
        channel = int(change.argmax())
        assert change[channel] > 0.5
        copy = keras.models.clone_model(net)
        copy.set_weights(net.get_weights())
        kernel, bias = copy.get_layer(layer).get_weights()
        kernel[..., channel], bias[channel] = 0.0, 0.0
        copy.get_layer(layer).set_weights([kernel, bias])
        probabilities = copy.predict(x, verbose=0)
        correct = np.bincount(labels[probabilities.argmax(axis=1) == labels], minlength=10)
        true_probability = np.bincount(labels, weights=probabilities[np.arange(len(labels)), labels], minlength=10)
        row = atlas.row(layer, channel)
        assert np.abs(atlas["knockout_correct"][row] - correct).max() <= 1  # an exact tie may fall either way
        assert atlas["knockout_true_probability"][row] == pytest.approx(true_probability, abs=1e-2)
        assert abs(atlas.knockout(row)["total_off"] - correct.sum() / len(probe)) <= 10 / len(probe)


# --------------------------------------------------------------------------- reading: every way a file can be wrong


@pytest.mark.parametrize("damage", ["missing", "truncated", "other model", "other layers", "other images"])
def test_a_missing_or_inconsistent_atlas_is_refused_with_a_reason(damage, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(SHIPPED, folder, ignore=shutil.ignore_patterns(".*"))
    path = folder / runs.ATLAS_FILE
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "other model":
        shutil.copy(runs.SHIPPED_RUNS["original-recipe"] / runs.ATLAS_FILE, path)
    elif damage == "other layers":
        runs.write_npz_atomic(path, **{**arrays, "channels": arrays["channels"][::-1].copy()})
    else:
        runs.write_npz_atomic(path, **{**arrays, "images": np.array(5_000)})
    expected = {
        "missing": "no channel atlas yet",
        "truncated": "cannot be read",
        "other model": "another model file",
        "other layers": "other convolutions",
        "other images": "5000 test images",
    }[damage]
    with pytest.raises(atlas_file.AtlasError, match=expected):
        shipped_atlas(folder)


# --------------------------------------------------------------------------- computing: small, then resumed


class SimulatedInterrupt(KeyboardInterrupt):
    """The test's own Ctrl-C. ``pytest.raises(KeyboardInterrupt)`` would also catch a real one pressed during
    the computation, turning the user's Ctrl-C into a test result while the suite ran on."""


def test_compute_writes_a_consistent_atlas_and_resumes_after_an_interruption(tmp_path, monkeypatch):
    from explain import atlas

    folder = tmp_path / "run"
    shutil.copytree(runs.SHIPPED_RUNS["original-recipe"], folder, ignore=shutil.ignore_patterns(".*"))
    (folder / runs.ATLAS_FILE).unlink(missing_ok=True)
    real_visualisations = atlas.feature_visualisations

    def interrupted(net, name, level, steps):
        if name == "block1_3x3":
            raise SimulatedInterrupt  # the session ends in the middle of the visualisations
        return real_visualisations(net, name, level, steps)

    monkeypatch.setattr(atlas, "feature_visualisations", interrupted)
    with pytest.raises(SimulatedInterrupt):
        atlas.compute(folder, images=300, probe_per_class=5, steps=2)
    assert (folder / runs.ATLAS_PARTIAL_FILE).is_file() and not (folder / runs.ATLAS_FILE).exists()

    def must_not_run(*args, **kwargs):
        raise AssertionError("finished work was repeated")

    monkeypatch.setattr(atlas, "feature_visualisations", real_visualisations)
    monkeypatch.setattr(atlas, "knockout_layer", must_not_run)  # every layer's knock-outs were saved
    monkeypatch.setattr(atlas, "activation_statistics", must_not_run)
    atlas.compute(folder, images=300, probe_per_class=5, steps=2)
    assert not (folder / runs.ATLAS_PARTIAL_FILE).exists()
    results = runs.load_results(folder)
    with pytest.raises(atlas_file.AtlasError, match="300 test images"):  # made from a subset: not for the page
        atlas_file.read(folder, results.architecture, 10_000, runs.file_sha256(folder / runs.MODEL_FILE))
    computed = atlas_file.read(folder, results.architecture, 300, runs.file_sha256(folder / runs.MODEL_FILE))
    assert computed["probe_count"].tolist() == [5] * 10 and computed["top_index"].max() < 300


def test_ctrl_c_during_the_interruption_test_stops_pytest(tmp_path):
    """A real Ctrl-C while the interruption test computes stops pytest (it used to be caught as the test's
    own interruption: the test went on, failed or passed, and so did the suite)."""
    import signal
    import subprocess
    import sys
    import time

    log_path = tmp_path / "pytest.log"
    node = "tests/test_atlas.py::test_compute_writes_a_consistent_atlas_and_resumes_after_an_interruption"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", node],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 600
        while "knock-outs: 1/" not in log_path.read_text():  # inside the first computation
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        returncode = process.wait(timeout=60)
        seconds = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log_path.read_text()
    assert returncode == pytest.ExitCode.INTERRUPTED, output[-3000:]
    assert "KeyboardInterrupt" in output and "finished work was repeated" not in output
    assert seconds < 20, f"pytest took {seconds:.1f} s to stop"


def test_the_shipped_runs_atlas_cannot_be_recomputed_from_the_app():
    with pytest.raises(jobs.JobError, match="come with their channel atlas"):
        jobs.start_atlas(SHIPPED)


# --------------------------------------------------------------------------- the page


page = functools.partial(open_page, PAGE)


def test_the_page_opens_on_the_stem_and_shows_a_channel_in_detail():
    at = page()
    assert not at.exception and not at.error
    assert at.selectbox(key="atlas_layer").value == "stem_conv"
    assert at.subheader[0].value == "Stem convolution · channel 0"
    assert len(at.get("plotly_chart")) == 3  # the grid of tiles, the class profile, the knock-out
    assert any("Top 9 test images" in m.value for m in at.markdown)
    # Links to Saliency that keep the session (st.page_link; AppTest, running one page alone, gets the
    # page's fallback: a plain link with the same target).
    links = [m.value for m in at.markdown if "Saliency?index=" in m.value]
    assert len(links) == 9  # one list in the picture's reading order (three columns stacked 1, 4, 7 on a phone)
    assert [link.split(".")[0] for link in links] == [f"[{rank}" for rank in range(1, 10)]


def test_a_change_that_prints_as_zero_has_no_arrow_and_no_colour():
    from analysis.points import points_change

    assert points_change(0.946, 0.946).text == "no change" and points_change(0.946, 0.946).direction == 0
    assert points_change(0.5, 0.5004).text == "no change to 0.1 points"  # not "+0.0 points" in green
    assert (points_change(0.946, 0.945).text, points_change(0.946, 0.945).direction) == ("-0.1 points", -1)
    assert points_change(0.5, 0.542).text == "+4.2 points" and points_change(0.5, 0.542).delta_color == "normal"
    zero, lower = page(layer="stem_conv", channel="0"), page(layer="stem_conv", channel="5")
    atlas = shipped_atlas()
    for at, channel in ((zero, 0), (lower, 5)):
        effect = atlas.knockout(atlas.row("stem_conv", channel))
        assert (effect["total_off"] == effect["total"]) == (channel == 0)  # the shipped atlas's two cases
    from streamlit.proto.Metric_pb2 import Metric

    shown = zero.metric[2].proto
    assert shown.delta == "no change"
    assert Metric.MetricDirection.Name(shown.direction) == "NONE" and Metric.MetricColor.Name(shown.color) == "GRAY"
    shown = lower.metric[2].proto  # a real drop keeps its arrow and colour
    assert shown.delta == "-0.1 points"
    assert Metric.MetricDirection.Name(shown.direction) == "DOWN" and Metric.MetricColor.Name(shown.color) == "RED"


def test_a_deep_link_opens_that_channel_and_the_widgets_take_over():
    atlas = shipped_atlas()
    at = page(layer="block3_5x5", channel="17")
    assert not at.exception and not at.info
    assert at.selectbox(key="atlas_layer").value == "block3_5x5" and at.number_input(key="atlas_channel").value == 17
    assert at.subheader[0].value == "Block 3 · 5x5 branch · channel 17"
    favourite = ", ".join(CLASS_NAMES[k] for k in atlas.favourite_classes(atlas.row("block3_5x5", 17)))
    assert at.metric[1].value == favourite
    at.number_input(key="atlas_channel").set_value(18).run()  # the link does not pull the view back
    assert at.subheader[0].value == "Block 3 · 5x5 branch · channel 18" and at.query_params["channel"] in ("18", ["18"])


@pytest.mark.parametrize(
    "query, notice",
    [
        ({"layer": "block9_7x7", "channel": "3"}, "layer=block9_7x7"),
        ({"layer": "stem_conv", "channel": "16"}, "between 0 and 15"),
        ({"layer": "block1_3x3", "channel": "x`[y](http://e.x)"}, "whole number"),
    ],
)
def test_bad_deep_link_values_fall_back_with_a_notice(query, notice):
    at = page(**query)
    assert not at.exception
    assert any(notice in info.body for info in at.info)
    assert all("](http://e.x)" not in m.value for m in at.markdown)  # a link's text is never markup


def test_dead_channels_are_said_to_be_dead():
    atlas = shipped_atlas()
    dead = [row for row in range(976) if atlas.dead(row)]
    if not dead:
        pytest.skip("the shipped model has no dead channel")
    layer = next(name for name in atlas.layers if atlas.rows(name).start <= dead[0] < atlas.rows(name).stop)
    at = page(layer=layer, channel=str(dead[0] - atlas.rows(layer).start))
    assert not at.exception and "A dead channel" in at.warning[0].body


def test_a_run_without_an_atlas_is_offered_one(isolated_runs, monkeypatch):
    folder = isolated_runs / "unmapped"
    shutil.copytree(runs.SHIPPED_RUNS["original-recipe"], folder, ignore=shutil.ignore_patterns(".*"))
    (folder / runs.ATLAS_FILE).unlink()
    at = page({"selected_run": "unmapped"})
    assert not at.exception and "no channel atlas yet" in at.info[0].body
    assert at.button(key="start_explain.atlas").label.startswith("Compute the channel atlas")
    monkeypatch.setenv("TGN_DISABLE_RETRAINING", "1")
    at.run()
    assert not at.button and "switched off" in " ".join(m.value for m in at.markdown)


def test_the_inception_page_offers_its_tiles_as_links_to_the_atlas():
    at = AppTest.from_file(str(REPO_ROOT / app_pages()["Inception branches"]), default_timeout=180).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) >= 4  # four layers of tiles (then the knock-out chart)
    assert any("Click a tile to see that channel in the channel atlas" in c.value for c in at.caption)


@pytest.mark.parametrize(
    "command",
    [
        ["explain.atlas", "--images", "100", "--steps", "1"],
        ["explain.scorecard", "--images", "2", "--cascade-images", "1"],
    ],
)
def test_a_second_analysis_of_the_same_folder_is_refused(tmp_path, command):
    import subprocess
    import sys

    folder = tmp_path / "run"
    shutil.copytree(runs.SHIPPED_RUNS["original-recipe"], folder, ignore=shutil.ignore_patterns(".*"))
    with guard.folder_lock(folder):  # as a running training or computation holds it
        done = subprocess.run(
            [sys.executable, "-m", command[0], "--run", str(folder), *command[1:]],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 2 and "another process is writing" in done.stderr
    assert not (folder / runs.ATLAS_PARTIAL_FILE).exists() and not (folder / runs.SCORECARD_PARTIAL_FILE).exists()


def test_a_layers_summary_counts_its_dead_channels_and_favourite_classes():
    atlas = shipped_atlas()
    for layer in ("stem_conv", "block4_5x5"):
        rows = range(atlas.rows(layer).start, atlas.rows(layer).stop)
        dead = sum(float(atlas["best_mean"][r]) <= 0 for r in rows)
        alive = [r for r in rows if not atlas.dead(r)]
        counts = np.bincount([int(np.argmax(atlas["class_mean"][r])) for r in alive], minlength=10)
        text = atlas.layer_summary(layer, CLASS_NAMES)
        assert text.startswith(f"{len(rows)} channels, {dead} dead")
        assert f"fires most for {CLASS_NAMES[int(np.argmax(counts))]} ({counts.max()} channels)" in text
        assert atlas.channel(layer, atlas.row(layer, 5)) == 5
