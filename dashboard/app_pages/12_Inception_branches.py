"""Inception branches: what the 3x3 and 5x5 branches of a block see, and what happens without them."""

import numpy as np
import streamlit as st

import model as tgn
from analysis.architecture import receptive_fields
from analysis.glossary import define
from analysis.points import points_change
from dashboard import charts, display, image_picker, model_cache, ui
from dataset.fashion_mnist import CLASS_NAMES
from explain import branches, overlay

KNOCKOUTS = {"none": [], "3x3": ["3x3"], "5x5": ["5x5"], "both": ["3x3", "5x5"]}
SCALES = ("shared", "per-layer")
JUMPS_KEY = "branch_tile_jumps"
LINK_DEFAULT_BLOCK = 1  # what a link without ?block= shows

view = image_picker.explanation_page("Inception branches", "Inside an inception block", ":material/call_split:")
run, results, reader, image = view.run, view.results, view.reader, view.image
block_default = reader.integer("block", LINK_DEFAULT_BLOCK, 1, len(tgn.BLOCKS))
ui.show_notices(reader)
image_picker.image_header(image)
predicted = image.predicted

c1, c2, c3 = st.columns([3, 3, 2])
block = (
    c1.segmented_control(
        "Block",
        list(tgn.BLOCKS),
        default=block_default,
        key="block",
        format_func=lambda b: f"Block {b}",
        help=define("inception block"),
    )
    or block_default
)
scale = c2.radio(
    "Colour scale",
    SCALES,
    horizontal=True,
    key="scale",
    format_func=lambda s: "Shared by all four layers" if s == "shared" else "Each layer its own",
)
colour_map = c3.selectbox(
    "Colour map",
    list(overlay.COLOUR_MAPS),
    key="colours",
    format_func=branches.colour_choice,
    help="How a channel's activation becomes a colour, from no response to the strongest.",
)
ui.sync_query(index=image.index, block=block, defaults=dict(index=image_picker.DEFAULT_INDEX, block=LINK_DEFAULT_BLOCK))

net = model_cache.load_model_or_stop(run.folder)
acts = branches.branch_activations(net, image.model_input, block)
fields = receptive_fields()[block]
filters = tgn.BLOCK_FILTERS[block - 1]

st.markdown(
    f"**Block {block}** takes a {'x'.join(map(str, acts.input_shape))} input and hands on "
    f"{'x'.join(map(str, acts.output_shape))} after pooling. Each branch first mixes the {acts.input_shape[-1]} "
    f"input channels with a cheap **1x1 convolution** ({filters} filters), then looks at a neighbourhood: a "
    f"unit of the **3x3 branch** sees a {fields['3x3']}x{fields['3x3']} pixel patch of the original image, one of "
    f"the **5x5 branch** a {min(fields['5x5'], 28)}x{min(fields['5x5'], 28)} patch"
    + (" (the whole image)" if fields["5x5"] >= 28 else "")
    + ". Bright tiles are channels that respond strongly."
)
share = acts.energy_share
m1, m2, m3 = st.columns(3)
m1.metric("3x3 branch's share of the activation energy", f"{share['3x3']:.0%}")
m2.metric("5x5 branch's share", f"{share['5x5']:.0%}")
m3.metric("Channels per branch", filters)

layers = ["3x3_reduce", "3x3", "5x5_reduce", "5x5"]
titles = {
    "3x3_reduce": "1x1 reduction → 3x3 branch",
    "3x3": "3x3 branch",
    "5x5_reduce": "1x1 reduction → 5x5 branch",
    "5x5": "5x5 branch",
}
jumps = st.session_state.get(JUMPS_KEY, 0)
shared_high = max(float(acts.maps[k].max()) for k in layers)
tiles = branches.tile_layout(filters, acts.maps["3x3"].shape[0])
st.markdown(
    f"**The four layers' feature maps**, one tile per channel, each enlarged to {tiles.screen} px without smoothing "
    "(one square per unit of the map)."
)
for key, tab in zip(layers, st.tabs([titles[k] for k in layers])):
    high = shared_high if scale == "shared" else float(acts.maps[key].max())
    with tab:
        st.markdown(f"**{titles[key]}** · {'x'.join(map(str, acts.maps[key].shape))} · max {acts.maps[key].max():.2f}")
        layer = tgn.block_layer(block, key)
        picture = overlay.mosaic(
            acts.maps[key], 0.0, high, columns=tiles.columns, cell=tiles.cell, gap=tiles.gap, colour_map=colour_map
        )
        hover = [
            f"channel {c} · max {acts.maps[key][..., c].max():.2f} · click: open in the channel atlas"
            for c in range(filters)
        ]
        figure = charts.tile_grid(picture, tiles.columns, filters, tiles.gap, hover, tile_px=tiles.screen)
        # A fresh key after each jump, so coming back does not replay the old click.
        strongest = np.argsort(-acts.maps[key].max(axis=(0, 1)))[:3]
        event = display.chart(
            figure,
            f"Grid of {filters} feature-map tiles of {titles[key]}, one per channel; choose one to open it in "
            "the channel atlas",
            f"block {block} {key} feature maps",
            f"Strongest channels: {', '.join(f'{c} (max {acts.maps[key][..., c].max():.2f})' for c in strongest)}; "
            f"{int((acts.maps[key].max(axis=(0, 1)) <= 0).sum())} of {filters} are zero everywhere on this image.",
            width="stretch",
            on_select="rerun",
            selection_mode="points",
            key=f"tiles_{layer}_{jumps}",
        )
        display.download_png(lambda: picture, f"block {block} {key} feature maps", key=f"png_tiles_{key}")
        clicked = [p["point_index"] for p in event.selection.points if p.get("curve_number") == 1]
        if clicked:
            st.session_state[JUMPS_KEY] = jumps + 1
            ui.open_page("Channel atlas", layer=layer, channel=clicked[-1])
        st.caption(branches.colour_key(colour_map, high))
st.caption(
    (
        f"One colour scale for all four layers (0 to {shared_high:.2f}): a colour means the same activation in every "
        "tab. "
        if scale == "shared"
        else "Each layer has its own colour scale, up to its own maximum. "
    )
    + "Click a tile to see that channel in the channel atlas: the test images it responds to most and what "
    f"switching it off costs ({display.TAP_TWICE})."
)

st.subheader("What if a branch is switched off?")
knock = st.radio(
    "Switch off",
    list(KNOCKOUTS),
    horizontal=True,
    key="knockout",
    format_func=lambda k: {
        "none": "Nothing",
        "3x3": "The 3x3 branch",
        "5x5": "The 5x5 branch",
        "both": "Both branches",
    }[k],
)
original = image.probabilities
changed = (
    branches.knockout_probabilities(net, image.model_input, block, KNOCKOUTS[knock]) if knock != "none" else original
)
fig = charts.knockout_chart(
    original,
    None if knock == "none" else changed,
    CLASS_NAMES,
    branches.KNOCKOUT_LABELS.get(knock, ""),
    original_label="both branches on",
)
new_top = int(np.argmax(changed))
display.chart(
    fig,
    "Bar chart of each class's probability with both branches on"
    + ("" if knock == "none" else f" and {branches.KNOCKOUT_LABELS.get(knock, '')}"),
    f"block {block} knock-out {knock}",
    f"The answer is {CLASS_NAMES[new_top]} ({changed[new_top]:.1%})"
    + (
        "."
        if knock == "none"
        else f"; with both branches on it was {CLASS_NAMES[predicted]} ({original[predicted]:.1%})."
    ),
    width="stretch",
)
if knock == "none":
    st.markdown(
        f"Prediction with both branches on: **{CLASS_NAMES[predicted]}** ({original[predicted]:.1%}). Switch a "
        "branch off to compare."
    )
else:
    change = points_change(original[predicted], changed[predicted])
    st.markdown(
        f"Prediction: **{CLASS_NAMES[predicted]}** ({original[predicted]:.1%}) → **{CLASS_NAMES[new_top]}** "
        f"({changed[new_top]:.1%}); P({CLASS_NAMES[predicted]}) goes from {original[predicted]:.1%} to "
        f"{changed[predicted]:.1%}: {change.text}."
    )
    st.caption("Points: percentage points, the difference between two percentages (92.0% → 87.8% is -4.2 points).")
