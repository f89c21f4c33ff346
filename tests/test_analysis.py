"""The TensorFlow-free logic behind the fast pages."""

import numpy as np
import pandas as pd
import pytest

from analysis import architecture, calibration, confusion, mistakes
from analysis.query import QueryReader
from runfolder import runs


def toy_outputs():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0],  # right
            [0.2, 0.7, 0.1],  # 0 -> 1, confident
            [0.0, 1.0, 0.0],  # right
            [0.45, 0.4, 0.15],  # 1 -> 0, close call
            [0.1, 0.1, 0.8],  # right
            [0.6, 0.1, 0.3],  # 2 -> 0
            [0.1, 0.5, 0.4],  # 2 -> 1, close
        ]
    )
    padded = np.zeros((len(labels), 10))
    padded[:, :3] = probabilities
    return labels, padded


def test_confusion_counts_and_scores():
    labels, probs = toy_outputs()
    counts = runs.confusion_counts(labels, probs.argmax(1))
    assert counts.sum() == len(labels)
    assert counts[0, 1] == 1 and counts[2, 2] == 1 and counts[2, 0] == 1
    scores = runs.per_class_scores(counts)
    assert scores["recall"][2] == pytest.approx(1 / 3)
    assert scores["precision"][0] == pytest.approx(1 / 3)
    assert scores["support"][:3] == [2, 2, 3]


def test_row_normalised_rows_sum_to_one():
    counts = np.array([[3, 1], [0, 0]])
    shares = confusion.row_normalised(counts)
    np.testing.assert_allclose(shares, [[0.75, 0.25], [0.0, 0.0]])


def test_most_confused_pairs_are_sorted_off_diagonal():
    counts = np.diag([50] * 10)
    counts[6, 0], counts[4, 2], counts[0, 6] = 30, 20, 25
    pairs = confusion.most_confused_pairs(counts, top=2)
    assert list(zip(pairs["true_index"], pairs["predicted_index"])) == [(6, 0), (0, 6)]
    assert pairs.iloc[0]["true"] == "Shirt"


def test_cell_indices_most_confident_first():
    labels, probs = toy_outputs()
    cell = confusion.cell_indices(labels, probs.argmax(1), 2, 0, probs)
    assert cell.tolist() == [5]
    diagonal = confusion.cell_indices(labels, probs.argmax(1), 2, 2, probs)
    assert diagonal.tolist() == [4]


def test_mistakes_filter_sort_and_paginate():
    labels, probs = toy_outputs()
    table = mistakes.mistakes_table(probs, labels)
    assert sorted(table["index"]) == [1, 3, 5, 6]
    by_confidence = mistakes.filter_and_sort(table, sort="confidence")
    assert by_confidence["index"].tolist()[0] == 1  # 0.7 confident and wrong
    by_margin = mistakes.filter_and_sort(table, sort="margin")
    assert by_margin["index"].tolist()[0] == 3  # 0.45 vs 0.40
    only_true_2 = mistakes.filter_and_sort(table, true_class=2)
    assert set(only_true_2["index"]) == {5, 6}
    assert mistakes.filter_and_sort(table, true_class=2, predicted_class=1)["index"].tolist() == [6]
    page = mistakes.paginate(by_confidence, page=99, per_page=3)
    assert (page.number, page.count, len(page.rows)) == (2, 2, 1)
    with pytest.raises(ValueError):
        mistakes.filter_and_sort(table, sort="nonsense")


@pytest.mark.parametrize(
    "params, expected, notice",
    [
        ({"index": "42"}, 42, None),
        ({"index": "-3"}, 0, "between 0 and 9999"),
        ({"index": "abc"}, 0, "whole number"),
        ({"index": "1e3"}, 0, "whole number"),
        ({}, 0, None),
    ],
)
def test_query_integer(params, expected, notice):
    reader = QueryReader(params)
    assert reader.integer("index", 0, 0, 9999) == expected
    assert (notice is None) == (not reader.notices)
    if notice:
        assert notice in reader.notices[0]


def test_query_class_and_choice():
    reader = QueryReader({"true": "shirt", "predicted": "11", "sort": "margin", "method": "magic"})
    assert reader.class_index("true") == 6
    assert reader.class_index("predicted") is None
    assert reader.choice("sort", ["confidence", "margin"], "confidence") == "margin"
    assert reader.choice("method", ["gradcam"], "gradcam") == "gradcam"
    assert len(reader.notices) == 2


def test_multiply_adds_of_a_conv_and_dense():
    conv = {"type": "Conv2D", "output_shape": [14, 14, 32], "kernel_size": [5, 5], "params": 25632}
    assert architecture.multiply_adds(conv) == 14 * 14 * 32 * 25 * 32
    dense = {"type": "Dense", "output_shape": [10], "params": 2510}
    assert architecture.multiply_adds(dense) == 2500


def test_receptive_fields_grow_through_the_blocks():
    fields = architecture.receptive_fields()
    assert fields[1] == {"3x3": 5, "5x5": 7}
    assert fields[2] == {"3x3": 12, "5x5": 16}
    assert fields[4]["5x5"] > 28


def test_summary_frame_has_keras_columns():
    rows = [
        {"name": "image", "type": "InputLayer", "output_shape": [28, 28, 1], "params": 0, "connected_to": []},
        {
            "name": "stem_conv",
            "type": "Conv2D",
            "output_shape": [28, 28, 16],
            "params": 160,
            "connected_to": ["image"],
            "kernel_size": [3, 3],
        },
    ]
    frame = architecture.summary_frame(rows)
    assert list(frame.columns) == ["Layer", "Type", "Output shape", "Param #", "Connected to"]
    assert frame.iloc[1]["Output shape"] == "(None, 28, 28, 16)"
    assert isinstance(frame, pd.DataFrame)


def calibration_toy():
    # Top answers at 95% (right), 95% (wrong), 55% (right), 35% (right); labels are class 0.
    probabilities = np.zeros((4, 10))
    probabilities[0, 0] = probabilities[1, 1] = 0.95
    probabilities[0, 1:] = probabilities[1, [0, *range(2, 10)]] = 0.05 / 9
    probabilities[2, 0], probabilities[2, 1:] = 0.55, 0.45 / 9
    probabilities[3, 0], probabilities[3, 1:] = 0.35, 0.65 / 9
    return probabilities, np.zeros(4, dtype=int)


def test_reliability_bins_group_answers_by_confidence():
    table = calibration.reliability_bins(*calibration_toy())
    assert table["images"].tolist() == [1, 1, 2]
    np.testing.assert_allclose(table["lower"], [0.3, 0.5, 0.9])
    np.testing.assert_allclose(table["upper"], [0.4, 0.6, 1.0])
    np.testing.assert_allclose(table["confidence"], [0.35, 0.55, 0.95])
    np.testing.assert_allclose(table["accuracy"], [1.0, 1.0, 0.5])


def test_calibration_error_and_verdict():
    result = calibration.calibration(*calibration_toy())
    # (1 * 0.65 + 1 * 0.45 + 2 * 0.45) / 4
    assert result.expected_calibration_error == pytest.approx(0.5)
    assert (result.mean_confidence, result.accuracy) == (pytest.approx(0.7), 0.75)
    assert result.verdict == "underconfident"


def test_a_calibrated_model_scores_near_zero_and_an_overconfident_one_does_not():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.2, 1.0, 20_000)
    right = rng.uniform(size=confidence.size) < confidence
    labels = np.where(right, 0, 1)
    probabilities = np.zeros((confidence.size, 10))
    probabilities[:, 0] = confidence
    probabilities[:, 1:] = ((1 - confidence) / 9)[:, None]
    assert calibration.calibration(probabilities, labels).expected_calibration_error < 0.02
    labels_overconfident = np.where(rng.uniform(size=confidence.size) < confidence - 0.15, 0, 1)
    worse = calibration.calibration(probabilities, labels_overconfident)
    assert worse.expected_calibration_error == pytest.approx(0.15, abs=0.02)
    assert worse.verdict == "overconfident"


def test_a_confidence_of_one_lands_in_the_last_bin():
    probabilities = np.eye(10)[[3]]
    table = calibration.reliability_bins(probabilities, np.array([3]))
    assert table[["lower", "upper", "images", "accuracy"]].values.tolist() == [[0.9, 1.0, 1, 1.0]]


def test_label_smoothing_target():
    assert calibration.smoothed_target(0.1, 10) == pytest.approx(0.91)
    assert calibration.smoothed_target(0.0, 10) == 1.0


def test_label_smoothing_effect_in_words():
    assert "91% rather than 100%" in calibration.label_smoothing_effect(0.1, 10)
    assert "without label smoothing" in calibration.label_smoothing_effect(0.0, 10)
