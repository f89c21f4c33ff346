"""Choosing the image to explain, shared by the Saliency and Inception-branches pages.

The image is one of the 10,000 test images (by index, by class, at random, "next mistake", or
from a deep link ``?index=123``) or the user's own picture from the "Your own image" page
(``?source=yours``; it lives in this session only). Both become one ``ExplainedImage``, so the
pages never ask which kind they have. The URL carries the current image (and whatever else a
page registers with ``ui.sync_query``), so a copied link reproduces the view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from analysis.query import QueryReader
from dashboard import model_cache, own_image, ui
from dataset.fashion_mnist import CLASS_NAMES
from runfolder import runs

INDEX_KEY = "image_index"
SOURCE_KEY = "image_source"
SOURCES = {"test": "Test images", "yours": "Your image"}
DEFAULT_INDEX = 0


def _set_index(value: int) -> None:
    st.session_state[INDEX_KEY] = int(value)


def next_mistake(current: int, labels: np.ndarray, predictions: np.ndarray) -> int | None:
    wrong = np.flatnonzero(labels != predictions)
    if not len(wrong):
        return None
    later = wrong[wrong > current]
    return int(later[0] if len(later) else wrong[0])


def random_index(labels: np.ndarray, class_index: int | None, rng: np.random.Generator) -> int:
    pool = np.arange(len(labels)) if class_index is None else np.flatnonzero(labels == class_index)
    return int(rng.choice(pool))


def choose_image(reader: QueryReader, labels: np.ndarray, predictions: np.ndarray) -> int:
    """The image's controls (index, random, next mistake); returns the chosen test index."""
    count = len(labels)
    ui.adopt_link("index", INDEX_KEY, lambda: reader.integer("index", DEFAULT_INDEX, 0, count - 1))
    rng = np.random.default_rng()
    # In the page, not the sidebar: on a phone the sidebar is folded away, and this is the page's main choice.
    number, kind, random, mistake = st.columns([1.2, 1.2, 1, 1], vertical_alignment="bottom")
    number.number_input(
        "Test image index", min_value=0, max_value=count - 1, step=1, key=INDEX_KEY, help=f"0 to {count - 1:,}"
    )
    class_choice = kind.selectbox(
        "Class for 'random'",
        [None, *range(len(CLASS_NAMES))],
        format_func=lambda c: "Any class" if c is None else CLASS_NAMES[c],
        key="random_class",
    )
    random.button(
        "Random image",
        icon=":material/casino:",
        width="stretch",
        key="random_image",
        on_click=lambda: _set_index(random_index(labels, class_choice, rng)),
    )
    mistake.button(
        "Next mistake",
        icon=":material/skip_next:",
        key="next_mistake",
        width="stretch",
        on_click=lambda: _set_index(
            next_mistake(st.session_state[INDEX_KEY], labels, predictions) or st.session_state[INDEX_KEY]
        ),
    )
    return int(st.session_state[INDEX_KEY])


@dataclass(frozen=True)
class ExplainedImage:
    """The image an explanation page shows: a test image or the user's own, with what is known of it."""

    pixels: np.ndarray  # (28, 28) uint8, light garment on black
    probabilities: np.ndarray  # (10,) the run's model's answer
    true: int | None  # the true class; None for the user's picture
    title: str  # "Test image #12" or "Your image"
    index: int | None = None  # the test index, if it is one
    seed: int = 0  # for the random orders of the faithfulness test: the same view, the same controls

    @property
    def predicted(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def model_input(self) -> np.ndarray:
        from dataset.fashion_mnist import to_model_input

        return to_model_input(self.pixels[np.newaxis])[0]


def image_header(image: ExplainedImage) -> None:
    """The chosen image's title, true and predicted class."""
    predicted = image.predicted
    answer = f"predicted **{CLASS_NAMES[predicted]}** ({image.probabilities[predicted]:.1%})"
    if image.true is None:
        st.markdown(f"**{image.title}** · {answer} · no true class: it is your picture")
        return
    verdict = ui.CORRECT + " correct" if image.true == predicted else ui.WRONG + " misclassified"
    st.markdown(f"**{image.title}** · true class **{CLASS_NAMES[image.true]}** · {answer} · {verdict}")


@dataclass
class ExplainView:
    """What both explanation pages start from."""

    run: object
    results: object
    reader: QueryReader
    image: ExplainedImage


def _choose_source(reader: QueryReader) -> str:
    """'test' or 'yours' (only offered once the user has made a picture on the 'Your own image' page)."""
    has_own = own_image.user_image() is not None
    wanted = reader.choice("source", list(SOURCES), "test")
    if wanted == "yours" and not has_own:
        reader.notices.append(
            "This link asks for your own picture, but this session has none yet: make one on the "
            "'Your own image' page. Showing a test image instead."
        )
        wanted = "test"
    if not has_own:
        return "test"
    if SOURCE_KEY not in st.session_state or st.query_params.get("source") not in (None, st.session_state[SOURCE_KEY]):
        st.session_state[SOURCE_KEY] = wanted
    return st.radio("Explain", list(SOURCES), format_func=SOURCES.get, key=SOURCE_KEY, horizontal=True)


def explanation_page(title: str, heading: str, icon: str) -> ExplainView:
    """Page set-up shared by the explanation pages: run, stored results, the model, the chosen image.

    Stops the page with a clear message when the run, its model or the test images are unavailable. The
    model is loaded (TensorFlow imported) only where something must be computed: a test image's stored
    results and default map need neither."""
    run, results = ui.run_page(title, icon)
    st.title(heading)
    if run.model_problem:
        ui.show_error("The model cannot be loaded.", f"{run.model_problem}. {runs.restore_advice(run.folder)}")
        st.stop()
    reader = ui.query_reader()
    chooser = st.container(border=True, key="image_chooser")
    with chooser:
        source = _choose_source(reader)
    if source == "yours":
        model_cache.load_model_or_stop(run.folder)
        pixels = own_image.user_image()
        probabilities, _ = model_cache.predict_pixels(str(run.folder), pixels)
        image = ExplainedImage(pixels, probabilities, None, "Your image")
        ui.sync_query(source="yours")
        return ExplainView(run, results, reader, image)
    split = ui.test_split_or_none()
    if split is None:
        st.stop()
    with chooser:
        index = choose_image(reader, results.labels, results.predictions)
    image = ExplainedImage(
        split.images[index],
        results.probabilities[index],
        int(split.labels[index]),
        f"Test image #{index}",
        index,
        index,
    )
    if "source" in st.query_params:
        del st.query_params["source"]
    return ExplainView(run, results, reader, image)
