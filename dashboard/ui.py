"""Streamlit helpers shared by the pages: cached loading, the run selector, the view in the URL, images, notices.

Nothing here imports TensorFlow; the explanation pages get the model from
``dashboard.model_cache``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from analysis import markup
from analysis.query import QueryReader
from dataset.fashion_mnist import CLASS_NAMES, NUM_CLASSES, DataError, Split, load_head, load_split
from explain import methods
from explain.overlay import crisp
from runfolder import runs

SEED_CLAIMED_ACCURACY = 0.8954  # the seed README's figure (a last-epoch score on the test set)
SEED_REAL_ACCURACY = 0.8489  # what its saved (epoch-1) weights scored, inferred from the notebook's log
RUN_KEY = "selected_run"
CORRECT = ":green[:material/check_circle:]"
WRONG = ":red[:material/cancel:]"
THUMB_SCALE = 4  # 28 px -> 112 px, nearest neighbour, so pixels stay crisp
# Up to this many runs, the run selector is a list of radio buttons: every run in view, one tap to choose, and
# the lightest widget for every student's first page (a drop-down list's code made Home's first render 0.13 s
# slower in the browser; benchmarks/run.py, Home against an empty page). More runs are a drop-down list.
RUNS_LISTED_IN_FULL = 5

PAGES = {
    "Your own image": "app_pages/1_Your_own_image.py",
    "How it computes": "app_pages/2_How_it_computes.py",
    "Quiz": "app_pages/3_Quiz.py",
    "Architecture": "app_pages/4_Architecture.py",
    "Learning curves": "app_pages/5_Learning_curves.py",
    "Watch it learn": "app_pages/14_Watch_it_learn.py",
    "Confusion matrix": "app_pages/6_Confusion_matrix.py",
    "Mistakes": "app_pages/7_Mistakes.py",
    "Feature space": "app_pages/8_Feature_space.py",
    "Channel atlas": "app_pages/9_Channel_atlas.py",
    "Saliency": "app_pages/10_Saliency.py",
    "Can the maps be trusted?": "app_pages/11_Can_the_maps_be_trusted.py",
    "Inception branches": "app_pages/12_Inception_branches.py",
    "Retrain": "app_pages/13_Retrain.py",
}
HOME_PAGE = "app_pages/0_Home.py"
# Where each page appears in the menu (every page of PAGES exactly once).
SECTIONS = {
    "Your picture": ["Your own image"],
    "Learn": ["How it computes", "Quiz", "Architecture"],
    "How well it works": ["Learning curves", "Watch it learn", "Confusion matrix", "Mistakes"],
    "The big picture": ["Feature space", "Channel atlas"],
    "Explanations": ["Saliency", "Can the maps be trusted?", "Inception branches"],
    "Train": ["Retrain"],
}
EXPLAIN_PAGE = PAGES["Saliency"]
# Relative URLs of the pages, as Streamlit derives them from the file names (for Markdown links).
PAGE_URLS = {label: "./" + path.split("/")[-1].split("_", 1)[1].removesuffix(".py") for label, path in PAGES.items()}


def navigation():
    """The app's menu: Home, then SECTIONS, every page listed (none hidden behind 'View more')."""
    home = st.Page(
        HOME_PAGE, title="Home", icon=":material/home:", default=True, url_path="start"
    )  # served at / anyway
    sections = {
        section: [st.Page(PAGES[label], title=label, url_path=PAGE_URLS[label].removeprefix("./")) for label in labels]
        for section, labels in SECTIONS.items()
    }
    return st.navigation({"": [home], **sections}, expanded=True)


def setup_page(title: str, icon: str = ":material/checkroom:", frame: bool = True) -> None:
    """The start of every page: its tab title, then (``frame``) presenter mode, the guided tour and the
    Display settings."""
    st.set_page_config(page_title=f"{title} · Tiny GoogLeNet Explainer", page_icon=icon, layout="wide")
    if frame:
        page_frame(title)


def page_frame(title: str) -> None:
    """Presenter mode and the guided tour (dashboard.presenter), and the Display settings (dashboard.display),
    in the sidebar below the run selector; the tour's bar at the top of the page."""
    from dashboard import display, presenter

    presenter.frame(title)
    display.settings()


def run_page(title: str, icon: str = ":material/checkroom:") -> tuple["runs.RunInfo", "runs.RunResults"]:
    """The start of every page that shows a run: page set-up, the run selector, the run's stored results
    (a clear message and st.stop() when they cannot be shown)."""
    setup_page(title, icon, frame=False)
    run = run_selector()  # first in the sidebar: what every page shows
    page_frame(title)
    return run, load_results_or_stop(run.folder)


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


@st.cache_resource(show_spinner=False)
def _test_head(count: int) -> Split:
    return load_head("test", count)


def first_of_each_class(count: int = 100) -> tuple[Split, list[int]] | None:
    """The first test image of each class and the images they are in (their indices are the test set's),
    or None after saying why there are none. Read from the start of the test file only: Home draws them
    before any page needs the whole split (its decompression and MD5 are a tenth of Home's first render)."""
    try:
        head = _test_head(count)
    except DataError:
        head = None
    if head is not None:
        found = [np.flatnonzero(head.labels == c) for c in range(NUM_CLASSES)]
        if all(len(f) for f in found):
            return head, [int(f[0]) for f in found]
    split = test_split_or_none()  # a class missing from the start, or a problem the full load explains
    if split is None:
        return None
    return split, [int(np.flatnonzero(split.labels == c)[0]) for c in range(NUM_CLASSES)]


@st.cache_resource(show_spinner="Reading the run folder…", max_entries=8)
def _results(folder: str, stamp: tuple) -> runs.RunResults:
    return runs.load_results(folder)


def _stamp(folder) -> tuple:
    """Size and modification time of every file the results come from: a changed file is read again."""
    stamp = []
    for name in (*runs.RESULT_FILES, runs.STATUS_FILE):
        try:
            info = (folder / name).stat()
            stamp.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def results(folder) -> runs.RunResults:
    """The run's stored results (cached per version of its files; runs.RunFolderError if unusable)."""
    return _results(str(folder), _stamp(runs.Path(folder)))


def results_stamp(folder) -> tuple:
    """What identifies the version of a run's results, for caches keyed by run."""
    return _stamp(runs.Path(folder))


def show_error(title: str, problem) -> None:
    """A red box: ``title`` in bold, then the problem's plain-text message shown safely (markup.message)."""
    st.error(f"**{title}** {markup.message(problem)}", icon=":material/block:")


def load_results_or_stop(folder) -> runs.RunResults:
    """The run's stored results; a clear message and st.stop() when the folder is unusable."""
    try:
        return results(folder)
    except runs.RunFolderError as exc:
        show_error("This run cannot be shown.", exc)
        st.stop()


def secrets() -> dict:
    """The app's Streamlit secrets, or {} when none are configured."""
    try:
        return dict(st.secrets)
    except Exception:  # no secrets file: nothing configured
        return {}


def file_stamp(path) -> tuple | None:
    try:
        info = path.stat()
        return info.st_mtime_ns, info.st_size
    except OSError:
        return None


# One object shared by every session, not a copy per call (st.cache_data unpickles its 0.6 MB on every call,
# several times a click: 7% of the server's busy time with 30 students). Read it; never change it.
@st.cache_resource(show_spinner=False, max_entries=16)
def _scorecard(folder: str, stamp: tuple, model_stamp: tuple) -> dict:
    from runfolder import artefacts  # pydantic's models of every artefact: not needed to draw Home

    return artefacts.read_scorecard(runs.Path(folder), runs.file_sha256(f"{folder}/{runs.MODEL_FILE}"))


def scorecard(folder) -> dict:
    """The run's faithfulness scorecard, validated and made for its model file (cached until either file
    changes, and shared by every session: read only); artefacts.ScorecardError if it has none, a broken one or
    one for another model."""
    return _scorecard(str(folder), file_stamp(folder / runs.FAITHFULNESS_FILE), file_stamp(folder / runs.MODEL_FILE))


def scorecard_or_none(folder) -> dict | None:
    from runfolder import artefacts

    try:
        return scorecard(folder)
    except artefacts.ScorecardError:
        return None


@st.cache_resource(show_spinner=False, max_entries=4)
def _default_maps(folder: str, stamp: tuple, model_stamp: tuple, outputs_stamp: tuple):
    from analysis.default_maps import DefaultMaps
    from runfolder import artefacts

    kept = results(folder)
    arrays = artefacts.read_default_maps(
        runs.Path(folder), runs.file_sha256(f"{folder}/{runs.MODEL_FILE}"), kept.labels, kept.predictions
    )
    return DefaultMaps(arrays)


def default_maps(run: runs.RunInfo):
    """The run's stored default maps and per-image tests of the test images (analysis.default_maps), shared
    by every session; None when the run has none, a broken file, or maps of another method than its current
    default view (the pages then compute them live)."""
    from runfolder import artefacts

    folder = run.folder
    try:
        stored = _default_maps(
            str(folder),
            file_stamp(folder / runs.DEFAULT_MAPS_FILE),
            file_stamp(folder / runs.MODEL_FILE),
            file_stamp(folder / runs.OUTPUTS_FILE),
        )
    except (artefacts.ArtefactError, runs.RunFolderError):
        return None
    return stored if stored.covers(*default_view(run)) else None


def default_view(run: runs.RunInfo) -> tuple[str, str]:
    """The run's default map as (method, CAM layer): its scorecard's pick, or the app's fallback without one."""
    return methods.default_view(scorecard_or_none(run.folder))


@st.cache_data(show_spinner=False, max_entries=8)
def _stored_features(folder: str, stamp: tuple) -> np.ndarray:
    with np.load(f"{folder}/{runs.OUTPUTS_FILE}", allow_pickle=False) as outputs:
        return np.asarray(outputs["features"])  # float16, as stored (the embedding's digest is of these)


def stored_features(folder) -> np.ndarray:
    """The test images' 250 penultimate features as stored in the run folder (float16), cached."""
    return _stored_features(str(folder), file_stamp(folder / runs.OUTPUTS_FILE))


@st.cache_data(show_spinner=False, max_entries=8)
def _embedding(folder: str, stamp: tuple, features_stamp: tuple) -> np.ndarray:
    from analysis import embedding

    return embedding.read(runs.Path(folder), _stored_features(folder, features_stamp))


def embedding_or_offer(run: runs.RunInfo, features: np.ndarray) -> np.ndarray:
    """The run's feature-space map; otherwise why not and the offer to compute it in the background
    (dashboard.background), then st.stop()."""
    from analysis import embedding
    from dashboard import background

    try:
        return _embedding(
            str(run.folder), file_stamp(run.folder / runs.EMBEDDING_FILE), file_stamp(run.folder / runs.OUTPUTS_FILE)
        )
    except embedding.EmbeddingError as exc:
        background.offer(background.EMBEDDING, run, exc)


@st.cache_resource(show_spinner="Reading the training's story…", max_entries=4)
def _learning(folder: str, stamp: tuple, model_stamp: tuple):
    from analysis.learning import Story
    from runfolder import artefacts

    labels = results(folder).labels
    arrays = artefacts.read_learning(runs.Path(folder), runs.file_sha256(f"{folder}/{runs.MODEL_FILE}"), labels)
    return Story(arrays, labels)


def learning_story(run: runs.RunInfo):
    """The run's training story (analysis.learning.Story), validated and made for its model file, shared by
    every session until either file changes; analysis.learning.LearningError if it has none or a bad one."""
    folder = run.folder
    return _learning(str(folder), file_stamp(folder / runs.LEARNING_FILE), file_stamp(folder / runs.MODEL_FILE))


@st.cache_resource(show_spinner="Reading the channel atlas…", max_entries=4)
def _atlas(folder: str, stamp: tuple, model_stamp: tuple, images: int):
    from analysis import atlas
    from runfolder import schema

    architecture = schema.read_architecture(runs.Path(folder), runs.ARCHITECTURE_FILE)
    model_sha = runs.file_sha256(runs.Path(folder) / runs.MODEL_FILE)
    return atlas.read(runs.Path(folder), architecture, images, model_sha)


def atlas(run: runs.RunInfo, images: int):
    """The run's channel atlas, checked against its model, convolutions and test images (cached until
    either file changes); analysis.atlas.AtlasError if it has none or an inconsistent one."""
    folder = run.folder
    return _atlas(str(folder), file_stamp(folder / runs.ATLAS_FILE), file_stamp(folder / runs.MODEL_FILE), images)


# --------------------------------------------------------------------------- the run selector


def _warn_about_missing_shipped_runs(listed: list[runs.RunInfo]) -> None:
    """A shipped run that is missing or broken is said on every page, not silently skipped."""
    for info in listed:
        if info.shipped and (not info.complete or info.model_problem):
            label = runs.SHIPPED_LABELS.get(info.name, info.name)
            problem = info.model_problem or info.message or f"Run folder {info.folder} is {info.state}."
            st.warning(
                f"**The {label.lower()} is missing or broken.** "
                + markup.message(f"{problem} {runs.restore_advice(info.folder)}"),
                icon=":material/report:",
            )


def run_selector() -> runs.RunInfo:
    """The sidebar's run selector, shared by every page (the choice survives page changes)."""
    listed = runs.list_runs(include_unfinished=True)
    _warn_about_missing_shipped_runs(listed)
    available = [r for r in listed if r.complete]
    if not available:
        shipped = runs.SHIPPED_RUNS[runs.DEFAULT_RUN]
        show_error("No trained model found.", f"No run folder can be shown. {runs.restore_advice(shipped)}")
        st.stop()
    names = [r.name for r in available]
    labels = {r.name: runs.run_label(r) for r in available}
    wanted = st.session_state.get(RUN_KEY, runs.DEFAULT_RUN)
    index = names.index(wanted) if wanted in names else 0
    widget = st.sidebar.radio if len(names) <= RUNS_LISTED_IN_FULL else st.sidebar.selectbox
    choice = widget(
        "Model run",
        names,
        index=index,
        help="Every page shows the run chosen here.",
        format_func=labels.get,
    )
    st.session_state[RUN_KEY] = choice
    chosen = available[names.index(choice)]
    if chosen.model_problem:
        # Its pages that need no model still work; those that do say so. The reason is shown once here.
        reason = markup.message(f"Its model cannot be used: {chosen.model_problem}.")
        st.sidebar.warning(reason, icon=":material/block:")
    return chosen


# --------------------------------------------------------------------------- images and notices


def here_link(text: str, icon: str | None, query: str, key: str) -> None:
    """A link to the page already open with ``query``, as a button that rewrites the address. st.page_link to
    the page already open changes the view but not the browser's address (Streamlit 1.67), so a reload or a
    copied address lost it: the quiz a teacher opened came back as quiz 1, the tour as no tour."""
    from analysis.share import parse_query

    st.button(text, icon=icon, type="tertiary", on_click=st.query_params.update, args=(parse_query(query),), key=key)


def page_link(label: str, text: str, icon: str | None = None, query: str = "") -> None:
    """A link to one of PAGES that keeps this browser session (its choices, its own image).

    Where no page list is registered (AppTest running one page on its own) it falls back to a
    plain link."""
    from streamlit.errors import StreamlitPageNotFoundError

    from analysis.share import parse_query

    try:
        st.page_link(page_file(label), label=text, icon=icon, query_params=parse_query(query))
    except StreamlitPageNotFoundError:
        url = "./" if label == "Home" else PAGE_URLS[label]
        st.markdown(f"[{text}]({url}{'?' + query if query else ''})")


def page_file(label: str) -> str:
    """The script of the page called ``label`` (a key of PAGES, or "Home")."""
    return HOME_PAGE if label == "Home" else PAGES[label]


def open_page(label: str, **query) -> None:
    """Go to one of PAGES (or Home) now, with ``query`` in its URL (this browser session is kept)."""
    st.switch_page(page_file(label), query_params={name: str(value) for name, value in query.items()})


def absolute_url(label: str, query: dict | None = None) -> str:
    """The full address of a page (a key of PAGES, or "Home") as the browser reaches this app, for links
    handed out on a board, a QR code or paper; relative where the browser's address is unknown."""
    from analysis import share

    root = share.app_root(st.context.url or "", [path.removeprefix("./") for path in PAGE_URLS.values()] + ["start"])
    return share.page_url(root, "" if label == "Home" else PAGE_URLS[label].removeprefix("./"), query)


def image_gallery(
    split: Split,
    indices,
    probabilities: np.ndarray,
    columns: int = 6,
    caption_top: int = 2,
    title: str = "test images",
) -> None:
    """Thumbnails with true/predicted class, top probabilities and a link to the explanation, and a button
    that saves them all as one PNG grid (``title`` names the file)."""
    from dashboard import display
    from explain.overlay import grid

    indices = list(indices)
    for start in range(0, len(indices), columns):
        cols = st.columns(columns)
        for col, index in zip(cols, indices[start : start + columns]):
            probs = probabilities[index]
            true, predicted = int(split.labels[index]), int(probs.argmax())
            top = np.argsort(-probs)[:caption_top]
            with col:
                st.image(
                    crisp(split.images[index], THUMB_SCALE),
                    width=112,
                    alt=f"Test image #{int(index)}, a {CLASS_NAMES[true]}; the network answers "
                    f"{CLASS_NAMES[predicted]} ({probs[predicted]:.0%})",
                )
                mark = CORRECT if true == predicted else WRONG
                st.markdown(
                    f"{mark} **{CLASS_NAMES[predicted]}**  \ntrue: {CLASS_NAMES[true]}  \n"
                    + "  \n".join(f"{CLASS_NAMES[c]} {probs[c]:.0%}" for c in top)
                )
                # A page link keeps this browser session (a Markdown link would open a new tab and session).
                page_link("Saliency", f"#{index} · explain", query=f"index={int(index)}")
    if indices:
        display.download_png(
            lambda: grid(np.stack([crisp(split.images[i], THUMB_SCALE) for i in indices]), columns, gap=4),
            title,
            f"Save these {len(indices)} images (PNG)",
            key=f"gallery_{display.file_name(title)}_{indices[0]}_{len(indices)}",
        )


# --------------------------------------------------------------------------- the view in the URL

LINK_SEEN = "_link_{}"  # the URL value of a parameter as last adopted or written


def adopt_link(name: str, key: str, value) -> None:
    """Set widget state ``key`` from the URL's ``name`` on arrival and whenever a link changes the URL
    (``value()`` reads and checks it, with notices); otherwise the widget keeps the user's choice."""
    raw = st.query_params.get(name)
    seen = LINK_SEEN.format(name)
    if key not in st.session_state or (raw is not None and raw != st.session_state.get(seen)):
        st.session_state[key] = value()
        st.session_state[seen] = raw


def sync_query(defaults: dict | None = None, **values) -> None:
    """Make the URL say the current view, changing as little as it can: a value that differs from its entry in
    ``defaults`` (what the page shows when the URL does not say) is written; a default is not added, and stays
    if the link already said it; a value of None (not part of this view) is removed.

    The browser gets a new history entry whenever the URL changes, so a page that wrote its defaults into the URL
    on arrival took two presses of Back to leave (Mistakes to Saliency and back, found in review). Now a link's URL
    stays as it came unless the view differs from it, and a copied link still opens the same view."""
    defaults = {k: str(v) for k, v in (defaults or {}).items()}
    shown = {k: str(v) for k, v in values.items() if v is not None}
    current = st.query_params.to_dict()
    wanted = {k: v for k, v in shown.items() if v != defaults.get(k) or current.get(k) == v}
    address = {k: v for k, v in current.items() if k not in values} | wanted
    if address != current:  # one write, one history entry, for one change of view
        st.query_params.from_dict(address)
    for name, value in shown.items():
        st.session_state[LINK_SEEN.format(name)] = value


def query_reader() -> QueryReader:
    return QueryReader(st.query_params)


def show_notices(reader: QueryReader) -> None:
    for notice in reader.notices:
        st.info(notice, icon=":material/link_off:")


def segmented(label: str, options, default, labels: dict | None = None, key: str | None = None, help=None, where=st):
    """A segmented control that always has a value: clicking the chosen segment again deselects it, which
    means "the default" here rather than nothing. ``labels`` maps options to what the buttons say."""
    chosen = where.segmented_control(
        label, list(options), default=default, format_func=(labels or {}).get if labels else str, key=key, help=help
    )
    return default if chosen is None else chosen


def percent(value: float) -> str:
    return f"{value:.2%}"
