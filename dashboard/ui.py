"""Streamlit helpers shared by the pages: cached loading, the run selector, images, notices.

Nothing here imports TensorFlow; the explanation pages get the model from
``dashboard.model_cache``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from analysis.query import QueryReader
from explain.overlay import upscale
from training import runs
from training.data import CLASS_NAMES, DataError, Split, load_split

SEED_CLAIMED_ACCURACY = 0.8954  # the seed README's figure (a last-epoch score on the test set)
SEED_REAL_ACCURACY = 0.8489  # what its saved (epoch-1) weights scored, inferred from the notebook's log
RUN_KEY = "selected_run"
CORRECT = ":green[:material/check_circle:]"
WRONG = ":red[:material/cancel:]"
THUMB_SCALE = 4  # 28 px -> 112 px, nearest neighbour, so pixels stay crisp

PAGES = {
    "Architecture": "pages/1_Architecture.py",
    "Learning curves": "pages/2_Learning_curves.py",
    "Confusion matrix": "pages/3_Confusion_matrix.py",
    "Mistakes": "pages/4_Mistakes.py",
    "Saliency": "pages/5_Saliency.py",
    "Inception branches": "pages/6_Inception_branches.py",
    "Retrain": "pages/7_Retrain.py",
}
EXPLAIN_PAGE = PAGES["Saliency"]


def setup_page(title: str, icon: str = ":material/checkroom:") -> None:
    st.set_page_config(page_title=f"{title} · Tiny GoogLeNet Explainer", page_icon=icon, layout="wide")


# --------------------------------------------------------------------------- cached data


@st.cache_resource(show_spinner="Loading the Fashion-MNIST test images…")
def test_split() -> Split:
    """The test split, loaded once per process; raises DataError when unavailable."""
    return load_split("test")


def test_split_or_none() -> Split | None:
    """The test images, or None after showing how to make them available."""
    try:
        return test_split()
    except DataError as exc:
        st.warning(
            f"**The Fashion-MNIST test images are not available**, so images cannot be shown here.\n\n{exc}",
            icon=":material/folder_off:",
        )
        return None


@st.cache_resource(show_spinner="Reading the run folder…", max_entries=8)
def _results(folder: str, stamp: float) -> runs.RunResults:
    return runs.load_results(folder)


def load_results_or_stop(folder) -> runs.RunResults:
    """The run's stored results; a clear message and st.stop() when the folder is unusable."""
    try:
        stamp = (folder / runs.STATUS_FILE).stat().st_mtime
    except OSError:
        stamp = 0.0
    try:
        return _results(str(folder), stamp)
    except runs.RunFolderError as exc:
        st.error(f"**This run cannot be shown.** {exc}", icon=":material/block:")
        st.stop()


# --------------------------------------------------------------------------- the run selector


def run_selector() -> runs.RunInfo:
    """The sidebar's run selector, shared by every page (the choice survives page changes)."""
    available = runs.list_runs()
    if not available:
        shipped = runs.SHIPPED_RUNS[runs.DEFAULT_RUN]
        st.error(
            f"**No trained model found.** The shipped run folder {shipped} is missing or incomplete. "
            f"Recreate it with `{runs.recreate_command(shipped)}` (about 30 minutes on 2 CPU cores), "
            "or restore it with `git checkout -- model/`.",
            icon=":material/block:",
        )
        st.stop()
    names = [r.name for r in available]
    wanted = st.session_state.get(RUN_KEY, runs.DEFAULT_RUN)
    index = names.index(wanted) if wanted in names else 0
    choice = st.sidebar.selectbox(
        "Model run",
        names,
        index=index,
        help="Every page shows the run chosen here.",
        format_func=lambda n: runs.SHIPPED_LABELS.get(n, n),
    )
    st.session_state[RUN_KEY] = choice
    return available[names.index(choice)]


# --------------------------------------------------------------------------- images and notices


def enlarge(image: np.ndarray, scale: int = THUMB_SCALE) -> np.ndarray:
    """Nearest-neighbour upscale of a uint8 image, so the browser does not blur it."""
    image = np.asarray(image, dtype=np.uint8)
    return upscale(image, image.shape[0] * scale, smooth=False).astype(np.uint8)


def explain_link(index: int, target: str | None = None) -> str:
    """Relative URL of the Saliency page for one test image."""
    query = f"index={int(index)}" + (f"&target={target}" if target else "")
    return f"./Saliency?{query}"


def image_gallery(split: Split, indices, probabilities: np.ndarray, columns: int = 6, caption_top: int = 2) -> None:
    """Thumbnails with true/predicted class, top probabilities and a link to the explanation."""
    indices = list(indices)
    for start in range(0, len(indices), columns):
        cols = st.columns(columns)
        for col, index in zip(cols, indices[start : start + columns]):
            probs = probabilities[index]
            true, predicted = int(split.labels[index]), int(probs.argmax())
            top = np.argsort(-probs)[:caption_top]
            with col:
                st.image(enlarge(split.images[index]), width=112)
                mark = CORRECT if true == predicted else WRONG
                st.markdown(
                    f"{mark} **{CLASS_NAMES[predicted]}**  \ntrue: {CLASS_NAMES[true]}  \n"
                    + "  \n".join(f"{CLASS_NAMES[c]} {probs[c]:.0%}" for c in top)
                    + f"  \n[#{index} · explain]({explain_link(index)})"
                )


def query_reader() -> QueryReader:
    return QueryReader(st.query_params)


def show_notices(reader: QueryReader) -> None:
    for notice in reader.notices:
        st.info(notice, icon=":material/link_off:")


def percent(value: float) -> str:
    return f"{value:.2%}"
