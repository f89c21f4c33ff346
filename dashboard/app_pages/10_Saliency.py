"""Saliency: where does the network look? Grad-CAM family, gradient maps and occlusion for one test image."""

import numpy as np
import streamlit as st

from analysis import markup, trust
from analysis.glossary import define
from dashboard import charts, display, image_picker, model_cache, trust_widgets, ui
from dataset.fashion_mnist import CLASS_NAMES
from explain import (  # names only: TensorFlow is imported where a map is computed
    methods,
    overlay,
    report,
)
from explain.describe import describe_map
from explain.methods import CAM_LAYERS, METHODS, layer_label

ALL = "all"
TARGETS = ("predicted", "true")
SCALES = {"shared": "One scale for both maps", "own": "Each map stretched to its own peak"}

view = image_picker.explanation_page(
    "Saliency", "Saliency: where does the network look?", ":material/local_fire_department:"
)
run, results, reader, image = view.run, view.results, view.reader, view.image
card = ui.scorecard_or_none(run.folder)
# The run's own default, chosen by its scorecard's rule; the constants only for runs without one.
default_method, default_layer = ui.default_view(run)
method_default = reader.choice("method", [*METHODS, ALL], default_method)
layer_default = reader.choice("layer", list(CAM_LAYERS), default_layer)
targets = [t for t in TARGETS if t != "true" or image.true is not None]  # the user's picture has no true class
target_default = reader.choice("target", [*targets, *map(str, range(10))], "predicted")
ui.show_notices(reader)

image_picker.image_header(image)
true, predicted = image.true, image.predicted
c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
current_layer = st.session_state.get("layer", layer_default)
method = c1.selectbox(
    "Method",
    [*METHODS, ALL],
    index=[*METHODS, ALL].index(method_default),
    format_func=lambda m: (
        "All methods side by side"
        if m == ALL
        else " · ".join(filter(None, [METHODS[m], trust.badge(card, m, current_layer)]))
    ),
    key="method",
    help=define("saliency map") + " Each method's verdict from this run's scorecard (at the chosen layer).",
)
target_choice = c2.selectbox(
    "Explain the class",
    [*targets, *map(str, range(10))],
    index=[*targets, *map(str, range(10))].index(target_default),
    key="target",
    format_func=lambda t: (
        {"predicted": f"Predicted: {CLASS_NAMES[predicted]}", "true": f"True: {CLASS_NAMES[true or 0]}"}.get(t)
        or CLASS_NAMES[int(t)]
    ),
)
layer_applies = method == ALL or methods.uses_layer(method)
layer = c3.selectbox(
    "Layer (CAM methods)",
    list(CAM_LAYERS),
    index=list(CAM_LAYERS).index(layer_default),
    format_func=layer_label,
    key="layer",
    disabled=not layer_applies,  # kept, not hidden: it is still there when a CAM is chosen again
    help="The whole block's output (both branches, after LRN). Later blocks see more of the "
    "image but in coarser cells: 28x28 for the stem and block 1, then 14x14, 7x7 and 4x4 for blocks 2 to 4.",
)
if not layer_applies:
    c3.caption(methods.no_layer_reason(method))
opacity = c4.slider("Opacity", 0.0, 1.0, 0.5, 0.05, key="opacity")
target = {"predicted": predicted, "true": true}.get(target_choice)
target = int(target_choice) if target is None else target
ui.sync_query(
    index=image.index,
    method=method,
    layer=layer,
    target=target_choice,
    defaults=dict(index=image_picker.DEFAULT_INDEX, method=default_method, layer=default_layer, target="predicted"),
)
folder = str(run.folder)


stored = ui.default_maps(run) if image.index is not None else None  # the run's default map, precomputed


def compute(method_key: str, target_class: int) -> np.ndarray:
    """The raw map (the method's own units): read from the run's stored default maps when they hold it."""
    if stored is not None and stored.covers(method_key, layer):
        raw = stored.map(image.index, target_class)
        if raw is not None:
            return raw
    model_cache.load_model_or_stop(run.folder)  # a clear message if it cannot be loaded
    if method_key == "smoothgrad":
        bar = st.progress(0.0, text="SmoothGrad: averaging gradients over 20 noisy copies…")
        result = model_cache.smoothgrad_map(folder, image.pixels, target_class, progress=lambda f: bar.progress(f))
        bar.empty()
        return result
    return model_cache.saliency_map(folder, image.pixels, method_key, layer, target_class)


shown_maps: list[report.ShownMap] = []  # what the explanation report repeats


def show_map(raw: np.ndarray, caption: str, peak: float | None = None) -> None:
    """The map over the image, scaled to ``peak`` (its own maximum if None); the raw peak in the caption."""
    own = float(raw.max())
    scale = peak if peak else own
    blank = " (blank: no positive evidence)" if methods.is_blank(raw) else f" · peak {own:.3g}"
    shown = raw / scale if scale > 0 else raw
    picture = overlay.overlay(image.pixels, shown, opacity, colour_map=display.heat_colours())
    shown_maps.append(report.ShownMap(caption, picture, raw, scale, display.heat_colours()))
    display.picture(
        picture,
        f"Heat map over {image.title}: {caption}",
        caption=caption + blank,
        width=224,
        summary=describe_map(raw),
    )
    display.download_png(lambda: picture, f"{image.title} {caption}", key=f"png_map_{caption}")


if method == ALL:
    st.subheader(f"Every method, explaining **{CLASS_NAMES[target]}**")
    st.caption("Each map is stretched to its own peak: the methods measure in different units.")
    keys = list(METHODS)
    for start in range(0, len(keys), 4):  # row by row: the rows line up and a phone stacks them in reading order
        for column, key in zip(st.columns(4), keys[start : start + 4]):
            with column:
                show_map(compute(key, target), methods.method_label(key, layer) + f" · {trust.badge(card, key, layer)}")
    st.stop()

raw = compute(method, target)
other = (true if target != true else predicted) if true is not None and true != predicted else None
other_raw = compute(method, other) if other is not None else None
scale = (
    st.radio("Intensity", list(SCALES), format_func=SCALES.get, horizontal=True, key="scale")
    if other is not None
    else "own"
)
peak = max(float(raw.max()), float(other_raw.max())) if scale == "shared" and other is not None else None
left, middle, right = st.columns([1, 1, 1.3])
with left:
    show_map(raw, f"{METHODS[method]} for {CLASS_NAMES[target]}", peak)
with middle:
    if other is not None:
        role = "true" if other == true else "predicted"
        show_map(other_raw, f"…and for the {role} class, {CLASS_NAMES[other]}", peak)
    else:
        display.picture(
            overlay.overlay(image.pixels, np.zeros((28, 28)), 0.0),
            f"{image.title}, without a map",
            caption="The image",
            width=224,
        )
with right:
    st.markdown("**Top-5 class probabilities**")
    top5 = np.argsort(-image.probabilities)[:5]
    display.chart(
        charts.probability_bars(image.probabilities, CLASS_NAMES, highlight=target),
        f"Bar chart of the five most probable classes for {image.title}",
        f"{image.title} top-5 probabilities",
        "; ".join(f"{CLASS_NAMES[c]} {image.probabilities[c]:.1%}" for c in top5) + ".",
        width="stretch",
    )
if other is not None:
    st.caption(
        "Misclassified: the two maps show what supports each class"
        + (", on one scale, so the weaker evidence looks weaker." if scale == "shared" else ".")
    )
entry = trust.entry(card, method, layer) if card else None
if entry is not None:
    st.markdown(
        f"**Scorecard for {markup.escape(entry['label'])}: {trust.BADGES[entry['verdict']]}.** "
        + markup.escape(trust.reason(entry))
    )
    ui.page_link(
        "Can the maps be trusted?",
        "Details on the trust page",
        ":material/verified:",
        f"entry={trust.key(entry['method'], entry['layer'])}",
    )
if methods.is_blank(raw):
    st.info(
        f"**The {METHODS[method]} map for {CLASS_NAMES[target]} is blank.** {methods.blank_map_reason(method, layer)}",
        icon=":material/visibility_off:",
    )
    st.stop()  # a blank map ranks no pixel above another, so there is no test of its ranking to run

st.subheader("Does this map hold up on this image?")
st.markdown(
    f"Pixels are removed (**deletion**) or put back into a blurred copy (**insertion**) in the map's order, and the "
    f"probability of {CLASS_NAMES[target]} is measured. The map is compared with three orders that know nothing about "
    "the model: random (the mean of three), the garment's pixels first, and the strongest edges first."
)
label = methods.method_label(method, layer)
verdict = stored.verdict(image.index, target) if stored is not None and stored.covers(method, layer) else None
if verdict is None:  # not stored: measured now, on this image
    net = model_cache.load_model_or_stop(run.folder)
    verdict = trust_widgets.image_verdict(net, image.model_input, raw, target, image.seed)
trust_widgets.per_image_test(verdict, label, CLASS_NAMES[target])


def explanation_report() -> str:
    from explain import faithfulness as fa

    areas = {
        test: trust.curve_areas(
            getattr(verdict.map_curves, test)[0],
            {name: getattr(curves, test).mean(axis=0) for name, curves in verdict.control_curves.items()},
            label,
            fa.CONTROL_LABELS,
        )
        for test in fa.TESTS
    }
    scorecard_line = (
        f"{entry['label']}: {trust.BADGES[entry['verdict']]}. {trust.reason(entry)}" if entry is not None else None
    )
    return report.explanation_report(
        image.title,
        run.name,
        image.pixels,
        image.probabilities,
        true,
        CLASS_NAMES,
        shown_maps,
        f"On this image, in the order of the {label} map: {fa.verdict_sentence(verdict)}",
        areas,
        scorecard_line,
    )


st.download_button(
    "Explanation report (HTML)",
    explanation_report,  # made only when pressed
    f"{display.file_name(image.title + ' ' + label)}.html",
    "text/html",
    icon=":material/description:",
    on_click="ignore",
    help="One self-contained page for a handout: the image, the answer and top 5, the maps with their scale and "
    "description, this test and the method's scorecard line.",
)
