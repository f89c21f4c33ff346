"""Feature space: all 10,000 test images on one map, as the network describes them (no TensorFlow)."""

import streamlit as st

from analysis import embedding
from dashboard import charts, display, own_image, ui
from dataset.fashion_mnist import CLASS_NAMES
from runfolder import runs

COLOURINGS = {"true": "True class", "predicted": "Predicted class", "confidence": "Confidence"}
GALLERY = 24
LINK_DEFAULT_COLOUR = "true"  # what a link without ?colour= shows


run, results = ui.run_page("Feature space", ":material/scatter_plot:")
st.title("The network's map of the test set")
st.markdown(
    "Just before its answer the network describes every image by 250 numbers. This map places the 10,000 test "
    "images so that images it describes alike lie close together (t-SNE). Classes it keeps apart form their own "
    "islands; where islands touch (shirts, T-shirts, pullovers, coats) is where its mistakes live, drawn as "
    "crosses. **Select** points with the lasso or box (tools at the top right) to see those images. Read it with "
    "care: distances *within* a neighbourhood mean something, distances between far-apart islands and the "
    "islands' sizes do not."
)

features = ui.stored_features(run.folder)
xy = ui.embedding_or_offer(run, features)
reader = ui.query_reader()
colour_by = reader.choice("colour", list(COLOURINGS), LINK_DEFAULT_COLOUR)
ui.show_notices(reader)
colour_by = (
    st.segmented_control("Colour by", list(COLOURINGS), default=colour_by, format_func=COLOURINGS.get, key="colour")
    or colour_by
)
ui.sync_query(colour=colour_by, defaults={"colour": LINK_DEFAULT_COLOUR})

user = None
user_features = own_image.user_features()
if user_features is not None:
    user, neighbours = embedding.place(user_features, features, xy)
    st.caption(
        "The star is your picture from 'Your own image', placed at the weighted mean position of its 10 nearest "
        "test images in the network's 250 numbers: an approximation (t-SNE cannot place a new point exactly)."
    )
# Built on every run: a cached (copied) figure made the browser's selections come back empty.
confidence = results.probabilities.max(axis=1)
figure, traces = charts.feature_map(xy, results.labels, results.predictions, confidence, colour_by, CLASS_NAMES, user)
event = display.chart(
    figure,
    f"Scatter map of the {len(xy):,} test images placed by how the network describes them, coloured by "
    f"{COLOURINGS[colour_by].lower()}" + ("; a star marks your picture" if user is not None else ""),
    "feature space map",
    embedding.map_summary(xy, results.labels, results.predictions, CLASS_NAMES),
    width="stretch",
    on_select="rerun",
    selection_mode=("box", "lasso", "points"),
    key="feature_map",
)
chosen = embedding.selected_indices(((event or {}).get("selection") or {}).get("points", []), traces)
# Drawing a box on a phone scrolls the page instead: a group can be picked without drawing.
group_labels = embedding.groups(CLASS_NAMES)
group = st.selectbox(
    "Or pick a group without drawing",
    [None, *group_labels],
    format_func=lambda g: "(none: use the map's selection)" if g is None else group_labels[g],
    key="feature_group",
    help="For a phone or the keyboard: the images of one class, or only its mistakes. A selection on the map "
    "comes first.",
)
is_selection = bool(len(chosen))
if is_selection:
    heading = f"{len(chosen):,} images selected"
elif group is not None:
    chosen, is_selection = embedding.group_indices(group, results.labels, results.predictions), True
    heading = f"{group_labels[group]}: {len(chosen):,}"
elif user is not None:  # nothing selected: your picture's neighbours, nearest first
    chosen = neighbours
    heading = f"The {len(chosen)} test images nearest to your picture"
else:
    st.info("Select points on the map to see their images and the classes they hold.", icon=":material/touch_app:")
    st.stop()
wrong = int((results.labels[chosen] != results.predictions[chosen]).sum())
st.subheader(f"{heading} · {wrong:,} of them misclassified")
if not is_selection:
    st.caption(
        "Nearest first, in the network's 250 numbers (the images around the star). Select points on the map to "
        "see other images."
    )
left, right = st.columns([1, 2])
with left:
    st.dataframe(embedding.class_mix(chosen, results.labels, results.predictions, CLASS_NAMES), hide_index=True)
with right:
    split = ui.test_split_or_none()
    if split is not None:
        ordered = (
            embedding.gallery_order(chosen, results.labels, results.predictions, confidence) if is_selection else chosen
        )
        # How many are shown grows with "Show more" and starts again with each new selection.
        signature = hash(ordered.tobytes())
        if st.session_state.get("feature_gallery_of") != signature:
            st.session_state["feature_gallery_of"] = signature
            st.session_state["feature_gallery_shown"] = GALLERY
        shown = min(st.session_state["feature_gallery_shown"], len(ordered))
        if is_selection:
            st.caption(f"Showing {shown:,} of {len(ordered):,}: {embedding.GALLERY_ORDER}.")
        ui.image_gallery(split, ordered[:shown].tolist(), results.probabilities, columns=6)
        if shown < len(ordered):

            def show_more() -> None:
                st.session_state["feature_gallery_shown"] += GALLERY

            st.button(
                f"Show {min(GALLERY, len(ordered) - shown)} more ({len(ordered) - shown:,} not shown yet)",
                key="feature_gallery_more",
                icon=":material/expand_more:",
                on_click=show_more,
            )
st.caption(f"Map: {runs.EMBEDDING_FILE} in the run folder (openTSNE, seed {embedding.SEED}, PCA initialisation).")
