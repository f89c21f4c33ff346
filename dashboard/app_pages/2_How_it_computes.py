"""How it computes: one image followed through the network, step by step, with its real numbers."""

import streamlit as st

import model as tgn
from analysis.glossary import TERMS
from dashboard import (
    image_picker,
    model_cache,
    ui,
)
from dashboard import lesson_widgets as lw

view = image_picker.explanation_page("How it computes", "How it computes", ":material/calculate:")
run, reader, image = view.run, view.reader, view.image
LINK_DEFAULTS = {"step": "image", "filter": 0, "row": 14, "col": 14, "block": 1}  # what a link that omits them shows
ui.adopt_link("step", "lesson_step", lambda: reader.choice("step", list(lw.STEPS), LINK_DEFAULTS["step"]))
ui.adopt_link("filter", "lesson_filter", lambda: reader.integer("filter", LINK_DEFAULTS["filter"], 0, 15))
ui.adopt_link("row", "lesson_row", lambda: reader.integer("row", LINK_DEFAULTS["row"], 0, 27))
ui.adopt_link("col", "lesson_col", lambda: reader.integer("col", LINK_DEFAULTS["col"], 0, 27))
ui.adopt_link("block", "lesson_block", lambda: reader.integer("block", LINK_DEFAULTS["block"], 1, len(tgn.BLOCKS)))
ui.show_notices(reader)
image_picker.image_header(image)
st.markdown(
    "Follow this image through the network one operation at a time. Every number below is computed from the "
    "image and the model's real weights, and checked against what Keras computes."
)

step = st.segmented_control("Step", list(lw.STEPS), format_func=lw.STEPS.get, key="lesson_step") or "image"
if step in ("image", "conv", "lrn", "relu", "block"):
    c1, c2, c3, c4 = st.columns(4)
    filter = c1.number_input("Filter / channel", min_value=0, max_value=15, step=1, key="lesson_filter")
    row = c2.slider("Row", 0, 27, key="lesson_row")
    col = c3.slider("Column", 0, 27, key="lesson_col")
    block = c4.segmented_control("Block", list(tgn.BLOCKS), key="lesson_block") if step == "block" else None
else:
    filter, row, col, block = (
        st.session_state[k] for k in ("lesson_filter", "lesson_row", "lesson_col", "lesson_block")
    )
block = block or st.session_state.get("lesson_block") or 1
ui.sync_query(
    index=image.index,
    step=step,
    filter=filter,
    row=row,
    col=col,
    block=block if step == "block" else None,
    defaults={"index": image_picker.DEFAULT_INDEX, **LINK_DEFAULTS},
)

trace = model_cache.lesson_trace(str(run.folder), image.pixels)
lw.VIEWS[step](trace, pixels=image.pixels, filter=int(filter), row=int(row), col=int(col), block=int(block))

with st.expander("Glossary: the words used here"):
    st.markdown("\n".join(f"- **{term}**: {text}" for term, text in TERMS.items()))
