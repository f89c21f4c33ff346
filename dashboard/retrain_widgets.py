"""The retraining page's two larger widgets: the live view of a running job and the new-run form."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from analysis import markup
from dashboard import background, charts, display, ui
from runfolder import runs
from training import jobs
from training.config import RANGES, TrainConfig
from training.device import BackendOption, estimate_text


@st.fragment(run_every=2)
def live_progress() -> None:
    """Progress bar, live learning curves and a Cancel button; redraws itself every 2 s."""
    job = jobs.current_job()
    if job is None:
        return
    state = jobs.progress(job.folder)
    analysis = background.ANALYSES.get(job.module, background.SCORECARD)  # training ends by scoring its maps
    analysing = runs.read_json(job.folder / analysis.progress_file, default=None)
    doing = "Training" if job.module == jobs.CLI_MODULE else f"Computing the {analysis.name} of"
    st.subheader(f"{doing} {markup.code(job.folder.name)}")
    device = jobs.job_device(job.folder) if job.module == jobs.CLI_MODULE else None
    if device:
        st.caption(f"With {markup.message(device)}.")
    epochs, done = state.get("epochs"), state.get("epochs_done", 0)
    if analysing:
        background.show_progress(analysis, analysing)  # training (if any) is done; the run is already usable
    elif epochs:
        batches = state.get("batches") or 1
        fraction = min((done + state.get("batch", 0) / batches) / epochs, 1.0)
        eta = state.get("eta_seconds")
        per_epoch = state.get("seconds_per_epoch")
        st.progress(
            fraction,
            text=f"Epoch {min(done + 1, epochs)} of {epochs} · batch {state.get('batch', 0)} of "
            f"{batches}"
            + (f" · {per_epoch:.0f} s per epoch" if per_epoch else "")
            + (f" · about {eta / 60:.1f} min left" if eta is not None else ""),
        )
    else:
        st.progress(0.0, text="Starting Keras and loading the data…")
    history = runs.read_history_rows(job.folder / runs.HISTORY_FILE)
    if history:
        frame = pd.DataFrame(history)
        last = frame.iloc[-1]
        display.chart(
            charts.learning_curves({job.folder.name: frame}, {}),
            f"Line charts of the running job's loss, accuracy and learning rate over its {len(frame)} epochs so far",
            f"{job.folder.name} learning curves",
            (
                f"After epoch {int(last['epoch'])}: validation accuracy {float(last['val_accuracy']):.2%}, "
                f"training accuracy {float(last['accuracy']):.2%}."
            )
            if {"epoch", "val_accuracy", "accuracy"} <= set(last.index)
            else None,
            width="stretch",
        )
    if st.button("Cancel training", icon=":material/stop_circle:", type="secondary", key="cancel"):
        jobs.cancel_job()
        st.toast("Cancelling: the run stops after saving its state; Resume continues it.")


def backend_choice(options: list[BackendOption]) -> BackendOption | None:
    """The backend and device the next run will use: a choice where there is more than one (JAX on a
    GPU beside TensorFlow), else the one there is, named."""
    if not options:
        st.error(
            "Neither TensorFlow nor JAX can be found in this Python environment, so nothing can train here. "
            "Install the project's requirements (`pip install -r requirements.txt`).",
            icon=":material/error:",
        )
        return None
    if len(options) == 1:
        st.markdown(f"New runs train with **{markup.message(options[0].label)}**.")
        return options[0]
    labels = [option.label for option in options]
    chosen = st.selectbox(
        "Backend and device",
        labels,
        key="backend",
        help="JAX compiles the whole training step for the GPU (about 1.6 s per epoch on an H200, measured "
        "outside the project). The explanation pages always use TensorFlow.",
    )
    return options[labels.index(chosen)]


def new_run_form(option: BackendOption) -> tuple[TrainConfig, str, list[str]] | None:
    """The new-run settings, a time estimate for them, and the Start button. None until Start is
    pressed; then (settings, run name, problems to show). The settings sit outside the form so the
    estimate follows every change; the form holds the name and Start."""
    st.subheader("New run")
    defaults = TrainConfig()
    with st.container(border=True):
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input(
            "Epochs", value=5, step=1, key="epochs", help=f"{RANGES['epochs'][0]} to {RANGES['epochs'][1]}"
        )
        batch_size = c2.number_input(
            "Batch size",
            value=defaults.batch_size,
            step=32,
            key="batch_size",
            help=f"{RANGES['batch_size'][0]} to {RANGES['batch_size'][1]}",
        )
        learning_rate = c3.number_input(
            "Peak learning rate",
            value=defaults.learning_rate,
            format="%.4f",
            step=0.0005,
            key="learning_rate",
            help=f"The shipped recipe: {defaults.optimizer_summary()}",
        )
        c4, c5, c6 = st.columns(3)
        limit = c4.number_input(
            "Training images (0 = all 60,000)",
            value=0,
            step=1000,
            key="limit",
            help=f"Use only the first N images: {RANGES['limit'][0]} to 60,000, or 0 for all",
        )
        seed = c5.number_input("Seed", value=defaults.seed, step=1, key="seed")
        with_augmentation = dataclasses.replace(defaults, augment=True)
        augment = c6.checkbox(
            f"Augmentation: {with_augmentation.augmentation_summary()}", value=defaults.augment, key="augment"
        )
        config = TrainConfig(
            epochs=int(epochs),
            batch_size=int(batch_size),
            learning_rate=float(learning_rate),
            limit=int(limit) or None,
            seed=int(seed),
            augment=augment,
        )
        problems = config.validate()
        if problems:
            st.caption("A time estimate appears once the settings are valid.")
        else:
            try:  # the shipped run's own pace, beside the quiet machine's
                observed = ui.results(runs.SHIPPED_RUNS[runs.DEFAULT_RUN]).history["seconds"].tolist()
            except runs.RunFolderError:  # a damaged shipped run is said on the pages that show it
                observed = None
            sample = jobs.scorecard_sample()[0]
            st.caption(estimate_text(option, config, sample, story=jobs.story_enabled(), observed=observed))
        with st.form("train_form", border=False):
            name = st.text_input("Run name (optional)", placeholder="run-YYYYMMDD-HHMMSS", max_chars=60)
            submitted = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return None
    clean_name = name.strip()
    if clean_name and (name_problem := jobs.run_name_problem(clean_name)):
        problems.append(name_problem)
    return config, clean_name, problems
