"""Your own image: draw a garment, upload a photo or use the camera; see what the network sees and says."""

import streamlit as st

from analysis import markup
from dashboard import own_image, ui
from inputs.convert import DEFAULT_TRIM_THRESHOLD, ImageError, convert

INVERT = {"auto": "Automatic (negate a light background)", "yes": "Always negate", "no": "Never negate"}

run, results = ui.run_page("Your own image", ":material/draw:")
st.title("Your own garment")
st.markdown(
    "Draw a garment, upload a photo or take one with the camera. The picture is turned into a 28x28 grey image "
    "the way Fashion-MNIST itself was made, and the network says what it sees. Your picture stays in this browser "
    "session's memory only: it is never saved, and no one else can see it."
)

source = (
    st.segmented_control(
        "Picture from", list(own_image.SOURCES), default="draw", format_func=own_image.SOURCES.get, key="source"
    )
    or "draw"
)
if source == "edit":
    own_image.edit_and_watch(run)
    st.stop()
data = own_image.picture(source)
if data is None:
    st.stop()  # the source said what to do (an empty canvas, no file yet)

with st.expander("Conversion settings"):
    c1, c2 = st.columns(2)
    invert = c1.radio("Negate the picture", list(INVERT), format_func=INVERT.get, key="invert")
    trim = c2.slider(
        "Trim threshold",
        0.0,
        0.5,
        DEFAULT_TRIM_THRESHOLD,
        0.01,
        key="trim",
        help="Edges whose grey level is within this share of the corner colour are cut away.",
    )
try:
    conversion = convert(data, invert={"auto": None, "yes": True, "no": False}[invert], trim_threshold=trim)
except ImageError as exc:
    st.error(markup.message(exc), icon=":material/broken_image:")
    st.stop()
own_image.remember(conversion.pixels)

st.subheader("What the network sees")
own_image.show_steps(conversion)

features = own_image.show_prediction(run, conversion.pixels)

st.subheader("Is it like the pictures the network learned from?")
own_image.show_familiarity(run.folder, features, results.probabilities)
