"""The model and its explainers, loaded once per process (the only TensorFlow import of the app)."""

from __future__ import annotations

import sys
import warnings

import streamlit as st

from dashboard import ui
from runfolder import runs

WARM_UP_DELAY_S = 5.0  # after the server's first page view
WARM_UP_ENV = "TGN_WARM_UP"  # "0" (or the secret warm_up_model = false) keeps TensorFlow out until a page needs it

# tf-keras-vis feeds the model a tuple where Keras expects a tensor; harmless, but noisy.
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")


def _keep_keras_state_between_runs() -> None:
    """Stop Streamlit from resetting Keras after every script run.

    Streamlit calls ``keras.backend.clear_session()`` whenever a script run ends and Keras is imported
    (``script_runner._clean_problem_modules``): a full garbage collection and TensorFlow's kernel cache
    thrown away, 0.5-0.6 s of CPU per click, and the next model call 15x slower (187 ms instead of 12,
    measured). The app builds its models once per process (these caches), so there is no per-run state to
    clear; every other caller still gets the real function."""
    import keras

    clear_session = keras.backend.clear_session
    if getattr(clear_session, "keeps_state_between_runs", False):
        return

    def clear_session_unless_streamlit(*args, **kwargs):
        if sys._getframe(1).f_code.co_name == "_clean_problem_modules":
            return None
        return clear_session(*args, **kwargs)

    clear_session_unless_streamlit.keeps_state_between_runs = True
    keras.backend.clear_session = clear_session_unless_streamlit


@st.cache_resource(show_spinner="Loading the model (first time only)…", max_entries=4)
def load_model(folder: str):
    import model as tgn

    _keep_keras_state_between_runs()
    return tgn.load_model(f"{folder}/{runs.MODEL_FILE}")


@st.cache_resource(show_spinner="Preparing the explainers (first time only)…", max_entries=4)
def explainers(folder: str):
    from explain.saliency import build_explainers

    return build_explainers(load_model(folder))


def warm_up_wanted(secrets: dict | None = None) -> bool:
    """Whether to warm the model up in the background (the default). The environment variable or the Streamlit
    secret ``warm_up_model`` set to 0 / false / no / off turns it off, either one enough: a share that will only
    show the pages that need no TensorFlow (the curves, the confusion matrix, the quiz, Watch it learn) then
    keeps the server about 600 MB smaller until someone opens a page that computes."""
    import os

    def off(value) -> bool:
        return str(value).strip().lower() in ("0", "false", "no", "off")

    return not (off(os.environ.get(WARM_UP_ENV, "")) or off((secrets or {}).get("warm_up_model", "")))


@st.cache_resource(show_spinner=False)
def warm_up_in_background(folder: str):
    """Once per server process, in a background thread: import TensorFlow, load the run's model and build
    what a new picture needs (explainers, the features model, a first model call).

    With the stored default maps a class's first pages need no TensorFlow, so without this the first
    student to upload a picture paid the import and the model load (5-10 s) and the class queued behind
    it: "own picture to prediction and map" had a 95th percentile of 14.7 s with 30 students, 0.75 s once
    warm (benchmarks/classroom.py). The thread starts a few seconds after the first visit (usually the
    teacher's), so that visit's page is drawn first: the import holds the interpreter for seconds."""
    import threading

    def warm() -> None:
        import numpy as np

        from dashboard import own_image

        try:
            predict_pixels(folder, np.zeros((28, 28), np.uint8))
            explainers(folder)
            own_image.calibration(folder)
        except Exception:  # a broken model is reported by the page that needs it, with its reason
            pass

    timer = threading.Timer(WARM_UP_DELAY_S, warm)
    timer.name, timer.daemon = "tgn-warm-up", True
    timer.start()
    return timer


def load_model_or_stop(folder):
    """The run's model; a clear message and st.stop() when its file is missing, corrupt or not ours.

    The explanation pages call this first, so every later use of the model (maps, explainers,
    knock-outs) finds it in the cache instead of failing half-way through a page."""
    import model as tgn

    try:
        return load_model(str(folder))
    except tgn.ModelFileError as exc:
        ui.show_error("The model cannot be loaded.", exc)
        st.stop()


@st.cache_data(show_spinner=False, max_entries=512)
def saliency_map(folder: str, pixels, method: str, layer: str, target: int):
    """One raw map (the method's own units, non-negative) of a (28, 28) uint8 image, cached by its
    pixels: revisiting a view costs nothing. (SmoothGrad goes through smoothgrad_map, which reports progress.)"""
    from dataset.fashion_mnist import to_model_input
    from explain import saliency

    image = to_model_input(pixels[None])[0]
    return saliency.saliency_map(explainers(folder), image, method, target, layer, normalize=False)


def smoothgrad_map(folder: str, pixels, target: int, progress):
    from dataset.fashion_mnist import to_model_input
    from explain import saliency

    image = to_model_input(pixels[None])[0]
    return saliency.saliency_map(explainers(folder), image, "smoothgrad", target, progress=progress, normalize=False)


@st.cache_resource(show_spinner=False, max_entries=4)
def _outputs_and_features(folder: str):
    """The model with a second output: the 250 penultimate features (as stored for the test set)."""
    import keras

    import model as tgn

    net = load_model(folder)
    return keras.Model(net.input, [net.output, net.get_layer(tgn.PENULTIMATE).output])


@st.cache_data(show_spinner=False, max_entries=64)
def predict_pixels(folder: str, pixels):
    """(probabilities (10,), features (250,)) for one uint8 28x28 image; cached per image."""
    import numpy as np

    from dataset.fashion_mnist import to_model_input

    probabilities, features = _outputs_and_features(folder).predict_on_batch(to_model_input(pixels[np.newaxis]))
    return np.asarray(probabilities)[0], np.asarray(features)[0]


@st.cache_resource(show_spinner=False, max_entries=16)
def lesson_trace(folder: str, pixels):
    """Every layer's output for one uint8 28x28 image and the model's weights (the lesson's numbers)."""
    from dataset.fashion_mnist import to_model_input
    from explain import lesson

    return lesson.trace(load_model(folder), to_model_input(pixels[None])[0])


def default_map(run, pixels, target: int, index: int | None = None):
    """The run's default map (its scorecard's pick) of a uint8 28x28 image for class ``target``: an overlay
    picture, a caption naming the method and its verdict's badge, the raw (28, 28) map and what the badge means
    (trust.badge_meaning). For a test image (``index``) the map is read from the run's stored default maps when
    they hold it (no model call)."""
    from analysis import trust
    from dashboard import display
    from dataset.fashion_mnist import CLASS_NAMES
    from explain import overlay
    from explain.methods import method_label

    card = ui.scorecard_or_none(run.folder)
    method, layer = ui.default_view(run)
    stored = ui.default_maps(run) if index is not None else None
    saliency = stored.map(index, target) if stored is not None else None  # it holds the default view
    if saliency is None:
        saliency = saliency_map(str(run.folder), pixels, method, layer, target)
    peak = float(saliency.max())
    badge = trust.badge(card, method, layer)
    caption = f"{method_label(method, layer)} for {CLASS_NAMES[target]}" + (f" · {badge}" if badge else "")
    picture = overlay.overlay(pixels, saliency / peak if peak > 0 else saliency, 0.5, colour_map=display.heat_colours())
    return picture, caption, saliency, trust.badge_meaning(card, method, layer, method_label(method, layer))
