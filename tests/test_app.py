"""Every page through streamlit.testing.v1.AppTest, on the shipped run, as a user would use it."""

import json
import re
import shutil

import numpy as np
import pytest
import streamlit as st
from streamlit.proto.Metric_pb2 import Metric
from streamlit.testing.v1 import AppTest

from analysis import hardware
from dashboard import ui
from explain import saliency
from explain.saliency import DEFAULT_METHOD
from runfolder import runs
from tests.conftest import REPO_ROOT, app_pages, blank_grad_cam_images, run_selector
from training.config import TrainConfig

PAGES = app_pages()
SHIPPED = runs.load_results(runs.SHIPPED_RUNS["shipped"])


@pytest.fixture(autouse=True)
def isolated_runs(tmp_path, monkeypatch, data_env):
    """Each test sees the shipped runs plus an empty runs directory of its own."""
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.delenv("TGN_DISABLE_RETRAINING", raising=False)
    yield
    st.cache_data.clear()


def app(page: str, /, **query) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / PAGES[page]), default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [s.value for s in at.subheader] + [c.value for c in at.caption])


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_without_exception(page):
    at = app(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page has a title"
    assert run_selector(at).label == "Model run"


def home_accuracy(at) -> str:
    """The test accuracy Home's headline sentence states."""
    headline = next(m.value for m in at.markdown if "of the 10,000 test images right" in m.value)
    return headline.split("**")[1]


def test_home_shows_the_shipped_figures_and_a_gallery():
    at = app("Home")
    assert home_accuracy(at) == f"{SHIPPED.metrics['test_accuracy']:.2%}"
    headline = next(m.value for m in at.markdown if "of the 10,000 test images right" in m.value)
    assert "1,044,240 parameters" in headline and "against the seed's real 84.89%" in headline
    assert any("claimed 89.54%" in c.value for c in at.caption)
    assert not at.get("image")  # pictures only when asked for
    at.toggle(key="home_gallery").set_value(True).run()
    assert len(at.get("image")) == 10  # one test image per class
    assert "T-shirt/top" in texts(at)


def test_architecture_table_and_totals():
    at = app("Architecture")
    frames = [d.value for d in at.dataframe]
    summary = next(f for f in frames if "Param #" in f.columns)
    assert len(summary) == len(SHIPPED.architecture)
    assert summary["Param #"].sum() == 1_044_240
    assert {"Layer", "Type", "Output shape", "Connected to"} <= set(summary.columns)
    assert {m.label: m.value for m in at.metric}["Total parameters"] == "1,044,240"
    block = next(f for f in frames if "branch" in f.columns)
    assert set(block["branch"]) == {"3x3 branch", "5x5 branch", "merge"}
    # Each branch's multiply-adds sit under its parameters as a second figure: no up/down arrow.
    branch_metrics = [m for m in at.metric if m.label in {"3x3 branch", "5x5 branch", "merge"}]
    assert len(branch_metrics) == 3 and all("multiply-adds" in m.proto.delta for m in branch_metrics)
    assert {m.proto.direction for m in branch_metrics} == {Metric.MetricDirection.NONE}
    assert "1x1 convolutions" in texts(at) and "LRN" in texts(at)


def test_learning_curves_overlay_the_shipped_runs():
    at = app("Learning curves")
    assert at.multiselect[0].value[0] == "shipped"
    chart = at.get("plotly_chart")[0]
    figure = json.loads(chart.proto.spec)
    names = {trace.get("name", "") for trace in figure["data"]}
    assert any(name.startswith("shipped · validation") for name in names)
    assert any("selected epoch" in name for name in names)
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["original-recipe", "augmentation"] == "none"
    assert table.loc["original-recipe", "weight averaging"] == "none"
    assert table.loc["original-recipe", "optimizer"] == "RMSprop"
    shipped = TrainConfig.from_dict(SHIPPED.card["settings"])
    assert table.loc["shipped", "augmentation"] == shipped.augmentation_summary()
    assert table.loc["shipped", "test accuracy"] == SHIPPED.metrics["test_accuracy"]
    # no hardware column to be cut off at the table's edge: time and hardware in full below it
    assert not {"hardware", "minutes"} & set(table.columns)
    caption = next(c.value for c in at.caption if c.value.startswith("Training time:")).replace("\\", "")
    device = hardware.describe(SHIPPED.card["hardware"])
    assert f"`shipped` {SHIPPED.card['wall_seconds'] / 60:.1f} min on {device}" in caption and "cores" in device


def test_hardware_is_described_from_what_the_card_holds():
    assert hardware.describe({"device": "CPU", "cpu": "AMD EPYC", "cpu_count": 2}) == "CPU (AMD EPYC, 2 cores)"
    assert hardware.describe({"device": "GPU", "gpus": ["NVIDIA H200"], "cpu": "x86_64"}) == "GPU (NVIDIA H200)"
    assert hardware.describe({"device": "CPU"}) == "CPU"  # only the device is required


def _gallery_captions(at):
    return [m.value for m in at.markdown if "  \ntrue: " in m.value]


def _gallery_indices(at) -> list[int]:
    """The test images the gallery's explain links open, in order (page links; Markdown where AppTest runs one
    page alone and no menu is registered)."""
    return [int(m.value.split("[#")[1].split(" ")[0]) for m in at.markdown if "explain](" in m.value]


def test_confusion_cell_selection_filters_the_gallery():
    at = AppTest.from_file(str(REPO_ROOT / PAGES["Confusion matrix"]), default_timeout=180)
    at.session_state["confusion_cell"] = {"selection": {"rows": [], "columns": [], "cells": [[4, "Pullover"]]}}
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "True Coat, predicted Pullover"
    captions = _gallery_captions(at)
    expected = int(SHIPPED.confusion[4, 2])
    assert len(captions) == min(expected, 18) and expected > 0
    assert all("true: Coat" in c and "**Pullover**" in c for c in captions)
    assert at.query_params["true"] == "4" and at.query_params["predicted"] == "2"


def test_a_cell_picked_in_the_phones_matrix_filters_the_gallery_too():
    """The phone's matrix (display.two_versions) names the classes in three letters and holds the same counts;
    a cell picked there (true Coat, predicted "Pul") shows that cell's images, as the wide table's does."""
    from analysis import confusion as cm
    from dataset.fashion_mnist import CLASS_ABBREVIATIONS

    at = AppTest.from_file(str(REPO_ROOT / PAGES["Confusion matrix"]), default_timeout=180)
    at.session_state["confusion_cell_phone"] = {"selection": {"rows": [], "columns": [], "cells": [[4, "Pul"]]}}
    at.run()
    assert not at.exception
    wide, phone = at.dataframe[0].value, at.dataframe[1].value
    assert list(phone.columns) == list(phone.index) == list(CLASS_ABBREVIATIONS)
    np.testing.assert_array_equal(phone.to_numpy(), wide.to_numpy())
    assert len(set(CLASS_ABBREVIATIONS)) == 10 and all(len(a) == 3 for a in CLASS_ABBREVIATIONS)
    assert cm.class_index("Pul") == cm.class_index("Pullover") == 2
    assert at.subheader[0].value == "True Coat, predicted Pullover"
    assert at.query_params["true"] == "4" and at.query_params["predicted"] == "2"
    assert any("Coa Coat" in c.value for c in at.caption)  # the legend of the headings


def test_confusion_page_tables():
    at = app("Confusion matrix")
    matrix = at.dataframe[0].value
    assert matrix.index.name == "True class ↓" and list(matrix.index) == list(matrix.columns)  # the rows' title
    assert any(m.value == "**Predicted class →**" for m in at.markdown)  # the columns' title, above them
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    scores = next(v for k, v in frames.items() if "precision" in k)
    assert scores["support"].sum() == 10_000
    pairs = next(v for k, v in frames.items() if "count" in k)
    assert pairs["count"].is_monotonic_decreasing


@pytest.mark.parametrize("run, verdict", [("shipped", "underconfident"), ("original-recipe", "overconfident")])
def test_confusion_page_says_whether_confidence_can_be_trusted(run, verdict):
    # Label smoothing makes the shipped model underconfident; the original recipe's model is overconfident.
    at = AppTest.from_file(str(REPO_ROOT / PAGES["Confusion matrix"]), default_timeout=180)
    at.session_state[ui.RUN_KEY] = run
    at.run()
    assert not at.exception
    results = runs.load_results(runs.SHIPPED_RUNS[run])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accuracy"] == f"{results.metrics['test_accuracy']:.2%}"
    assert metrics["Mean confidence"] == f"{results.probabilities.max(axis=1).mean():.2%}"
    assert float(metrics["Expected calibration error"].rstrip("%")) > 1.0
    assert f"The model is **{verdict}**" in texts(at)
    smoothing = results.card["settings"]["label_smoothing"]
    assert ("label smoothing 0.1" in texts(at)) == (smoothing == 0.1)


def test_mistakes_filters_and_sort():
    at = app("Mistakes")
    at.selectbox(key="mistakes_true").set_value(6).run()
    captions = _gallery_captions(at)
    assert captions and all("true: Shirt" in c for c in captions)
    at.selectbox(key="mistakes_predicted").set_value(0).run()
    captions = _gallery_captions(at)
    assert all("true: Shirt" in c and "**T-shirt/top**" in c for c in captions)
    wrong = (SHIPPED.labels == 6) & (SHIPPED.predictions == 0)
    assert len(captions) == min(int(wrong.sum()), 24)
    # Most confidently wrong first: the first image has the largest predicted probability.
    assert len(_gallery_indices(at)) == len(captions)
    first = _gallery_indices(at)[0]
    assert SHIPPED.probabilities[first, 0] == pytest.approx(SHIPPED.probabilities[wrong, 0].max())
    at.radio(key="mistakes_sort").set_value("margin").run()
    first = _gallery_indices(at)[0]
    margins = SHIPPED.probabilities[wrong, 0] - SHIPPED.probabilities[wrong, 6]
    assert SHIPPED.probabilities[first, 0] - SHIPPED.probabilities[first, 6] == pytest.approx(margins.min())


@pytest.mark.parametrize(
    "page, query, notice",
    [
        ("Mistakes", {"true": "unicorn", "page": "-1"}, "not a class"),
        ("Mistakes", {"sort": "DROP TABLE"}, "choose one of"),
        ("Confusion matrix", {"true": "42"}, "not a class"),
        ("Saliency", {"index": "-3"}, "between 0 and 9999"),
        ("Saliency", {"index": "abc", "method": "magic", "layer": "block9", "target": "11"}, "whole number"),
        ("Inception branches", {"index": "99999", "block": "x"}, "between 0 and 9999"),
    ],
)
def test_bad_query_parameters_fall_back_with_a_notice(page, query, notice):
    at = app(page, **query)
    assert not at.exception
    notices = [i.body for i in at.info]
    assert any(notice in n for n in notices), notices
    if page == "Saliency" and "method" in query:
        assert len([n for n in notices if n.startswith("Ignored")]) == 4  # index, method, layer and target
        assert at.selectbox(key="method").value == shipped_default_method()


def test_saliency_deep_link_reproduces_the_view():
    wrong = int(np.flatnonzero(SHIPPED.predictions != SHIPPED.labels)[0])
    at = app("Saliency", index=str(wrong), method="gradcam++", layer="block2", target="true")
    assert not at.exception
    assert at.number_input(key="image_index").value == wrong
    assert at.selectbox(key="method").value == "gradcam++"
    assert at.selectbox(key="layer").value == "block2"
    assert at.selectbox(key="target").value == "true"
    images = at.get("image")
    assert len(images) >= 2  # why predicted and why true, side by side
    assert "misclassified" in texts(at)
    assert "AUC" in texts(at) or at.get("plotly_chart")
    at.selectbox(key="method").set_value("occlusion").run()
    assert at.query_params["method"] == "occlusion" and at.query_params["index"] == str(wrong)


def query(at) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


@pytest.mark.parametrize(
    "page, link",
    [
        ("Saliency", {"index": "12"}),
        ("Saliency", {"index": "12", "method": "gradcam++", "target": "true"}),
        ("Mistakes", {}),
        ("Mistakes", {"true": "6", "page": "2"}),
        ("How it computes", {"index": "3", "step": "conv"}),
        ("Inception branches", {"index": "5"}),
        ("Feature space", {}),
        ("Can the maps be trusted?", {}),
        ("Channel atlas", {"layer": "block3_3x3", "channel": "18"}),
    ],
)
def test_arriving_by_a_link_leaves_its_address_as_it_came(page, link):
    """The browser adds a history entry whenever a page changes its URL, so a page that wrote its defaults into
    the URL on arrival needed Back twice to leave (ui.sync_query): a link's address stays as it came."""
    at = app(page, **link)
    assert not at.exception and query(at) == link


def test_the_address_follows_the_view_and_drops_what_went_back_to_its_default():
    at = app("Saliency", index="12", method="gradcam++")
    at.selectbox(key="method").set_value("occlusion").run()
    assert query(at) == {"index": "12", "method": "occlusion"}
    at.selectbox(key="method").set_value(shipped_default_method()).run()  # back to what a bare link shows
    assert query(at) == {"index": "12"}
    at = app("Mistakes", true="6")
    at.selectbox(key="mistakes_true").select_index(0).run()  # any class: the old filter leaves the address
    at.radio(key="mistakes_sort").set_value("margin").run()
    assert query(at) == {"sort": "margin"}


def test_saliency_explains_a_blank_grad_cam_map_instead_of_showing_nothing():
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from explain import saliency

    explainers = saliency.build_explainers(tgn.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE))
    blank = blank_grad_cam_images(explainers, to_model_input(load_split("test").images[:40]), SHIPPED.predictions)[0]
    at = app("Saliency", index=str(blank), method="gradcam", layer="block3")
    assert not at.exception
    assert "map for" in at.info[0].value and "is blank" in at.info[0].value and "LayerCAM" in at.info[0].value
    assert "hold up on this image" not in texts(at)  # nothing to rank, so no test of the ranking
    at.selectbox(key="method").set_value("layercam").run()
    assert not at.info and "hold up on this image" in texts(at)


def shipped_default_method() -> str:
    """The method the Saliency page opens on for the shipped run: its scorecard's choice, if it has one."""
    card = ui.scorecard_or_none(runs.SHIPPED_RUNS["shipped"])
    return card["default"]["method"] if card else DEFAULT_METHOD


def test_saliency_opens_on_a_map_with_something_in_it():
    at = app("Saliency")
    assert not at.exception and not at.info
    assert at.selectbox(key="method").value == shipped_default_method() and "hold up on this image" in texts(at)


def test_saliency_layer_selector_is_off_for_methods_without_a_layer():
    at = app("Saliency", index="0", method="occlusion")
    assert not at.exception
    assert at.selectbox(key="layer").disabled
    assert any("no layer to choose" in c.value for c in at.caption)
    at.selectbox(key="method").set_value("layercam").run()
    assert not at.selectbox(key="layer").disabled and not any("no layer to choose" in c.value for c in at.caption)
    at.selectbox(key="method").set_value("saliency").run()  # a gradient map: pixels too
    assert at.selectbox(key="layer").disabled
    at.selectbox(key="method").set_value("all").run()  # the grid's CAMs use the layer
    assert not at.selectbox(key="layer").disabled


def test_saliency_all_methods_grid_and_navigation():
    at = app("Saliency", index="0", method="all")
    assert not at.exception
    assert len(at.get("image")) == len(saliency.METHODS)
    captions = [p.caption for e in at.get("image") for p in e.proto.imgs]  # row by row, in the methods' order
    assert [c.split(" · ")[0] for c in captions] == [
        saliency.method_label(k, "block3").split(" · ")[0] for k in saliency.METHODS
    ]
    at.button(key="next_mistake").click().run()
    index = at.number_input(key="image_index").value
    assert SHIPPED.predictions[index] != SHIPPED.labels[index]
    assert at.query_params["index"] == str(index)


def test_branches_page_knockout_changes_the_prediction_text():
    at = app("Inception branches", index="0", block="3")
    assert not at.exception
    assert "Block 3" in texts(at) and "7x7x64" in texts(at)
    assert len(at.get("plotly_chart")) == 5  # the four feature-map grids (clickable tiles) and the knock-out
    # legible tiles: 64 channels, 8 to a row, each drawn at least 96 px tall (they were 28 px in block 3)
    grid = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert grid["layout"]["height"] / 8 >= 96
    assert "black = no response (0)" in texts(at) and "pale yellow = the strongest" in texts(at)  # inferno in words
    # nothing switched off: one series, not "unchanged" next to "unchanged"
    bars = json.loads(at.get("plotly_chart")[-1].proto.spec)["data"]
    assert [bar["name"] for bar in bars] == ["both branches on"]
    at.radio(key="knockout").set_value("both").run()
    bars = json.loads(at.get("plotly_chart")[-1].proto.spec)["data"]
    assert [bar["name"] for bar in bars] == ["both branches on", "without both branches"]
    probabilities = [bar["y"] for bar in bars]
    line = next(m.value for m in at.markdown if m.value.startswith("Prediction: "))
    assert re.search(r"goes from \d+\.\d% to \d+\.\d%: ([+-]\d+\.\d points|no change)", line), line
    assert "%." not in line and probabilities[0] != probabilities[1]  # a change in percentage points, not "-4.2%"
    at.selectbox(key="colours").set_value("grey").run()
    assert "white = the strongest" in texts(at)


def test_retraining_form_rejects_invalid_settings():
    at = app("Retrain")
    at.number_input[0].set_value(0)  # epochs
    at.number_input[3].set_value(10)  # training images
    at.text_input[0].set_value("../outside")
    at.button[0].click().run()
    errors = [e.value for e in at.error]
    assert any("epochs must be between 1 and 200" in e for e in errors)
    assert any("limit must be between 64 and 60000" in e for e in errors)
    assert any("run name may only contain" in e for e in errors)
    assert not any(p.name.startswith("run-") for p in runs.runs_dir().glob("*"))


def test_retraining_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("TGN_DISABLE_RETRAINING", "1")
    at = app("Retrain")
    assert not at.exception
    assert "switched off" in at.info[0].body and "TGN_DISABLE_RETRAINING" in at.info[0].body
    assert not at.button and not at.number_input


def test_missing_run_folders_give_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "SHIPPED_RUNS", {"shipped": tmp_path / "gone", "original-recipe": tmp_path / "gone2"})
    at = app("Home")
    assert not at.exception
    message = at.error[0].value
    assert "No trained model found" in message and "python -m training.train" in message


def test_corrupt_run_folder_gives_a_clear_message(monkeypatch, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(runs.SHIPPED_RUNS["shipped"], broken)
    (broken / runs.OUTPUTS_FILE).write_bytes(b"not an npz file")
    monkeypatch.setattr(runs, "SHIPPED_RUNS", {"shipped": broken})
    at = app("Confusion matrix")
    assert not at.exception
    assert "is corrupt" in at.error[0].value and "python -m training.train" in at.error[0].value


def test_pages_without_data_explain_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "no-data"))
    ui.test_split.clear()
    try:
        at = app("Mistakes")
        assert not at.exception
        assert "FASHION_MNIST_DIR" in at.warning[0].body
        assert at.dataframe  # the mistakes are still listed, as a table
        at = app("Architecture")  # needs no images
        assert not at.exception and not at.warning
    finally:
        ui.test_split.clear()


def test_the_menu_lists_every_page_once_in_a_section():
    from dashboard import ui

    listed = [label for labels in ui.SECTIONS.values() for label in labels]
    assert sorted(listed) == sorted(ui.PAGES) and len(listed) == len(set(listed))


def test_a_picture_is_encoded_once_for_every_session_and_exactly():
    import io

    from PIL import Image

    from dashboard import display

    rng = np.random.default_rng(3)
    grey, colour = rng.integers(0, 256, (28, 28), dtype=np.uint8), rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    for pixels in (grey, colour):
        first = display._png(pixels)
        assert display._png(pixels.copy()) is first  # the same picture from another session: not encoded again
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(first))), pixels)  # lossless
    assert display._png(np.flipud(colour).copy()) is not display._png(colour)  # another picture, its own PNG
    with pytest.raises(TypeError, match="uint8"):
        display.png_bytes(grey / 255.0)  # a [0, 1] float picture would have wrapped round to black
