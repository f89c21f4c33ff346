"""Mistakes browser: every misclassified test image, filtered, sorted and paged."""

import streamlit as st

from analysis import mistakes
from dashboard import ui
from dataset.fashion_mnist import CLASS_NAMES

PER_PAGE = 24
LINK_DEFAULTS = {"sort": "confidence", "page": 1}  # what a link that omits them shows
ANY = None

run, results = ui.run_page("Mistakes", ":material/error:")
table = mistakes.mistakes_table(results.probabilities, results.labels)

st.title("Mistakes browser")
st.markdown(
    f"The model gets **{len(table):,} of {len(results.labels):,}** test images wrong. Filter them by "
    "class, sort them, and open any image's explanation."
)

reader = ui.query_reader()
class_options = [ANY, *range(len(CLASS_NAMES))]
linked = {  # what the link asks for; LINK_DEFAULTS where it does not say
    "true": reader.class_index("true"),
    "predicted": reader.class_index("predicted"),
    "sort": reader.choice("sort", list(mistakes.SORT_ORDERS), LINK_DEFAULTS["sort"]),
    "page": reader.integer("page", LINK_DEFAULTS["page"], 1, 10_000),
}
ui.show_notices(reader)

c1, c2, c3 = st.columns([1, 1, 2])
true_class, predicted_class = (
    column.selectbox(
        f"{role.capitalize()} class",
        class_options,
        index=class_options.index(linked[role]),
        format_func=mistakes.class_label,
        key=f"mistakes_{role}",
    )
    for column, role in ((c1, "true"), (c2, "predicted"))
)
sort = c3.radio(
    "Sort",
    list(mistakes.SORT_ORDERS),
    index=list(mistakes.SORT_ORDERS).index(linked["sort"]),
    format_func=mistakes.SORT_ORDERS.get,
    horizontal=True,
    key="mistakes_sort",
)
selected = mistakes.filter_and_sort(table, true_class, predicted_class, sort)
if selected.empty:
    st.success("No mistakes match these filters.")
    st.stop()

pages = mistakes.paginate(selected, 1, PER_PAGE).count
page_number = st.number_input(
    f"Page (of {pages})", min_value=1, max_value=pages, value=min(linked["page"], pages), step=1, key="mistakes_page"
)
page = mistakes.paginate(selected, page_number, PER_PAGE)
ui.sync_query(true=true_class, predicted=predicted_class, sort=sort, page=page.number, defaults=LINK_DEFAULTS)
for key in ("true", "predicted"):
    if {"true": true_class, "predicted": predicted_class}[key] is None and key in st.query_params:
        del st.query_params[key]

st.caption(f"{len(selected):,} mistakes · showing {len(page.rows)} on page {page.number} of {page.count}")
split = ui.test_split_or_none()
if split is not None:
    ui.image_gallery(split, page.rows["index"].tolist(), results.probabilities, columns=6, caption_top=2)
else:
    st.dataframe(page.rows, hide_index=True)
