"""Channel atlas: what each of the 976 channels of the network's convolutions responds to (no TensorFlow)."""

import streamlit as st

from analysis import atlas as atlas_file
from analysis.glossary import define
from dashboard import atlas_widgets as aw
from dashboard import background, display, ui
from runfolder import runs

DEFAULT_LAYER = "stem_conv"

run, results = ui.run_page("Channel atlas", ":material/grid_view:")
st.title("Channel atlas")
st.markdown(
    "Every convolution of the network is a set of **channels**, each a small pattern detector applied at every "
    "position of the image. Pick a layer to see all its channels, then a channel (click its tile) to see the test "
    "images it responds to most, a synthetic image that excites it, the garments it fires for, and what the "
    "network loses when it is switched off. Early layers detect edges and strokes; later ones respond to parts "
    "and whole garments."
)
try:
    atlas = ui.atlas(run, len(results.labels))
except atlas_file.AtlasError as exc:
    background.offer(background.ATLAS, run, exc)

reader = ui.query_reader()
default = DEFAULT_LAYER if DEFAULT_LAYER in atlas.layers else atlas.layers[0]
ui.adopt_link("layer", aw.LAYER_KEY, lambda: reader.choice("layer", atlas.layers, default))
count = atlas.channels(st.session_state[aw.LAYER_KEY])
ui.adopt_link("channel", aw.CHANNEL_KEY, lambda: reader.integer("channel", 0, 0, count - 1))
ui.show_notices(reader)

c1, c2, c3 = st.columns([3, 2, 1])
layer = c1.selectbox(
    "Layer",
    atlas.layers,
    key=aw.LAYER_KEY,
    format_func=lambda name: f"{atlas_file.layer_label(name)} ({atlas.channels(name)} channels)",
    help=define("channel"),
)
count = atlas.channels(layer)
if not 0 <= st.session_state.get(aw.CHANNEL_KEY, 0) < count:  # the previous layer had more channels
    st.session_state[aw.CHANNEL_KEY] = 0
kind = (
    c2.segmented_control(
        "Tiles show", list(aw.TILE_KINDS), default="visual", format_func=aw.TILE_KINDS.get, key=aw.TILES_KEY
    )
    or "visual"
)
channel = int(
    c3.number_input("Channel", min_value=0, max_value=count - 1, step=1, key=aw.CHANNEL_KEY, help=f"0 to {count - 1}")
)
ui.sync_query(layer=layer, channel=channel, defaults={"layer": default, "channel": 0})

st.caption(aw.layer_caption(atlas, layer) + f". Click a tile to open its channel ({display.TAP_TWICE}).")
split = ui.test_split_or_none()
aw.channel_grid(atlas, str(run.folder), ui.file_stamp(run.folder / runs.ATLAS_FILE), layer, kind, split, channel)
aw.detail(atlas, layer, channel, split)
st.caption(
    f"From {runs.ATLAS_FILE} in the run folder (python -m explain.atlas): top images over "
    f"{int(atlas['images']):,} test images; knock-outs on {int(atlas['probe_count'].sum()):,} probe images."
)
