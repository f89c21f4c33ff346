"""Learning curves: loss, accuracy and learning rate per epoch, runs overlaid."""

import pandas as pd
import streamlit as st

from analysis import hardware, markup
from dashboard import charts, display, ui
from runfolder import runs
from training.config import TrainConfig

run, _ = ui.run_page("Learning curves", ":material/show_chart:")

st.title("Learning curves")
st.markdown(
    "Solid lines are measured on the training images (with augmentation and dropout on), dashed lines on the "
    "validation images held out from the training set. The star marks the epoch whose weights were kept: the "
    "one with the best validation accuracy. The test set plays no part in these curves. Runs trained with "
    "label smoothing report a higher loss for the same predictions, so compare losses only between runs "
    "with the same setting; accuracies always compare."
)

available = {r.name: r for r in runs.list_runs()}
default = [n for n in dict.fromkeys([run.name, *runs.SHIPPED_RUNS]) if n in available]
chosen = st.multiselect("Runs to compare", list(available), default=default)
if not chosen:
    st.info("Choose at least one run.")
    st.stop()
loaded = {name: ui.load_results_or_stop(available[name].folder) for name in chosen}
histories = {name: r.history for name, r in loaded.items()}
best = {name: int(r.metrics["best_epoch"]) for name, r in loaded.items()}
settings = {name: TrainConfig.from_dict(r.card["settings"]) for name, r in loaded.items()}
curves_alt = "Line charts of loss, accuracy and learning rate per epoch for " + ", ".join(chosen)
display.chart(
    charts.learning_curves(histories, best),
    curves_alt,
    "learning curves",
    " ".join(
        f"{name}: best validation accuracy {r.metrics['best_val_accuracy']:.2%} at epoch {best[name]} of "
        f"{len(r.history)}."
        for name, r in loaded.items()
    ),
    narrow=lambda: st.plotly_chart(  # the three panels one above the other
        charts.learning_curves(histories, best, stacked=True),
        alt=curves_alt,
        config=display.chart_config("learning curves"),
        width="stretch",
        key="curves_stacked",
    ),
    width="stretch",
)

ui.page_link(
    "Watch it learn",
    "Watch it learn: how the answers, the feature space and the maps formed, epoch by epoch",
    icon=":material/timeline:",
)

summary = pd.DataFrame(
    [
        {
            "run": name,
            "epochs": len(r.history),
            "selected epoch": best[name],
            "best validation accuracy": r.metrics["best_val_accuracy"],
            "test accuracy": r.metrics["test_accuracy"],
            "optimizer": settings[name].optimizer_name,
            "batch size": settings[name].batch_size,
            "augmentation": settings[name].augmentation_summary(),
            "weight averaging": settings[name].weight_averaging_summary(),
        }
        for name, r in loaded.items()
    ]
)
percents = ["best validation accuracy", "test accuracy"]
display.two_versions(  # a phone gets the table turned: one column per run, its nine settings and scores down it
    "runs_summary",
    lambda: st.dataframe(
        summary,
        hide_index=True,
        width="stretch",
        column_config={k: st.column_config.NumberColumn(format="percent") for k in percents},
    ),
    lambda: st.dataframe(
        summary.assign(**{k: summary[k].map(ui.percent) for k in percents}).set_index("run").T.astype(str)
    ),
)
# Time and hardware below the table, in full: a device's name is long and was cut off as a table column.
st.caption(
    "Training time: "
    + "; ".join(
        f"{markup.code(name)} {r.card['wall_seconds'] / 60:.1f} min on "
        + markup.escape(hardware.describe(r.card["hardware"]))
        for name, r in loaded.items()
    )
    + "."
)
if "original-recipe" in loaded:
    st.caption(
        "`original-recipe` is the original notebook's recipe (RMSprop at its defaults, batch 32, no "
        "augmentation, 15 epochs) with only its defects fixed: a softmax output and a validation split "
        "taken from the training data. Same network, different recipe."
    )
averaged = [name for name in chosen if settings[name].ema_momentum]
if averaged:
    st.caption(
        f"{', '.join(f'`{name}`' for name in averaged)} validated and kept an exponential moving average (EMA) "
        "of its weights. The average starts from the random initial weights, so its validation curve trails "
        "the training curve for the first few epochs (the charts open zoomed past them: double-click a chart to "
        "see every point), then runs smoother."
    )
