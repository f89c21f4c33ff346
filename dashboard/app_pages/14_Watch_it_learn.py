"""Watch it learn: how the answers, the feature space and the maps formed during training, read from the run's
learning.npz (no TensorFlow)."""

import numpy as np
import streamlit as st

from analysis import learning, markup
from dashboard import charts, display, ui
from dataset.fashion_mnist import CLASS_NAMES
from explain import methods, overlay
from runfolder import runs

run, results = ui.run_page("Watch it learn", ":material/timeline:")
st.title("Watch it learn")
st.markdown(
    "Every other page shows the finished network. This one shows how it got there: the network was saved at a "
    "few moments of its training (*snapshots*, after epochs 1, 2, 3, 5, 8, 12, 20, ...), and each snapshot "
    "answered the same 10,000 test images. At first its weights are random and it guesses; epoch by epoch, "
    "gradient descent nudges every weight to make the right answers a little more likely. Move the slider to "
    "see what it knew at each moment."
)

try:
    story = ui.learning_story(run)
except learning.LearningError as exc:
    st.info(markup.message(exc), icon=":material/pending:")
    st.markdown(
        "A run takes its snapshots while it trains and builds its story when training ends. A run trained before "
        "snapshots were recorded has none: train a run on the Retrain page, or with "
        + markup.code("python -m training.train", 200)
        + ", to watch it learn; or retrain this run's recipe with snapshots and give this run the rerun's story ("
        + markup.code("python -m explain.learning --run THIS-RUN --from-rerun THE-RERUN", 200)
        + ")."
    )
    st.stop()

rerun = story.rerun
if rerun is not None:
    st.info(
        rerun.sentence(
            results.metrics["test_accuracy"], results.metrics["best_val_accuracy"], story.selected_epoch, markup.escape
        ),
        icon=":material/replay:",
    )
epochs = story.epochs
reader = ui.query_reader()
chosen_epoch = reader.choice("epoch", [str(e) for e in epochs], str(story.selected_epoch))
probe = [int(i) for i in story.arrays["probe"]]
chosen_index = reader.choice("index", [str(i) for i in probe], str(probe[0]))
ui.show_notices(reader)

epoch = st.select_slider(
    "Epoch",
    options=epochs,
    value=int(chosen_epoch),
    key="epoch",
    help="The snapshots, from the first epoch to the last; the selected model is the epoch with the best "
    "validation accuracy.",
)
ui.sync_query(epoch=epoch, defaults={"epoch": story.selected_epoch})
frame = story.frame(epoch)
accuracy = story.accuracy()
selected = "the rerun's selected model" if rerun else "the selected model, which the other pages show"
marker = f" ({selected})" if epoch == story.selected_epoch else ""
st.markdown(f"**Epoch {epoch}{marker}: {accuracy[frame]:.1%} of the test images answered right.**")
lag = learning.average_lag_sentence(results.card["settings"], results.card.get("train_images"), epochs, accuracy)
if lag:
    st.caption(lag)

st.subheader("When did it settle?")
drift = story.drift()
st.markdown(story.reading())
display.chart(
    charts.drift_chart(epochs, drift, epoch, story.selected_epoch),
    "Line chart per snapshot of the share of answers changed since the previous snapshot, the share already "
    "equal to the final answer, and the maps' rank correlation with the final maps",
    "drift",
    learning.drift_summary(epochs, drift),
    width="stretch",
)

st.subheader("Which classes are learned first?")
per_class = story.accuracy_per_class()
display.chart(
    charts.class_accuracy_over_epochs(epochs, per_class, CLASS_NAMES, epoch, story.selected_epoch),
    "Line chart of each class's test accuracy at each snapshot",
    "accuracy per class",
    story.classes_reading(CLASS_NAMES),
    width="stretch",
)

st.subheader(f"Confusion at epoch {epoch}")
predictions = story.predictions()
display.chart(
    charts.confusion_heatmap(learning.confusion(predictions[frame], story.labels), CLASS_NAMES, f"epoch {epoch}"),
    f"Heat map of the confusion matrix at epoch {epoch}: true classes in rows, answers in columns",
    f"confusion epoch {epoch}",
    learning.confusion_sentence(predictions[frame], story.labels, CLASS_NAMES),
    width="stretch",
)

st.subheader("The feature space taking shape")
points = story.arrays["map_points"]
labels, wrong = story.map_mistakes()


@st.cache_resource(show_spinner=False, max_entries=32)
def moving_map(_story, folder: str, stamp: tuple, start: int):
    """The animated map, built once per story and start frame for every session (half a second of Plotly's
    validation); shared, so it is drawn, never changed."""
    return charts.moving_map(_story.epochs, _story.arrays["positions"], labels, wrong, CLASS_NAMES, start)


st.markdown(
    f"{len(points):,} test images ({len(points) // 10} of each class), placed by what the network's last hidden "
    "layer says about them, at each snapshot. Press **play**: early on, the classes lie mixed; as the network "
    "learns, images it describes alike gather. Crosses are images answered wrong at that snapshot. Positions "
    "are fitted into the final map (openTSNE's transform), so a point that does not move did not change."
)
display.chart(
    moving_map(story, str(run.folder), ui.file_stamp(run.folder / runs.LEARNING_FILE), frame),
    "Animated scatter plot of test images in feature space, one frame per snapshot, coloured by class",
    "feature space over epochs",
    f"At epoch {epoch}, {wrong[frame].mean():.0%} of these {len(points):,} images are answered wrong.",
    width="stretch",
)

st.subheader("One image through training")
row = probe.index(int(chosen_index))
index = st.selectbox(
    "Test image (10 of each class have their maps stored)",
    probe,
    index=row,
    format_func=lambda i: f"#{i} · {CLASS_NAMES[int(story.labels[i])]}",
    key="index",
)
ui.sync_query(index=index, defaults={"index": probe[0]})
row = probe.index(int(index))
split = ui.test_split_or_none()
method_label = methods.method_label(str(story.arrays["method"]), str(story.arrays["layer"]))
probabilities = np.asarray(story.arrays["probabilities"][:, index], dtype=np.float32)
st.markdown(
    f"True class **{CLASS_NAMES[int(story.labels[index])]}**. The run's default map ({markup.escape(method_label)}) "
    "for the class the network answered at each snapshot, each on its own scale:"
)
frames = [story.frame(e) for e in epochs]
answers_at = [int(probabilities[f].argmax()) for f in frames]
captions = [f"epoch {e}: {CLASS_NAMES[a]} {probabilities[f, a]:.0%}" for e, f, a in zip(epochs, frames, answers_at)]
if split is not None:
    pictures = []
    for f in frames:
        saliency = story.probe_map(f, row)
        peak = float(saliency.max())
        pictures.append(
            overlay.overlay(split.images[index], saliency / peak if peak > 0 else saliency, 0.5, 112,
                            colour_map=display.heat_colours())
        )  # fmt: skip
    display.pictures(  # one row that wraps: a phone gets three to a line, in epoch order
        pictures,
        [f"Test image {index} with the epoch {e} map for {CLASS_NAMES[a]}" for e, a in zip(epochs, answers_at)],
        captions,
        width=112,  # fixed: with "content" a longer caption widened its picture
    )
else:
    st.caption(" · ".join(captions))
st.caption("Its probabilities at each snapshot (on a wide screen one bar per snapshot; * the epoch chosen above):")
image_sentence = learning.image_sentence(epochs, probabilities, int(story.labels[index]), CLASS_NAMES)
answers = learning.image_answers(epochs, probabilities, int(story.labels[index]), CLASS_NAMES, chosen=epoch)
display.chart(
    charts.answers_over_epochs(epochs, probabilities, CLASS_NAMES, int(story.labels[index]), epoch),
    f"Stacked bar chart of test image {index}'s probability for each class at each snapshot",
    f"answers of image {index}",
    image_sentence,
    narrow=lambda: st.dataframe(  # ten colours need a legend a phone has no room for
        answers,
        hide_index=True,
        width="stretch",
        column_config={name: st.column_config.NumberColumn(format="percent") for name in list(answers[0])[2:]},
    ),
    width="stretch",
)

with st.expander("What is happening, for a student"):
    st.markdown(learning.EXPLAINER)
