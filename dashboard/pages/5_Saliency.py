"""Saliency: where does the network look? Grad-CAM family and gradient maps for one test image."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import charts, image_picker, model_cache, ui  # noqa: E402
from explain import deletion, overlay, saliency  # noqa: E402
from explain.saliency import CAM_METHODS, DEFAULT_LAYER, DEFAULT_METHOD, METHODS, TARGET_LAYERS, layer_label  # noqa: E402
from training.data import CLASS_NAMES, to_model_input  # noqa: E402

ALL = "all"
TARGETS = ("predicted", "true")

view = image_picker.explanation_page(
    "Saliency", "Saliency: where does the network look?", ":material/local_fire_department:"
)
run, results, split, reader, index = view.run, view.results, view.split, view.reader, view.index
method_default = reader.choice("method", [*METHODS, ALL], DEFAULT_METHOD)
layer_default = reader.choice("layer", list(TARGET_LAYERS), DEFAULT_LAYER)
target_default = reader.choice("target", [*TARGETS, *map(str, range(10))], "predicted")
ui.show_notices(reader)

true, predicted = image_picker.image_header(split, index, results.probabilities)
c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
method = c1.selectbox(
    "Method",
    [*METHODS, ALL],
    index=[*METHODS, ALL].index(method_default),
    format_func=lambda m: "All methods side by side" if m == ALL else METHODS[m],
    key="method",
)
target_choice = c2.selectbox(
    "Explain the class",
    [*TARGETS, *map(str, range(10))],
    index=[*TARGETS, *map(str, range(10))].index(target_default),
    key="target",
    format_func=lambda t: (
        {"predicted": f"Predicted: {CLASS_NAMES[predicted]}", "true": f"True: {CLASS_NAMES[true]}"}.get(t)
        or CLASS_NAMES[int(t)]
    ),
)
layer = c3.selectbox(
    "Layer (CAM methods)",
    list(TARGET_LAYERS),
    index=list(TARGET_LAYERS).index(layer_default),
    format_func=layer_label,
    key="layer",
    help="The whole block's output (both branches, after LRN). Later blocks see more of the "
    "image but in coarser cells: 28x28 for the stem and block 1, then 14x14, 7x7 and 4x4 for blocks 2 to 4.",
)
opacity = c4.slider("Opacity", 0.0, 1.0, 0.5, 0.05, key="opacity")
target = {"predicted": predicted, "true": true}.get(target_choice)
target = int(target_choice) if target is None else target
image_picker.sync_query(index=index, method=method, layer=layer, target=target_choice)
folder = str(run.folder)


def compute(method_key: str, target_class: int) -> np.ndarray:
    if method_key == "smoothgrad":
        bar = st.progress(0.0, text="SmoothGrad: averaging gradients over 20 noisy copies…")
        result = model_cache.smoothgrad_map(folder, index, target_class, progress=lambda f: bar.progress(f))
        bar.empty()
        return result
    return model_cache.saliency_map(folder, index, method_key, layer, target_class)


def show_map(saliency_values: np.ndarray, caption: str) -> None:
    blank = " (blank: no positive evidence)" if saliency.is_blank(saliency_values) else ""
    st.image(overlay.overlay(split.images[index], saliency_values, opacity), caption=caption + blank, width=224)


if method == ALL:
    st.subheader(f"Every method, explaining **{CLASS_NAMES[target]}**")
    cols = st.columns(4)
    for i, key in enumerate(METHODS):
        with cols[i % 4]:
            show_map(compute(key, target), METHODS[key] + (f" · {layer_label(layer)}" if key in CAM_METHODS else ""))
    st.stop()

left, middle, right = st.columns([1, 1, 1.3])
saliency_values = compute(method, target)
with left:
    show_map(saliency_values, f"{METHODS[method]} for {CLASS_NAMES[target]}")
with middle:
    if true != predicted:
        other = true if target != true else predicted
        role = "true" if other == true else "predicted"
        show_map(compute(method, other), f"…and for the {role} class, {CLASS_NAMES[other]}")
    else:
        st.image(overlay.overlay(split.images[index], np.zeros((28, 28)), 0.0), caption="The image", width=224)
with right:
    st.markdown("**Top-5 class probabilities**")
    st.plotly_chart(
        charts.probability_bars(results.probabilities[index], CLASS_NAMES, highlight=target),
        width="stretch",
        config={"displayModeBar": False},
    )
if true != predicted:
    st.caption("Misclassified: the two maps show what supports the predicted class and what supports the true one.")
if saliency.is_blank(saliency_values):
    st.info(
        f"**The {METHODS[method]} map for {CLASS_NAMES[target]} is blank.** {saliency.blank_map_reason(method, layer)}",
        icon=":material/visibility_off:",
    )
    st.stop()  # a blank map ranks no pixel above another, so there is no deletion test to run

st.subheader("Can this map be trusted? A deletion test")
fill = st.radio(
    "Replace removed pixels with",
    list(deletion.FILLS),
    horizontal=True,
    key="fill",
    format_func={"background": "black background (no ink)", "mean": "the data set's mean grey"}.get,
    help="On Fashion-MNIST half of each image is black background. Grey fill adds specks there instead of "
    "removing anything, which hurts a random order most; black fill removes only ink.",
)
st.markdown(
    "Pixels are removed, **most salient first**, and the probability of "
    f"{CLASS_NAMES[target]} is measured after each step. A faithful map makes it fall faster than "
    "removing pixels in random order: a smaller area under the curve (AUC)."
)
net = model_cache.load_model_or_stop(run.folder)
image = to_model_input(split.images[index : index + 1])[0]
by_map = deletion.deletion_curve(net, image, saliency_values, target, fill=fill)
by_chance = deletion.random_deletion_curve(net, image, target, seed=index, fill=fill)
fig = charts.deletion_chart(by_map, by_chance, METHODS[method], CLASS_NAMES[target])
st.plotly_chart(fig, width="stretch")
verdict = (
    "falls faster than chance: the map points at pixels the model relies on"
    if by_map.auc < by_chance.auc
    else "does not beat a random order here: read this map with caution"
)
st.markdown(f"For this image the {METHODS[method]} order {verdict}.")
