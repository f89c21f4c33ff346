"""The 'Your own image' page's widgets: where the picture comes from, the conversion steps, familiarity.

The user's picture lives only in this browser session's memory (``st.session_state``): the file
uploader and the camera keep their bytes in memory, the canvas sends its pixels, and the converted
28x28 image is kept under USER_IMAGE_KEY for the explanation pages. Nothing is written to disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from analysis import familiarity
from dashboard import display, ui
from dataset.fashion_mnist import CLASS_NAMES
from explain.describe import describe_map
from explain.overlay import crisp, in_square
from inputs import edit
from inputs.convert import Conversion
from inputs.examples import EXAMPLES, example_png

USER_IMAGE_KEY = "user_image"  # the converted (28, 28) uint8 picture, for the explanation pages
USER_FEATURES_KEY = "user_features"  # its 250 penultimate features, for the feature-space map
SOURCES = {
    "draw": "Draw",
    "upload": "Upload a photo",
    "camera": "Camera",
    "examples": "Examples",
    "edit": "Edit a test image",
}
EDIT_SCALE = 10  # the canvas shows each of the 28x28 pixels as a 10x10 block
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
CANVAS = 280
CANVAS_ROUND = "canvas_round"  # counts the drawings cleared: each gets a canvas of its own
STEP_SIZE = 112  # pixels, each conversion step as shown


def remember(pixels: np.ndarray) -> None:
    st.session_state[USER_IMAGE_KEY] = np.array(pixels, dtype=np.uint8)


def user_image() -> np.ndarray | None:
    """This session's converted picture, if the user has made one."""
    return st.session_state.get(USER_IMAGE_KEY)


def user_features() -> np.ndarray | None:
    """The 250 features of this session's picture (computed where it was made), if any."""
    return st.session_state.get(USER_FEATURES_KEY)


def _drawing() -> Image.Image | None:
    from streamlit_drawable_canvas import st_canvas  # a component: importable only inside a running app

    width = st.slider("Stroke width", 4, 40, 18, key="stroke")
    result = st_canvas(
        stroke_width=width,
        stroke_color="#ffffff",
        background_color="#000000",
        height=CANVAS,
        width=CANVAS,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"canvas_{st.session_state.get(CANVAS_ROUND, 0)}",  # a new key: a new, empty canvas
    )
    pixels = None if result is None else result.image_data
    if pixels is None or not np.asarray(pixels)[..., :3].any():
        st.info(
            "Draw a garment on the black square, in light strokes as Fashion-MNIST garments are: a T-shirt, a "
            "shoe, a bag… With a mouse, the toolbar that appears above the square undoes a stroke.",
            icon=":material/draw:",
        )
        return None
    # The canvas's own toolbar shows only while a mouse is over it: a touch screen (or a keyboard) needs a button.
    st.button("Clear the drawing", icon=":material/delete:", type="tertiary", on_click=_new_canvas, key="clear_canvas")
    return Image.fromarray(np.asarray(pixels, dtype=np.uint8)).convert("RGB")


def _new_canvas() -> None:
    st.session_state[CANVAS_ROUND] = st.session_state.get(CANVAS_ROUND, 0) + 1


def picture(source: str) -> bytes | Image.Image | None:
    """The picture from the chosen source, or None after saying what to do."""
    if source == "draw":
        return _drawing()
    if source == "upload":
        upload = st.file_uploader("A picture of one garment", type=UPLOAD_TYPES, key="upload")
        if upload is None:
            st.info("Choose a PNG, JPEG, WebP, BMP or GIF file: a garment on a plain background works best.")
            return None
        return upload.getvalue()
    if source == "camera":
        shot = st.camera_input("Take a photo of one garment on a plain background", key="camera")
        return None if shot is None else shot.getvalue()
    columns = st.columns(len(EXAMPLES))
    for column, name in zip(columns, EXAMPLES):
        column.image(_example(name), caption=name, width=120, alt=f"Example picture: {name}")
    name = st.radio("Example", list(EXAMPLES), horizontal=True, key="example")
    return _example(name)


@st.cache_data(show_spinner=False)
def _example(name: str) -> bytes:
    return example_png(name)


def show_steps(conversion: Conversion) -> None:
    """Every step as a small picture at its own shape (a checkerboard where it has no pixels), in one row that
    wraps (a phone gets three to a line, not a column of six); the small ones enlarged with crisp pixels, and no
    picture sent larger than shown (a photo can be 2048 px)."""
    pictures, captions = [], []
    for i, step in enumerate(conversion.steps):
        pictures.append(in_square(step.image, STEP_SIZE))
        captions.append(f"{i + 1}. {step.name}" + (f": {step.note}" if step.note else ""))
    display.pictures(pictures, [f"Your picture after step {c}" for c in captions], captions, STEP_SIZE)
    display.download_png(lambda: crisp(conversion.steps[-1].image, 8), "your picture as the network sees it")


@st.cache_data(show_spinner="Calibrating on the test set (first time only)…", max_entries=4)
def _reference(features: np.ndarray) -> np.ndarray:
    return familiarity.reference_distances(features)


def calibration(folder) -> np.ndarray:
    """Each test image's mean distance to its nearest others, the scale a new picture is judged on (computed
    once per process and shared by every session)."""
    return _reference(ui.stored_features(Path(folder)))  # the same cached features the feature-space map uses


def show_familiarity(folder, features: np.ndarray, probabilities: np.ndarray) -> None:
    """The five nearest test images in the network's feature space, and an honest warning if far."""
    stored = ui.stored_features(folder)
    found = familiarity.familiarity(features, stored, calibration(folder))
    shown = found.shown()  # numbers printed with enough decimals to compare as the exact ones do
    where = (
        f"farther from its 5 nearest test images (mean distance {shown.distance}) than "
        f"{shown.percentile}% of test images are from theirs"
    )
    if found.level == "unfamiliar":
        st.warning(
            f"**Unfamiliar input.** It is {where}: the network has seen little like it. Take its answer with "
            "caution, whatever its confidence.",
            icon=":material/help:",
        )
    elif found.level == "unusual":
        st.info(f"**Unusual input.** It is {where}. Its answer may be less reliable than on test images.")
    else:
        st.success(f"**Familiar.** It is {where}.", icon=":material/check_circle:")
    st.caption(
        "Distances between the 250 numbers the network computes just before its answer, compared with each test "
        f"image's mean distance to its 5 nearest other test images: farther than {shown.unusual_percentile}% of "
        f"them (a mean distance above {shown.unusual_threshold}) is unusual, farther than "
        f"{shown.unfamiliar_percentile}% (above {shown.threshold}) unfamiliar. A weak check: the network puts much "
        "that is not a garment (noise, say) near some garment it knows, so 'familiar' does not prove a picture is a "
        "garment."
    )
    split = ui.test_split_or_none()
    if split is not None:
        st.markdown("**Its five nearest test images**")
        ui.image_gallery(split, found.neighbours.tolist(), probabilities, columns=5)
    else:
        st.write([CLASS_NAMES[int(c)] for c in probabilities[found.neighbours].argmax(axis=1)])


def edit_and_watch(run) -> None:
    """Paint ink or erase on a test image (or the user's picture) and watch the answer and a map change."""
    from streamlit_drawable_canvas import st_canvas

    from dashboard import model_cache

    split = ui.test_split_or_none()
    if split is None:
        st.stop()
    c1, c2, c3 = st.columns(3)
    choices = ["yours", "test"] if user_image() is not None else ["test"]
    start = c1.radio(
        "Start from", choices, format_func={"yours": "Your picture", "test": "A test image"}.get, key="edit_start"
    )
    index = (
        int(c1.number_input("Test image", 0, len(split.labels) - 1, 0, key="edit_index")) if start == "test" else None
    )
    original = split.images[index] if index is not None else st.session_state[USER_IMAGE_KEY]
    brush = c2.segmented_control("Brush", ["ink", "erase"], default="ink", key="brush") or "ink"
    width = c3.slider("Brush width", 4, 40, 12, key="brush_width")
    st.write("")  # room for the canvas's floating toolbar
    result = st_canvas(
        stroke_width=width,
        stroke_color="#ffffff" if brush == "ink" else "#000000",
        background_image=Image.fromarray(crisp(original, EDIT_SCALE)),
        height=28 * EDIT_SCALE,
        width=28 * EDIT_SCALE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"edit_canvas_{start}_{index}",  # another image: a fresh canvas
    )
    pixels = None if result is None else result.image_data
    edited = original if pixels is None else edit.apply_strokes(original, pixels)
    st.caption("Paint with white ink or erase with black; the toolbar above the image undoes or clears.")

    before, _ = model_cache.predict_pixels(str(run.folder), np.asarray(original, dtype=np.uint8))
    show_prediction(run, edited, before)
    remember(edited)  # the explanation pages can take it further


def show_prediction(run, pixels: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """The Prediction, the run's default map for it, and the top probabilities (or, with ``before``, the
    probabilities before and after an edit). Returns the 250 features for the familiarity check."""
    from dashboard import charts, model_cache

    probabilities, features = model_cache.predict_pixels(str(run.folder), pixels)
    st.session_state[USER_FEATURES_KEY] = features  # the feature-space page places the picture with them
    top = int(probabilities.argmax())
    left, middle, right = st.columns([1, 1, 1.4])
    with left:
        st.metric(
            "Prediction",
            CLASS_NAMES[top],
            delta=f"{probabilities[top]:.1%} confident"
            if before is None
            else f"was {CLASS_NAMES[int(before.argmax())]} ({before.max():.0%})",
            delta_color="off",
            delta_arrow="off",
        )
        ui.page_link("Saliency", "Explain it", ":material/local_fire_department:", "source=yours")
    picture, caption, saliency, meaning = model_cache.default_map(run, pixels, top)
    with middle:
        display.picture(
            picture,
            f"Heat map over your picture: {caption}",
            caption=caption,
            width=224,
            summary=f"{describe_map(saliency)} {meaning}".strip(),  # the badge in the caption, in words
        )
        display.download_png(lambda: picture, f"your picture {caption}", key="png_own_map")
    with right:
        if before is None:  # the top 5 as plain bars: a chart costs the browser more than the rest of the answer
            st.markdown("**Top-5 class probabilities**")
            for c in np.argsort(-probabilities)[:5]:
                st.progress(float(probabilities[c]), text=f"{CLASS_NAMES[c]}: {probabilities[c]:.1%}")
        else:
            figure = charts.knockout_chart(before, probabilities, CLASS_NAMES, "edited")
            was = int(before.argmax())
            answer = "stays" if was == top else f"changes from {CLASS_NAMES[was]} to"
            display.chart(
                figure,
                "Bar chart of each class's probability before and after your edit",
                "probabilities before and after the edit",
                f"The answer {answer} {CLASS_NAMES[top]}; its probability moves from {before[top]:.1%} "
                f"to {probabilities[top]:.1%}.",
                width="stretch",
                key="own_probabilities",
            )
    return features
