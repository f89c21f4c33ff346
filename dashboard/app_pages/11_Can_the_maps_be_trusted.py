"""Can the maps be trusted? The run's faithfulness scorecard, read from faithfulness.json (no TensorFlow)."""

import streamlit as st

from analysis import markup, trust
from dashboard import charts, display, trust_widgets, ui

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
st.query_params["entry"] = key
st.markdown(f"**{trust.BADGES[entry['verdict']]}.** {markup.escape(trust.reason(entry))}")
if second_version:
    trust_widgets.entry_in_detail(card, entry)
else:
    trust_widgets.entry_in_detail_v1(card, entry)

st.subheader("Does the map change when the model is destroyed?")
layers = [name for name in trust.LAYER_LABELS if name != "input"]
layer = (
    st.segmented_control(
        "CAM layer",
        layers,
        default=entry["layer"] if entry["layer"] in layers else "block3",
        format_func=trust.LAYER_LABELS.get,
        key="cascade_layer",
    )
    or "block3"
)
pixels = "all"
if second_version:
    pixels = ui.segmented(
        "Pixels compared",
        ["garment", "all"],
        "garment",
        {"garment": "the garment's pixels", "all": "all pixels"},
        key="cascade_pixels",
        help="Two maps that are both zero on the black background agree there for free, which makes the "
        "correlation over all pixels look higher than it is. The rule uses the garment's pixels.",
    )
cascade = trust.cascade_frame(card, layer, pixels)
display.chart(
    charts.randomisation_chart(cascade, highlight=entry["label"]),
    f"Line chart of each method's map correlation with the trained model's map as the network is randomised "
    f"from the top down, {entry['label']} highlighted",
    f"randomisation {layer}",
    trust.cascade_summary(cascade, entry["method_label"]),
    width="stretch",
)
if second_version:
    st.caption(
        f"Each point is the mean over {card['settings']['randomisation_draws']} independent draws of the random "
        "weights; the rule asks every draw to stay below 0.5 once the head is random. " + trust.draws_sentence(entry)
    )
runner_up = entry.get("runner_up_correlation")
st.markdown(
    f"Methods at {trust.LAYER_LABELS.get(layer, layer)} and the pixel-level methods. From left to right the network is "
    "re-initialised from the top down (Adebayo et al., 2018): a map that still looks the same once the head is random "
    "is explaining the image, not the model. "
    + (
        f"{markup.escape(entry['label'])}'s maps for the predicted and the runner-up class correlate at "
        f"{runner_up:.2f}: "
        + (
            "nearly the same map for two different answers."
            if runner_up > 0.7
            else "different answers, different maps."
        )
        if runner_up is not None
        else ""
    )
)

with st.expander("What these tests mean, for a student"):
    st.markdown(trust.EXPLAINER)
with st.expander("Words on this page"):
    st.markdown(trust_widgets.words_on_this_page())
