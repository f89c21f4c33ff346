"""The plotly figures the pages draw."""

import numpy as np
import pandas as pd
import pytest

from analysis import calibration
from dashboard import charts
from dataset.fashion_mnist import CLASS_NAMES


def test_faithfulness_chart_labels_every_order_with_its_auc():
    x = np.linspace(0, 1, 21)
    fig = charts.faithfulness_chart(
        "deletion",
        1 - x,
        {"random": np.ones(21), "garment": 1 - x / 2},
        "Grad-CAM",
        "Bag",
        {"random": "a random order"},
    )
    names = [trace.name for trace in fig.data]
    assert names == ["a random order · AUC 1.000", "garment · AUC 0.750", "Grad-CAM · AUC 0.500"]
    assert fig.layout.yaxis.title.text == "P(Bag)" and fig.layout.annotations[0].text == "lower area is better"


def test_randomisation_chart_draws_one_line_per_method_and_the_pass_line():
    import pandas as pd

    cascade = pd.DataFrame({"A": [0.9, 0.2], "B": [0.95, 0.9]}, index=["output layer", "+ dense layer"])
    fig = charts.randomisation_chart(cascade, highlight="B")
    assert [t.name for t in fig.data] == ["A", "B"] and fig.data[1].line.width == 4
    assert list(fig.data[0].x) == ["output layer", "+ dense layer"]
    # Its stages' names in short lines that fit a phone, never turned; a name from the file stays text.
    assert list(fig.layout.xaxis.ticktext) == ["output<br>layer", "dense<br>layer"] and fig.layout.xaxis.tickangle == 0
    odd = charts.randomisation_chart(pd.DataFrame({"A": [0.5]}, index=["<b>x</b>"]))
    assert list(odd.layout.xaxis.ticktext) == ["&lt;b&gt;x&lt;/b&gt;"]


def test_knockout_chart_groups_before_and_after():
    before, after = np.full(10, 0.1), np.eye(10)[3]
    fig = charts.knockout_chart(before, after, CLASS_NAMES, "without 3x3")
    assert [t.name for t in fig.data] == ["unchanged", "without 3x3"]
    assert list(fig.data[1].y) == list(after) and fig.layout.barmode == "group"


def test_learning_curves_have_training_validation_and_selected_epoch():
    history = pd.DataFrame(
        {
            "epoch": [1, 2],
            "loss": [1.0, 0.5],
            "val_loss": [1.1, 0.6],
            "accuracy": [0.5, 0.8],
            "val_accuracy": [0.6, 0.7],
            "learning_rate": [1e-3, 5e-4],
        }
    )
    names = {t.name for t in charts.learning_curves({"run": history}, {"run": 2}).data}
    assert {"run · training", "run · validation", "run · learning rate", "run · selected epoch 2"} <= names


def test_learning_curves_open_zoomed_past_the_first_epochs():
    epochs = np.arange(1, 31)
    accuracy = 0.95 - 0.1 / epochs
    history = pd.DataFrame(
        {
            "epoch": epochs,
            "loss": 0.3 + 1 / epochs,
            "val_loss": 0.35 + 1 / epochs,
            "accuracy": accuracy,
            "val_accuracy": np.r_[[0.1, 0.1, 0.6], accuracy[3:] - 0.01],  # a weight average's slow start
            "learning_rate": np.linspace(2e-3, 0, 30),
        }
    )
    layout = charts.learning_curves({"run": history}, {"run": 30}).layout
    low, high = layout.yaxis2.range
    assert 0.6 < low <= history["val_accuracy"][3:].min() and high >= history["accuracy"].max()
    low, high = layout.yaxis.range
    assert low <= history["loss"].min() and history["val_loss"][3:].max() <= high < history["val_loss"][0]


def test_reliability_diagram_draws_one_bar_per_bin_and_the_diagonal():
    probabilities = np.zeros((3, 10))
    probabilities[0, 0], probabilities[1, 1], probabilities[2, 2] = 0.95, 0.95, 0.55
    probabilities[:, 9] = 1 - probabilities.max(axis=1)
    table = calibration.reliability_bins(probabilities, np.array([0, 0, 2]))
    fig = charts.reliability_diagram(table)
    bars, diagonal = fig.data
    np.testing.assert_allclose(bars.x, [0.55, 0.95])
    np.testing.assert_allclose(bars.y, [1.0, 0.5])
    assert list(bars.text) == ["1", "2"]
    assert list(diagonal.x) == [0, 1] and list(diagonal.y) == [0, 1]


def test_the_moving_map_is_a_valid_plotly_figure_starting_at_its_frame():
    """Its traces skip Plotly's validation when built (for speed): validate the whole figure here."""
    import plotly.graph_objects as go

    rng = np.random.default_rng(0)
    epochs, points = [1, 2, 5], 40
    positions = rng.normal(size=(len(epochs), points, 2))
    labels = np.arange(points) % 4
    wrong = rng.random((len(epochs), points)) < 0.3
    fig = charts.moving_map(epochs, positions, labels, wrong, ["a", "b", "c", "d"], start_frame=1)
    checked = go.Figure(fig.to_dict())  # raises on any invalid property or value
    assert [frame.name for frame in checked.frames] == ["1", "2", "5"]
    assert checked.layout.sliders[0].active == 1
    first = fig.data[0]  # class "a" at the start frame, its mistakes drawn as crosses
    assert np.allclose(first.x, positions[1, labels == 0, 0])
    assert list(first.marker.symbol) == ["x" if w else "circle" for w in wrong[1, labels == 0]]
    bad = fig.to_dict()
    bad["frames"][0]["data"][0]["marker"]["symbol"] = ["star-of-nothing"] * int((labels == 0).sum())
    with pytest.raises(ValueError):
        go.Figure(bad)
