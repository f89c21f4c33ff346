"""The feature-space map: the stored embeddings, placing a new picture, selections, and the page."""

import functools
import shutil

import numpy as np
import pytest
from scipy.spatial import cKDTree

from analysis import embedding
from runfolder import runs
from tests.conftest import app_pages, open_page

PAGE = app_pages()["Feature space"]


@pytest.fixture(autouse=True)
def isolated_runs(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))
    yield tmp_path / "runs"


@pytest.mark.parametrize("name", list(runs.SHIPPED_RUNS))
def test_each_shipped_run_has_a_map_of_its_own_test_images(name):
    folder = runs.SHIPPED_RUNS[name]
    features = runs.load_features(folder).astype(np.float16)
    xy = embedding.read(folder, features)
    assert xy.shape == (10_000, 2) and xy.dtype == np.float32
    # Row i is test image i: its nearest points on the map mostly share its class (a shuffled map: ~10%).
    labels = runs.load_results(folder).labels
    _, nearest = cKDTree(xy).query(xy, k=6)
    assert (labels[nearest[:, 1:]] == labels[:, None]).mean() > 0.8
    assert (folder / runs.EMBEDDING_FILE).stat().st_size < 200_000


def test_placing_a_point_between_known_neighbours():
    features = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0]], dtype=np.float32)
    xy = np.array([[0.0, 0.0], [2.0, 0.0], [50.0, 50.0]], dtype=np.float32)
    position, nearest = embedding.place(np.array([0.25, 0.0]), features, xy, k=2)
    assert list(nearest) == [0, 1]
    assert position == pytest.approx([0.5, 0.0])  # weights 1/0.25 and 1/0.75: three quarters of the way to 0


def test_selection_indices_and_class_mix():
    traces = [np.array([5, 7, 9]), np.array([1, 2])]
    points = [
        {"curve_number": 0, "point_index": 2},
        {"curve_number": 1, "point_index": 0},
        {"curve_number": 2, "point_index": 0},
    ]
    assert list(embedding.selected_indices(points, traces)) == [1, 9]  # the third trace (your picture) is left out
    labels, predictions = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    mix = embedding.class_mix(np.array([0, 1, 2]), labels, predictions, ["a", "b", "c"])
    assert mix.set_index("class").to_dict() == {"true": {"a": 2, "b": 1}, "predicted": {"a": 1, "b": 2}}


page = functools.partial(open_page, PAGE)


def select(curve: int, count: int) -> dict:
    points = [{"curve_number": curve, "point_index": i} for i in range(count)]
    return {
        "feature_map": {"selection": {"points": points, "point_indices": list(range(count)), "box": [], "lasso": []}}
    }


def test_the_page_draws_10000_points_and_asks_for_a_selection():
    at = page()
    assert not at.exception and not at.error
    chart = at.get("plotly_chart")[0]
    import json

    spec = json.loads(chart.proto.spec)
    assert sum(len(trace["text"]) for trace in spec["data"]) == 10_000  # x and y travel as binary arrays
    assert "Select points on the map" in at.info[0].body


def test_a_selection_filters_the_gallery_and_shows_its_class_mix():
    results = runs.load_results(runs.SHIPPED_RUNS["shipped"])
    at = page(select(6, 30))  # coloured by true class: trace 6 holds the shirts
    assert not at.exception
    shirts = np.flatnonzero(results.labels == 6)[:30]
    wrong = int((results.predictions[shirts] != 6).sum())
    assert at.subheader[0].value == f"30 images selected · {wrong} of them misclassified"
    mix = at.dataframe[0].value.set_index("class")
    assert mix.loc["Shirt", "true"] == 30
    assert mix["predicted"].sum() == 30 and mix.loc["Shirt", "predicted"] == (results.predictions[shirts] == 6).sum()
    captions = [m.value for m in at.markdown if "  \ntrue: " in m.value]
    assert len(captions) == 24 and all("true: Shirt" in c for c in captions)
    assert len([m for m in at.markdown if "explain](" in m.value]) == 24  # each with its link
    # mistakes first, most confident first: the gallery is the first 24 in that order, not in index order
    expected = embedding.gallery_order(shirts, results.labels, results.predictions, results.probabilities.max(1))
    shown = [int(m.value.split("#")[1].split(" ")[0]) for m in at.markdown if "explain](" in m.value]
    assert shown == expected[:24].tolist() and shown != sorted(shown)
    assert any(f"Showing 24 of 30: {embedding.GALLERY_ORDER}" in c.value for c in at.caption)
    more = at.button(key="feature_gallery_more")
    assert more.label.startswith("Show 6 more")
    at = more.click().run()
    shown = [int(m.value.split("#")[1].split(" ")[0]) for m in at.markdown if "explain](" in m.value]
    assert shown == expected.tolist() and not at.button  # all 30, nothing more to show
    assert any("Showing 30 of 30" in c.value for c in at.caption)


def test_the_gallery_order_puts_confident_mistakes_first():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predictions = np.array([0, 1, 1, 0, 2, 2])  # images 1 and 3 are mistakes
    confidence = np.array([0.5, 0.6, 0.99, 0.9, 0.7, 0.7])
    order = embedding.gallery_order(np.array([0, 1, 2, 3, 4, 5]), labels, predictions, confidence)
    assert order.tolist() == [3, 1, 2, 4, 5, 0]  # mistakes by confidence, then the rest (ties by index)


def test_the_users_star_is_drawn_on_top_large_and_the_legend_below_the_map():
    from dashboard import charts

    xy = np.random.default_rng(0).normal(size=(50, 2))
    labels = np.arange(50) % 10
    figure, traces = charts.feature_map(
        xy, labels, labels, np.ones(50), "true", [str(c) for c in range(10)], user=np.array([0.0, 0.0])
    )
    star = figure.data[-1]
    assert star.name == "your picture" and len(traces) == 10
    # the points are WebGL, which is drawn over every SVG trace: the star must be WebGL too, and last
    assert all(trace.type == "scattergl" for trace in figure.data)
    assert star.marker.size >= 24 and star.marker.line.width >= 2 and star.marker.symbol == "star"
    legend = figure.layout.legend
    assert legend.orientation == "h" and legend.y < 0 and legend.yanchor == "top"  # below, away from the toolbar


def test_deep_link_colouring_and_a_bad_value():
    at = page(colour="confidence")
    assert at.segmented_control(key="colour").value == "confidence"
    at = page(colour="x`[y](http://e.x)")
    assert not at.exception and any("Ignored" in i.body for i in at.info)
    assert at.segmented_control(key="colour").value == "true"


def test_the_users_picture_is_placed_and_its_neighbours_shown():
    features = runs.load_features(runs.SHIPPED_RUNS["shipped"])
    at = page({"user_features": features[123] + 0.01})
    assert not at.exception
    assert any("The star is your picture" in c.value for c in at.caption)
    # nothing was selected: the page says these are the picture's neighbours, not a selection
    assert at.subheader[0].value.startswith("The 10 test images nearest to your picture · ")
    assert not any("selected" in h.value for h in at.subheader)
    captions = [m.value for m in at.markdown if "explain](" in m.value]
    assert len(captions) == 10 and captions[0].startswith("[#123 ")  # nearest first: the image itself


@pytest.mark.parametrize("damage", ["missing", "truncated", "other shape", "other features"])
def test_a_missing_or_broken_map_gets_a_message_and_an_offer(damage, isolated_runs):
    folder = isolated_runs / "mapless"
    shutil.copytree(runs.SHIPPED_RUNS["original-recipe"], folder, ignore=shutil.ignore_patterns(".*"))
    path = folder / runs.EMBEDDING_FILE
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "other shape":
        runs.write_npz_atomic(path, xy=np.zeros((100, 2), np.float32), features_sha256=np.array("x"))
    else:
        shutil.copy(runs.SHIPPED_RUNS["shipped"] / runs.EMBEDDING_FILE, path)
    at = page({"selected_run": "mapless"})
    assert not at.exception
    message = at.info[0].body
    assert {"missing": "no feature-space map", "truncated": "cannot be read", "other shape": "xy has shape",
            "other features": "other features"}[damage] in message.replace("\\", "")  # fmt: skip
    # computed in the background job slot, not in the server (runfolder.guard / dashboard.background)
    assert at.button(key="start_analysis.embedding").label.startswith("Compute the map")


def test_a_group_can_be_picked_without_drawing_on_the_map():
    results = runs.load_results(runs.SHIPPED_RUNS["shipped"])
    at = page()
    at.selectbox(key="feature_group").set_value("wrong:6").run()
    assert not at.exception
    wrong_shirts = np.flatnonzero((results.labels == 6) & (results.predictions != 6))
    assert at.subheader[0].value == (
        f"Misclassified Shirt images: {len(wrong_shirts):,} · {len(wrong_shirts):,} of them misclassified"
    )
    assert at.dataframe[0].value.set_index("class").loc["Shirt", "true"] == len(wrong_shirts)
    assert embedding.group_indices("all:3", results.labels, results.predictions).tolist() == (
        np.flatnonzero(results.labels == 3).tolist()
    )
