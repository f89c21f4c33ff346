"""The steps of the lesson "How it computes": each explains one operation in plain words and shows the
real numbers of this image through the real weights (``explain.lesson.trace``, ``analysis.arithmetic``)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from analysis import arithmetic as ar
from analysis.architecture import layer_geometry, receptive_box
from analysis.glossary import define
from dashboard import charts, display
from dataset.fashion_mnist import CLASS_NAMES
from explain import overlay
from explain.describe import describe_map

STEPS = {
    "image": "1 · The image",
    "conv": "2 · Convolution",
    "lrn": "3 · Normalisation",
    "relu": "4 · ReLU and dropout",
    "block": "5 · Inception block",
    "head": "6 · The answer",
}
DECIMALS = 4
PHONE_COLUMNS = 5  # columns of 4-decimal numbers that fit a phone beside the rows' names (400 px, looked at)
PHONE_NUMBER_PX = 62  # a column of 4-decimal numbers that still fits five to a phone's width (looked at, 400 px)
BATCH_NORM_PHONE_PX = 56  # five features beside the rows' names
BATCH_NORM_PHONE_ROWS = {"x (after ReLU)": "x", "moving mean": "mean", "moving variance": "variance"}
SOFTMAX_PHONE_HEADINGS = {"logit": "logit", "logit - max": "- max", "exp(logit - max)": "exp", "probability": "P"}
FORMAT = f"%.{DECIMALS}f"


def f(value: float) -> str:
    return f"{value:.{DECIMALS}f}"


def table(values: np.ndarray, rows=None, columns=None, focus: tuple[int, int] = (0, 0)) -> None:
    """A 2-D array as a table of numbers with 4 decimals. Where it is wider than a phone, a phone gets its own
    version (display.two_versions): a single row turned into a column, or the cells around ``focus`` (a row and
    a column of ``values``), at most PHONE_COLUMNS each way, with a caption saying so."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    frame = pd.DataFrame(
        values,
        index=[str(r) for r in (rows if rows is not None else range(values.shape[0]))],
        columns=[str(c) for c in (columns if columns is not None else range(values.shape[1]))],
    )
    if frame.shape[1] <= PHONE_COLUMNS:
        return _numbers(frame)
    name = f"lesson_table_{frame.index[0]}_{frame.columns[0]}_{frame.shape[0]}x{frame.shape[1]}"
    display.two_versions(name, lambda: _numbers(frame), lambda: _phone_numbers(frame, focus))


def _numbers(frame: pd.DataFrame) -> None:
    config = {name: st.column_config.NumberColumn(format=FORMAT) for name in frame.columns}
    st.dataframe(frame, column_config=config, height="content")


def _phone_numbers(frame: pd.DataFrame, focus: tuple[int, int]) -> None:
    if len(frame) == 1:
        return _numbers(frame.T)

    def around(at: int, size: int) -> slice:  # PHONE_COLUMNS cells with ``at`` as near the middle as fits
        start = min(max(0, at - PHONE_COLUMNS // 2), max(0, size - PHONE_COLUMNS))
        return slice(start, start + PHONE_COLUMNS)

    shown = frame.iloc[around(focus[0], len(frame)), around(focus[1], frame.shape[1])]
    _numbers(shown)
    st.caption(
        f"The {shown.shape[0]} x {shown.shape[1]} around the chosen position: a wider screen shows all "
        f"{frame.shape[0]} x {frame.shape[1]}."
    )


def labelled_table(frame: pd.DataFrame, label: str) -> None:
    """A frame's numbers with 4 decimals beside its column of labels ``label``."""
    numbers = {k: st.column_config.NumberColumn(format=FORMAT) for k in frame.columns if k != label}
    st.dataframe(frame, hide_index=True, column_config=numbers)


def boxed_image(pixels: np.ndarray, box, scale: int = 8, caption: str | None = None) -> None:
    top, left, bottom, right = box
    picture = overlay.boxed(pixels, box, scale)
    display.picture(
        picture,
        f"The lesson's 28 x 28 image with rows {top}-{bottom}, columns {left}-{right} outlined in red",
        caption=caption,
        width=28 * scale,
    )
    display.download_png(lambda: picture, caption or "lesson image", key=f"png_lesson_{box}_{caption}")


def image_step(trace, pixels: np.ndarray, row: int, col: int, **_) -> None:
    values = trace.outputs["image"][..., 0]
    st.markdown(
        "To the network an image is only numbers: 28 rows of 28 **pixel values**, from 0 (black, no ink) to 1 "
        "(white). Fashion-MNIST garments are light on black. Everything that follows is arithmetic on these 784 "
        "numbers."
    )
    left, right = st.columns([1, 2])
    with left:
        top, bottom = max(0, row - 3), min(27, row + 3)
        first, last = max(0, col - 3), min(27, col + 3)
        boxed_image(pixels, (top, first, bottom, last), caption="The window shown as numbers (red)")
    with right:
        st.markdown(
            f"**Pixel values, rows {top}-{bottom}, columns {first}-{last}** (the chosen position in the middle)"
        )
        window = values[top : bottom + 1, first : last + 1]
        table(window, range(top, bottom + 1), range(first, last + 1), focus=(row - top, col - first))
        st.metric(
            f"Pixel ({row}, {col})",
            f(values[row, col]),
            help=define("pixel value") + " Stored as 0-255; divided by 255.",
        )
        st.caption(
            f"Stored as the whole number {int(pixels[row, col])}; "
            f"{int(pixels[row, col])} / 255 = {f(values[row, col])}."
        )


def conv_step(trace, pixels: np.ndarray, filter: int, row: int, col: int, **_) -> None:
    kernel, bias = trace.weights["stem_conv"]
    step = ar.conv_at(trace.outputs["image"], kernel, bias, row, col, filter)
    st.markdown(
        "The first layer, the stem **convolution**, has 16 **filters**: each a 3x3 grid of learned weights. The filter "
        "slides over the image; at each position the 9 pixels under it are multiplied by its 9 weights, the "
        "products are added up, and the filter's **bias** is added. That number is one value of the filter's "
        "output map. Pick a filter and a position."
    )
    left, right = st.columns(2)
    with left:
        boxed_image(pixels, receptive_box(row, col, 3, 1), caption=f"The 3x3 patch at ({row}, {col})")
    with right:
        conv_map = trace.outputs["stem_conv"][..., filter]
        display.chart(
            charts.value_map(conv_map, (row, col), f"Filter {filter}'s output map"),
            f"Heat map of filter {filter}'s 28 x 28 output, position ({row}, {col}) marked",
            f"filter {filter} output map",
            describe_map(conv_map, f"Filter {filter}'s output"),
            width="content",
            key="conv_map",
        )
    a, b, c = st.columns(3)
    with a:
        st.markdown("**Patch** (pixel values)")
        table(step.patch[..., 0])
    with b:
        st.markdown(f"**Filter {filter}** (weights)")
        table(step.kernel[..., 0])
    with c:
        st.markdown("**Products** (patch x weight)")
        table(step.products[..., 0])
    st.markdown(
        f"Sum of the 9 products **{f(step.total)}** + bias **{f(step.bias)}** = **{f(step.value)}**  \n"
        f"(Keras computed {f(trace.outputs['stem_conv'][row, col, filter])} for this value.)",
        help=define("convolution"),
    )


def lrn_step(trace, filter: int, row: int, col: int, **_) -> None:
    constants = trace.constants["stem_lrn"]
    step = ar.lrn_at(trace.outputs["stem_conv"][row, col], filter, **constants)
    radius = constants["depth_radius"]
    st.markdown(
        f"**Local response normalisation** (LRN) divides each value by a measure of how active its neighbouring "
        f"channels are at the same position: up to {radius} channels on each side, {2 * radius + 1} in all. "
        "A value surrounded by strong neighbours shrinks; a lone strong value stands out."
    )
    st.latex(
        r"b = \frac{a}{\left(k + \alpha \sum_j a_j^2\right)^{\beta}}"
        rf"\quad k = {constants['bias']:g},\ \alpha = {constants['alpha']:g},\ \beta = {constants['beta']:g}"
    )
    left, right = st.columns([2, 1])
    with left:
        st.markdown(f"**The stem's values at ({row}, {col})**, channels {step.neighbours[0]}-{step.neighbours[-1]}")
        table(step.neighbour_values[None, :], ["value"], step.neighbours)
    with right:
        st.metric(f"Before: filter {filter}", f(step.value))
        st.markdown(
            f"Sum of squares {f(step.sum_of_squares)}  \n"
            f"Denominator ({constants['bias']:g} + {constants['alpha']:g} x {f(step.sum_of_squares)})"
            f"^{constants['beta']:g} = {f(step.denominator)}",
            help=define("LRN"),
        )
        st.metric("After", f(step.result), delta=f"{step.result - step.value:+.{DECIMALS}f}", delta_color="off")
        st.caption(f"Keras computed {f(trace.outputs['stem_lrn'][row, col, filter])}.")


def relu_step(trace, filter: int, row: int, col: int, **_) -> None:
    before = float(trace.outputs["stem_lrn"][row, col, filter])
    after = float(trace.outputs["stem_relu"][row, col, filter])
    rate = trace.constants.get("stem_dropout", {}).get("rate", 0.25)
    st.markdown(
        "**ReLU** keeps positive numbers and replaces negative ones by zero: a channel either reports its pattern "
        "or stays silent. **Dropout** then, during training only, sets a random "
        f"{rate:.0%} of the values to zero and scales the rest up by 1 / {1 - rate:g}, so the network cannot rely "
        "on any one value. At prediction time it does nothing: the numbers pass through unchanged."
    )
    a, b, c = st.columns(3)
    a.metric("After LRN", f(before))
    b.metric("After ReLU: max(0, value)", f(after), help=define("ReLU"))
    c.metric(
        "After dropout (prediction)", f(float(trace.outputs["stem_dropout"][row, col, filter])), help=define("dropout")
    )
    share = float((trace.outputs["stem_lrn"][..., filter] < 0).mean())
    display.chart(
        charts.value_map(trace.outputs["stem_relu"][..., filter], (row, col), f"Filter {filter} after ReLU"),
        f"Heat map of filter {filter}'s 28 x 28 output after ReLU, position ({row}, {col}) marked",
        f"filter {filter} after ReLU",
        describe_map(trace.outputs["stem_relu"][..., filter], f"Filter {filter} after ReLU"),
        width="content",
        key="relu_map",
    )
    st.caption(f"ReLU set {share:.0%} of this channel's 784 values to zero for this image.")


def block_step(trace, pixels: np.ndarray, filter: int, row: int, col: int, block: int = 1, **_) -> None:
    size = trace.outputs[f"block{block}_3x3_reduce"].shape[0]  # 28, 14, 7, 4: the block's grid
    r, c = min(row // (28 // size), size - 1), min(col // (28 // size), size - 1)  # the unit over (row, col)
    inputs = trace.outputs[_block_input(block)]
    channels = trace.outputs[f"block{block}_3x3_reduce"].shape[-1]
    filter = min(filter, channels - 1)

    def layer(part: str) -> str:
        return f"block{block}_{part}"

    step = ar.inception_branch(
        inputs,
        trace.weights[layer("3x3_reduce")],
        trace.outputs[layer("3x3_reduce")],
        trace.weights[layer("3x3")],
        trace.outputs[layer("concat")],
        trace.constants[layer("lrn")],
        trace.outputs[layer("lrn")],
        filter,
        r,
        c,
    )
    st.markdown(
        f"An **inception block** runs two branches side by side on the same input ({inputs.shape[-1]} channels here). "
        f"Each starts with a **1x1 convolution**: at one position it mixes the {inputs.shape[-1]} input channels "
        "with one weight each (plus a bias, then ReLU). Then one branch looks at 3x3 neighbourhoods and the other at "
        "5x5; their outputs are **concatenated**, normalised (LRN) and halved in size by 2x2 **max pooling**. Below, "
        f"one number is followed through the 3x3 branch: channel {filter} at ({r}, {c}) of block {block}'s "
        f"{size}x{size} grid."
    )
    if step.reduced == 0 or step.branch_value == 0:
        _offer_live_unit(trace, block, filter, (r, c), 28 // size, "1x1" if step.reduced == 0 else "3x3")
    st.markdown(f"**a · 1x1 convolution**, filter {filter} at ({r}, {c})", help=define("1x1 convolution"))
    reduce = step.reduce
    mix = pd.DataFrame(
        {"input": reduce.patch[0, 0], "weight": reduce.kernel[0, 0], "product": reduce.products[0, 0]},
        index=[f"channel {k}" for k in range(inputs.shape[-1])],
    )
    st.table(mix.style.format(f))  # a static table: every row on the page, no scroll bar inside it
    st.download_button(  # a static table has no toolbar: its numbers as CSV here
        "CSV",
        lambda: mix.to_csv(index_label="channel"),
        f"block{block}-1x1-filter{filter}-at-{r}-{c}.csv",
        "text/csv",
        icon=":material/download:",
        type="tertiary",
        on_click="ignore",
        key="lesson_1x1_csv",
    )
    st.markdown(
        f"Sum {f(reduce.total)} + bias {f(reduce.bias)} = {f(reduce.value)}; after ReLU **{f(step.reduced)}** "
        f"(Keras: {f(trace.outputs[layer('3x3_reduce')][r, c, filter])})"
    )
    conv = step.conv
    own = conv.products[..., filter]
    st.markdown(
        f"**b · 3x3 convolution** of the 1x1 outputs, filter {filter} at ({r}, {c}): the {channels} channels of "
        f"step a at the 3x3 positions around ({r}, {c}), {conv.products.size} products in all. Channel {filter}, "
        f"with **{f(step.reduced)}** from step a in the middle:",
        help=define("convolution"),
    )
    a, b, d = st.columns(3)
    with a:
        st.markdown(f"**1x1 outputs, channel {filter}**")
        table(conv.patch[..., filter])
    with b:
        st.markdown(f"**Weights for channel {filter}**")
        table(conv.kernel[..., filter])
    with d:
        st.markdown("**Products**")
        table(own)
    st.markdown(
        f"Channel {filter}'s 9 products {f(own.sum())} + the other {channels - 1} channels' "
        f"{conv.products.size - 9} products {f(conv.total - own.sum())} + bias {f(conv.bias)} = {f(conv.value)}; "
        f"after ReLU **{f(step.branch_value)}** (Keras: {f(trace.outputs[layer('3x3')][r, c, filter])})"
    )
    left, middle, right = st.columns(3)
    field3, jump = layer_geometry(f"block{block}_3x3")
    field5, _ = layer_geometry(f"block{block}_5x5")
    with left:
        boxed_image(
            pixels,
            receptive_box(r, c, field3, jump),
            6,
            f"The 3x3 branch's unit sees {min(field3, 28)}x{min(field3, 28)} px",
        )
    with middle:
        boxed_image(
            pixels,
            receptive_box(r, c, field5, jump),
            6,
            f"The 5x5 branch's unit sees {min(field5, 28)}x{min(field5, 28)} px",
        )
    with right:
        concat = trace.outputs[layer("concat")]
        st.markdown(
            f"**c · Concatenation**: {channels} channels of the 3x3 branch + {channels} of the 5x5 (which runs the "
            f"same way on 5x5 neighbourhoods) = {concat.shape[-1]} channels. The 3x3 branch comes first, so "
            f"channel {filter} is **{f(step.branch_value)}** from step b.",
            help=define("concatenation"),
        )
        lrn = step.lrn
        st.markdown(
            f"**d · LRN** of channel {filter} at ({r}, {c}): {f(lrn.value)} / {f(lrn.denominator)} = "
            f"**{f(lrn.result)}** (channels {lrn.neighbours[0]}-{lrn.neighbours[-1]}; "
            f"Keras: {f(trace.outputs[layer('lrn')][r, c, filter])})",
            help=define("LRN"),
        )
        pooled = trace.outputs[layer("pool")]
        pr, pc = step.pool_position
        st.markdown(
            f"**e · Max pooling**: channel {filter}'s 2x2 window for output ({pr}, {pc}), after LRN "
            f"(({r}, {c}) holds {f(lrn.result)} from step d)",
            help=define("max pooling"),
        )
        table(step.window)
        st.markdown(
            f"max = **{f(step.pooled)}** (Keras: {f(pooled[pr, pc, filter])}); "
            f"the map shrinks to {pooled.shape[0]}x{pooled.shape[1]}."
        )


def _offer_live_unit(trace, block: int, filter: int, unit: tuple[int, int], scale: int, dead: str) -> None:
    """Step 5 follows one number through a block; where ReLU has made it zero, every step after carries a zero
    (the lesson's first view did, found in review): say so, and offer the nearest position where it lives."""
    outputs = trace.outputs
    live = ar.nearest_live_unit(outputs[f"block{block}_3x3_reduce"], outputs[f"block{block}_3x3"], filter, unit)
    zero = f"Channel {filter} is 0 after the {dead} convolution's ReLU at {unit}, so the steps below carry a zero."
    if live is None:
        st.info(f"{zero} It is zero everywhere in block {block} for this image: try another channel.")
        return
    st.info(f"{zero} The nearest position where it stays positive through both convolutions is {live}.")
    st.button(
        f"Follow channel {filter} at {live} instead",
        on_click=_move_to,
        args=(live[0] * scale, live[1] * scale),
        icon=":material/my_location:",
        key="lesson_live_unit",
    )


def _move_to(row: int, col: int) -> None:
    st.session_state["lesson_row"], st.session_state["lesson_col"] = row, col  # the page's sliders, in image pixels


def _block_input(block: int) -> str:
    return "stem_dropout" if block == 1 else f"block{block - 1}_dropout"


def head_step(trace, **_) -> None:
    out = trace.outputs
    flat = out["head_flatten"]
    st.markdown(
        f"The last block's output ({'x'.join(map(str, out['block4_pool'].shape))}) is **flattened** into "
        f"{flat.size:,} numbers. A **dense layer** turns them into 250 features (each a weighted sum of all 1,024 "
        "plus a bias, then ReLU), **batch normalisation** rescales each feature with statistics stored during "
        "training, and a last dense layer gives one **logit** per class. **Softmax** turns the logits into "
        "probabilities."
    )
    features = np.asarray(out["head_batchnorm"]).ravel()
    display.chart(
        charts.feature_strip(out["head_batchnorm"]),
        "Bar strip of the 250 features after batch normalisation",
        "250 features",
        f"The 250 features range from {features.min():.2f} to {features.max():.2f}; "
        f"{int((features > 0).sum())} are positive.",
        width="stretch",
        key="features",
    )
    normalised = ar.batch_norm(out["head_dense"], *trace.weights["head_batchnorm"], **trace.constants["head_batchnorm"])
    strongest = np.argsort(-np.abs(normalised.result))[:5]
    st.markdown(
        "**Batch normalisation** of the five features that end up largest (stored statistics)",
        help=define("batch normalisation"),
    )
    bn = pd.DataFrame(
        {
            "feature": strongest,
            "x (after ReLU)": normalised.x[strongest],
            "moving mean": normalised.mean[strongest],
            "moving variance": normalised.variance[strongest],
            "gamma": normalised.gamma[strongest],
            "beta": normalised.beta[strongest],
            "result": normalised.result[strongest],
        }
    )
    phone_column = partial(st.column_config.NumberColumn, format=FORMAT, width=BATCH_NORM_PHONE_PX)
    display.two_versions(  # a phone gets the table turned: one column per feature, read from x down to result
        "batch_norm_table",
        lambda: labelled_table(bn, "feature"),
        lambda: st.dataframe(
            bn.set_index(bn["feature"].map("#{}".format)).drop(columns="feature").T.rename(index=BATCH_NORM_PHONE_ROWS),
            column_config={
                "_index": st.column_config.TextColumn(width=64),  # "variance"
                **{f"#{k}": phone_column(help=f"feature {k}") for k in strongest},
            },
        ),
    )
    st.caption(
        f"result = gamma x (x - mean) / sqrt(variance + {trace.constants['head_batchnorm']['epsilon']:g}) + beta. "
        "Dropout after it does nothing at prediction time."
    )
    soft = ar.softmax(ar.dense(out["head_dropout"], *trace.weights["predictions"]))
    order = np.argsort(-soft.probabilities)
    frame = pd.DataFrame(
        {
            "class": [CLASS_NAMES[k] for k in order],
            "logit": soft.logits[order],
            "logit - max": soft.shifted[order],
            "exp(logit - max)": soft.exponentials[order],
            "probability": soft.probabilities[order],
        }
    )
    st.markdown("**Logits and softmax**, most likely first", help=define("softmax"))
    display.two_versions(  # a phone gets short headings and narrow columns: the probabilities stay in sight
        "softmax_table",
        lambda: labelled_table(frame, "class"),
        lambda: st.dataframe(
            frame,
            hide_index=True,
            column_config={
                "class": st.column_config.TextColumn("class", width=84),
                **{
                    name: st.column_config.NumberColumn(short, format=FORMAT, width=PHONE_NUMBER_PX, help=name)
                    for name, short in SOFTMAX_PHONE_HEADINGS.items()
                },
            },
        ),
    )
    top = order[0]
    kernel, bias = trace.weights["predictions"]
    products = np.asarray(out["head_dropout"], dtype=np.float64) * kernel[:, top]
    st.markdown(
        f"logit({CLASS_NAMES[top]}) = the sum of 250 products, feature x weight, **{f(products.sum())}** + bias "
        f"**{f(bias[top])}** = **{f(soft.logits[top])}** (the largest products: "
        + ", ".join(f"feature {k}: {f(products[k])}" for k in np.argsort(-products)[:3])
        + ")."
    )
    st.markdown(
        f"P({CLASS_NAMES[top]}) = {f(soft.exponentials[top])} / {f(soft.exponentials.sum())} (the sum of the "
        f"exponentials) = **{f(soft.probabilities[top])}**. Keras computed {f(out['predictions'][top])}."
    )


VIEWS = {
    "image": image_step,
    "conv": conv_step,
    "lrn": lrn_step,
    "relu": relu_step,
    "block": block_step,
    "head": head_step,
}
