"""Architecture: model.summary() as a table and an interactive diagram of the blocks."""

import streamlit as st

from analysis import architecture
from analysis.glossary import define
from dashboard import charts, display, ui

run, results = ui.run_page("Architecture", ":material/account_tree:")
rows = results.architecture

st.title("Architecture")
st.markdown(
    "Tiny GoogLeNet reads a 28x28 grey image, passes it through a **stem** convolution and **four inception "
    "blocks** that each halve the image and double the channels (16 → 32 → 64 → 128 per branch), then a small "
    "**head** turns the last 2x2x256 maps into ten class probabilities."
)

stages = architecture.stage_frame(rows)
stage_names = list(stages["stage"])
blocks = [s for s in stage_names if s.startswith("Inception")]
chosen = st.segmented_control(
    "Choose a block to open it", blocks, default=blocks[0], key="block", help=define("inception block")
)
path = " → ".join(f"{row.stage} ({row.output})" for row in stages.itertuples())
biggest = stages.loc[stages["params"].idxmax()]
display.chart(
    charts.network_diagram(stages, chosen),
    f"Diagram of the network from input to output: {path}",
    "network diagram",
    f"The image flows {path}. The most parameters sit in {biggest['stage']} "
    f"({biggest['params']:,} of {int(stages['params'].sum()):,}).",
    # Narrower, the boxes' labels overlap: a phone gets the stages as a table.
    narrow=lambda: st.dataframe(stages.rename(columns={"multiply_adds": "multiply-adds"}), hide_index=True),
    width="stretch",
)

if chosen:
    block = int(chosen.rsplit(" ", 1)[1])
    layers = architecture.block_layers(rows, block)
    previous = stages.iloc[stage_names.index(chosen) - 1]["output"]
    st.subheader(chosen)
    branches = ", ".join(
        f"{branch}: {' → '.join(group['layer'])}" for branch, group in layers.groupby("branch", sort=False)
    )
    display.chart(
        charts.block_diagram(block, layers, previous),
        f"Diagram of {chosen}: from its {previous} input, {branches}",
        f"inception block {block} diagram",
        f"{chosen} takes the {previous} input through {branches}.",
        narrow=lambda: st.dataframe(
            layers[["layer", "branch", "output shape", "params"]], hide_index=True, width="stretch"
        ),
        width="stretch",
    )
    per_branch = layers.groupby("branch", sort=False)[["params", "multiply-adds"]].sum()
    cols = st.columns(len(per_branch))
    for col, (branch, values) in zip(cols, per_branch.iterrows()):
        col.metric(
            branch,
            f"{values['params']:,} params",
            f"{values['multiply-adds'] / 1e6:.2f} M multiply-adds",
            delta_color="off",
            delta_arrow="off",  # a second figure, not a change
        )
    display.two_versions(  # a phone has these layers in the diagram's table above, and the branches' sums
        "block_layers", lambda: st.dataframe(layers, hide_index=True, width="stretch"), lambda: None
    )

with st.expander("The ideas in plain language", expanded=True):
    st.markdown(
        "- **Inception block.** Instead of choosing one filter size, each block looks at the same input with two "
        "branches side by side, a 3x3 convolution (small details such as a collar or a strap) and a 5x5 "
        "convolution (larger shapes such as a sleeve or a sole), and stacks both results. The next layer can then "
        "use whichever view helps.\n"
        "- **1x1 convolutions.** Before each 3x3 and 5x5 convolution a 1x1 convolution mixes the channels at each "
        "pixel. In the full-size GoogLeNet this *reduction* shrinks the channel count so the expensive large "
        "filters stay affordable; here it keeps the count and adds a cheap extra non-linearity.\n"
        "- **LRN (local response normalisation).** Each activation is divided by the size of its neighbours in "
        "11 adjacent channels. Strong features then damp weaker ones at the same place, an old trick from AlexNet "
        "and the first GoogLeNet that later networks replaced with batch normalisation.\n"
        "- **Max pooling** keeps the strongest response in each 2x2 patch, halving width and height."
    )

st.subheader("Layer by layer (as Keras' model.summary())")
totals = architecture.totals(rows)
c1, c2, c3 = st.columns(3)
c1.metric("Total parameters", f"{totals['total']:,}")
c2.metric("Trainable", f"{totals['trainable']:,}")
c3.metric("Non-trainable", f"{totals['non_trainable']:,}", help="The batch-normalisation moving mean and variance.")
summary = architecture.summary_frame(rows)
display.two_versions(  # a phone gets the columns that fit it: each layer, its output and its parameters
    "summary",
    lambda: st.dataframe(summary, hide_index=True, width="stretch", height=560),
    lambda: st.dataframe(summary[["Layer", "Output shape", "Param #"]], hide_index=True, height=560),
)
