"""Can the maps be trusted? The run's faithfulness scorecard, read from faithfulness.json (no TensorFlow)."""

import streamlit as st

from analysis import markup, trust
from dashboard import display, trust_widgets, ui

run, _ = ui.run_page(
    "Can the maps be trusted?", ":material/verified:"
)  # a scorecard belongs to a run that can be shown
st.title("Can the maps be trusted?")
st.markdown(
    "A saliency map is a claim: *these pixels are what the model used*. This page tests that claim on this model, "
    "for every method the Saliency page offers, with two kinds of evidence. **Faithfulness**: removing the pixels a "
    "map ranks highest should hurt the prediction sooner, and putting them back first should restore it sooner, "
    "than orders that know nothing about the model. **Sensitivity**: a map of a model whose learned weights have "
    "been destroyed should look different."
)

card = trust_widgets.scorecard_or_offer(run)
reader = ui.query_reader()
keys = list(card["entries"])
chosen_key = reader.choice("entry", keys, card["default"]["key"])
ui.show_notices(reader)
second_version = trust.version(card) >= 2

if second_version:
    st.markdown(trust.student_summary(card))
else:
    st.info(trust_widgets.OLD_VERSION_NOTICE.format(command=trust_widgets.scorecard_command(run)))
    st.markdown(trust.summary_sentence(card))
st.caption(
    f"{trust.rule_text(card)} Measured on {card['sample']['images']:,} test images (a fixed random sample, maps for "
    f"the predicted class) and {card['sample']['cascade_images']} for randomisation; computed in "
    f"{card['seconds'] / 60:.0f} min."
)
table = trust.verdict_table(card)
display.two_versions(  # a phone gets one row per method and layer, the passing ones first
    "verdicts",
    lambda: st.dataframe(
        table, width="stretch", column_config={c: st.column_config.TextColumn(c, width=128) for c in table.columns}
    ),
    lambda: st.dataframe(trust.verdict_list(card), hide_index=True, width="stretch"),
)
shown = {e["verdict"] for e in card["entries"].values()} | {"passes"}
st.caption(" · ".join(f"**{trust.BADGES[k]}**: {meaning}" for k, meaning in trust.BADGE_MEANINGS.items() if k in shown))

st.subheader("One method up close")
key = st.selectbox(
    "Method and layer",
    keys,
    index=keys.index(chosen_key),
    format_func=lambda k: card["entries"][k]["label"],
    key="entry",
)
entry = card["entries"][key]
ui.sync_query(entry=key, defaults={"entry": card["default"]["key"]})
st.markdown(f"**{trust.BADGES[entry['verdict']]}.** {markup.escape(trust.reason(entry))}")
trust_widgets.entry_figures(card, entry)

# The two kinds of evidence, one at a time: only the open tab is drawn, which keeps a student's first view of
# the page to two charts (each costs their browser about 0.1 s to draw).
faithfulness_tab, sensitivity_tab = st.tabs(trust_widgets.EVIDENCE_TABS, key="trust_evidence", on_change="rerun")
if faithfulness_tab.open:
    with faithfulness_tab:
        st.markdown(
            "**Does the answer fall sooner when the map's pixels go first, and come back sooner when they return "
            "first?**"
        )
        trust_widgets.entry_curves(card, entry)
if sensitivity_tab.open:
    with sensitivity_tab:
        trust_widgets.entry_sensitivity(card, entry)

with st.expander("What these tests mean, for a student"):
    st.markdown(trust.EXPLAINER)
with st.expander("Words on this page"):
    st.markdown(trust_widgets.words_on_this_page())
