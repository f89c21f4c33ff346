"""Choosing the test image to explain, shared by the Saliency and Inception-branches pages.

By index, by class, at random, "next mistake", or from a deep link (``?index=123``).
The URL always carries the current image (and whatever else a page registers with
``sync_query``), so a copied link reproduces the view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from analysis.query import QueryReader
from dashboard import model_cache, ui
from training import runs
from training.data import CLASS_NAMES

INDEX_KEY = "image_index"
LAST_LINK_KEY = "_image_index_from_link"
DEFAULT_INDEX = 0


def _adopt_link(reader: QueryReader, count: int) -> None:
    """Take the index from the URL on arrival, or when the URL was changed by a link."""
    raw = st.query_params.get("index")
    if INDEX_KEY not in st.session_state or (raw is not None and raw != st.session_state.get(LAST_LINK_KEY)):
        st.session_state[INDEX_KEY] = reader.integer("index", DEFAULT_INDEX, 0, count - 1)
        st.session_state[LAST_LINK_KEY] = raw


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
    """Sidebar controls for the image; returns the chosen test index."""
    count = len(labels)
    _adopt_link(reader, count)
    rng = np.random.default_rng()
    with st.sidebar:
        st.subheader("Image")
        st.number_input(
            "Test image index", min_value=0, max_value=count - 1, step=1, key=INDEX_KEY, help=f"0 to {count - 1:,}"
        )
        class_choice = st.selectbox(
            "Class for 'random'",
            [None, *range(len(CLASS_NAMES))],
            format_func=lambda c: "Any class" if c is None else CLASS_NAMES[c],
            key="random_class",
        )
        st.button(
            "Random image",
            icon=":material/casino:",
            width="stretch",
            key="random_image",
            on_click=lambda: _set_index(random_index(labels, class_choice, rng)),
        )
        st.button(
            "Next mistake",
            icon=":material/skip_next:",
            key="next_mistake",
            width="stretch",
            on_click=lambda: _set_index(
                next_mistake(st.session_state[INDEX_KEY], labels, predictions) or st.session_state[INDEX_KEY]
            ),
        )
    return int(st.session_state[INDEX_KEY])


def sync_query(**values) -> None:
    """Write the current view into the URL (only values that changed, to avoid needless reruns)."""
    wanted = {k: str(v) for k, v in values.items() if v is not None}
    changed = {k: v for k, v in wanted.items() if st.query_params.get(k) != v}
    if changed:
        st.query_params.update(changed)
    if "index" in wanted:
        st.session_state[LAST_LINK_KEY] = wanted["index"]


def image_header(split, index: int, probabilities: np.ndarray) -> tuple[int, int]:
    """The chosen image, its true and predicted class; returns (true, predicted)."""
    true, predicted = int(split.labels[index]), int(probabilities[index].argmax())
    verdict = ui.CORRECT + " correct" if true == predicted else ui.WRONG + " misclassified"
    st.markdown(
        f"**Test image #{index}** · true class **{CLASS_NAMES[true]}** · predicted "
        f"**{CLASS_NAMES[predicted]}** ({probabilities[index, predicted]:.1%}) · {verdict}"
    )
    return true, predicted


@dataclass
class ExplainView:
    """What both explanation pages start from."""

    run: object
    results: object
    split: object
    reader: QueryReader
    index: int


def explanation_page(title: str, heading: str, icon: str) -> ExplainView:
    """Page set-up shared by the explanation pages: run, stored results, test images, chosen image.

    Stops the page with a clear message when the run or the test images are unavailable.
    """
    ui.setup_page(title, icon)
    run = ui.run_selector()
    results = ui.load_results_or_stop(run.folder)
    st.title(heading)
    if run.model_problem:
        ui.show_error("The model cannot be loaded.", f"{run.model_problem}. {runs.restore_advice(run.folder)}")
        st.stop()
    model_cache.load_model_or_stop(run.folder)
    split = ui.test_split_or_none()
    if split is None:
        st.stop()
    reader = ui.query_reader()
    index = choose_image(reader, results.labels, results.predictions)
    return ExplainView(run, results, split, reader, index)
