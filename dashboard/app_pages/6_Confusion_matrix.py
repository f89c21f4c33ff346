"""Confusion matrix: counts or row shares; select a cell to see its test images."""

import streamlit as st

from analysis import calibration
from analysis import confusion as cm
from dashboard import charts, display, ui
from dataset.fashion_mnist import CLASS_NAMES
from training.config import TrainConfig

GALLERY_SIZE = 18
MATRIX_KEY, PHONE_MATRIX_KEY = "confusion_cell", "confusion_cell_phone"
PHONE_CELL_PX = 32

run, results = ui.run_page("Confusion matrix", ":material/grid_on:")
confusion = results.confusion

st.title("Confusion matrix")
st.markdown(
    "Rows are the true classes, columns what the model predicted; the diagonal holds the correct "
    "answers. **Click a cell** to see the test images in it."
)

normalise = st.toggle("Show each row as shares of its true class", value=False)
shares = cm.row_normalised(confusion)


def shade(row):
    # Colour by the row share in both views, so small off-diagonal cells stay visible.
    true = cm.class_index(row.name)
    return [
        f"background-color: rgba(79, 70, 229, {min(0.08 + shares[true, p] ** 0.5 * 0.85, 0.93):.2f});"
        f"color: {'white' if shares[true, p] > 0.45 else '#1f2333'}"
        for p in range(len(row))
    ]


def matrix(key: str, phone: bool):
    """The matrix as a table whose cells can be picked; a phone's names the classes in three letters, in columns
    of PHONE_CELL_PX, with no decimals, so all ten fit 400 px (looked at)."""
    frame = cm.confusion_frame(confusion, normalise=normalise, abbreviated=phone)
    number = "{:,.0f}"
    if phone:  # no room for a % sign or a thousands comma: the legend says percent
        number = (lambda share: f"{share * 100:.0f}") if normalise else "{:.0f}"
    elif normalise:
        number = "{:.1%}"
    config = None
    if phone:
        config = {"_index": st.column_config.Column(width=PHONE_CELL_PX + 8)}
        config |= {c: st.column_config.Column(width=PHONE_CELL_PX) for c in frame.columns}
    return st.dataframe(
        frame.style.apply(shade, axis=1).format(number),
        key=key,
        on_select="rerun",
        selection_mode="single-cell",
        width="stretch",
        height=35 * 11 + 3,
        column_config=config,
    )


# The axes' titles: the columns' above the table (a table has no row for it), the rows' in its corner.
st.markdown(f"**{cm.PREDICTED_AXIS}**", text_alignment="center")
events = []


def phone_matrix():
    events.append(matrix(PHONE_MATRIX_KEY, phone=True))
    st.caption(("Percent of each row. " if normalise else "") + cm.abbreviations_legend())


display.two_versions("confusion_matrix", lambda: events.append(matrix(MATRIX_KEY, phone=False)), phone_matrix)

reader = ui.query_reader()
pairs = cm.most_confused_pairs(confusion, top=10)
true_class = reader.class_index("true", int(pairs.iloc[0]["true_index"]) if len(pairs) else 0)
predicted_class = reader.class_index("predicted", int(pairs.iloc[0]["predicted_index"]) if len(pairs) else 0)
ui.show_notices(reader)
cells = [cell for event in events if event is not None for cell in event.selection.cells]
if cells:  # a cell picked in the table on screen (a wide or a phone's, never both)
    row, column = cells[0]
    true_class, predicted_class = int(row), cm.class_index(column)
    st.query_params.update(true=str(true_class), predicted=str(predicted_class))

indices = cm.cell_indices(results.labels, results.predictions, true_class, predicted_class, results.probabilities)
verb = "correctly recognised" if true_class == predicted_class else f"predicted as **{CLASS_NAMES[predicted_class]}**"
st.subheader(f"True {CLASS_NAMES[true_class]}, predicted {CLASS_NAMES[predicted_class]}")
st.markdown(
    f"{len(indices):,} test images of class **{CLASS_NAMES[true_class]}** were {verb}"
    f"{'' if len(indices) <= GALLERY_SIZE else f'; the {GALLERY_SIZE} most confident are shown'}."
)
split = ui.test_split_or_none()
if split is not None and len(indices):
    ui.image_gallery(split, indices[:GALLERY_SIZE], results.probabilities, columns=6)

left, right = st.columns(2)
with left:
    st.subheader("Per-class scores")
    st.dataframe(
        cm.scores_frame(results.metrics["per_class"]),
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")},
    )
with right:
    st.subheader("Most confused pairs")
    st.dataframe(
        pairs.drop(columns=["true_index", "predicted_index"]),
        hide_index=True,
        width="stretch",
        column_config={"share of true class": st.column_config.NumberColumn(format="percent")},
    )

st.subheader("Can its confidence be taken at its word?")
trust = calibration.calibration(results.probabilities, results.labels)
c1, c2, c3 = st.columns(3)
c1.metric("Mean confidence", ui.percent(trust.mean_confidence), help="The probability of the top answer, averaged.")
c2.metric("Accuracy", ui.percent(trust.accuracy))
c3.metric(
    "Expected calibration error",
    ui.percent(trust.expected_calibration_error),
    help=f"Test images grouped into {calibration.BINS} confidence bins; the gap between each bin's accuracy and "
    "its mean confidence, averaged with the bins' sizes as weights. 0 is perfect.",
)
widest = trust.bins.iloc[int((trust.bins["accuracy"] - trust.bins["confidence"]).abs().argmax())]
display.chart(
    charts.reliability_diagram(trust.bins),
    "Bar chart of accuracy against confidence for the test images grouped by confidence, with a dashed line "
    "where they are equal",
    "reliability diagram",
    f"The largest gap: answers given with {widest['lower']:.0%}-{widest['upper']:.0%} confidence are right "
    f"{widest['accuracy']:.1%} of the time (mean confidence {widest['confidence']:.1%}, {int(widest['images']):,} "
    "images).",
    width="stretch",
)
smoothing = TrainConfig.from_dict(results.card["settings"]).label_smoothing
st.markdown(
    f"The model is **{trust.verdict}**: bars above the dashed line hold answers that are right more often than "
    "their confidence says, bars below it answers that are right less often. "
    + calibration.label_smoothing_effect(smoothing, len(CLASS_NAMES))
)
