"""Retrain: train a new run in a background process, watch it live, cancel, resume or delete runs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import charts, ui  # noqa: E402
from training import jobs, runs  # noqa: E402
from training.config import RANGES, TrainConfig  # noqa: E402
from training.device import training_device  # noqa: E402

ui.setup_page("Retrain", ":material/model_training:")
ui.run_selector()
st.title("Retrain the model")

try:
    secrets = dict(st.secrets)
except Exception:  # no secrets file: nothing configured
    secrets = {}
if jobs.retraining_disabled(secrets):
    st.info(
        "**Retraining is switched off on this server.** Training takes minutes to hours of CPU and would let "
        "any visitor of a public share occupy the machine, so hosted shares turn it off.\n\n"
        f"To retrain, run the app on your own machine without `{jobs.DISABLE_ENV}=1` (and without "
        "`disable_retraining = true` in `.streamlit/secrets.toml`), or train from a terminal with "
        "`python -m training.train`.",
        icon=":material/lock:",
    )
    st.stop()


@st.cache_data(show_spinner="Asking TensorFlow which device it will use…", ttl=3600)
def device_name() -> str:
    return training_device()


st.markdown(
    f"Training runs in a separate process on **{device_name()}**, with the same code as "
    "`python -m training.train`. It keeps going if you leave this page or close the tab; "
    f"new runs are saved in `{runs.runs_dir()}` and appear in the run selector when they finish."
)


@st.fragment(run_every=2)
def live_progress() -> None:
    job = jobs.current_job()
    if job is None:
        return
    state = jobs.progress(job.folder)
    st.subheader(f"Training `{job.folder.name}`")
    epochs, done = state.get("epochs"), state.get("epochs_done", 0)
    if epochs:
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
        st.progress(0.0, text="Starting TensorFlow and loading the data…")
    history = runs.read_history_rows(job.folder / runs.HISTORY_FILE)
    if history:
        frame = pd.DataFrame(history)
        st.plotly_chart(charts.learning_curves({job.folder.name: frame}, {}), width="stretch")
    if st.button("Cancel training", icon=":material/stop_circle:", type="secondary", key="cancel"):
        jobs.cancel_job()
        st.toast("Cancelling: the run stops after saving its state; Resume continues it.")


running = jobs.current_job()
if running is not None:
    live_progress()
else:
    with st.form("train_form"):
        st.subheader("New run")
        defaults = TrainConfig()
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input("Epochs", value=5, step=1, help=f"{RANGES['epochs'][0]} to {RANGES['epochs'][1]}")
        batch_size = c2.number_input(
            "Batch size",
            value=defaults.batch_size,
            step=32,
            help=f"{RANGES['batch_size'][0]} to {RANGES['batch_size'][1]}",
        )
        learning_rate = c3.number_input(
            "Peak learning rate",
            value=defaults.learning_rate,
            format="%.4f",
            step=0.0005,
            help=f"The shipped recipe: {defaults.optimizer_summary()}",
        )
        c4, c5, c6 = st.columns(3)
        limit = c4.number_input(
            "Training images (0 = all 60,000)",
            value=0,
            step=1000,
            help=f"Use only the first N images: {RANGES['limit'][0]} to 60,000, or 0 for all",
        )
        seed = c5.number_input("Seed", value=defaults.seed, step=1)
        augment = c6.checkbox(f"Augmentation: {defaults.augmentation_summary()}", value=True)
        name = st.text_input("Run name (optional)", placeholder="run-YYYYMMDD-HHMMSS", max_chars=60)
        submitted = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    if submitted:
        config = TrainConfig(
            epochs=int(epochs),
            batch_size=int(batch_size),
            learning_rate=float(learning_rate),
            limit=int(limit) or None,
            seed=int(seed),
            augment=augment,
            erasing_probability=defaults.erasing_probability if augment else 0.0,
        )
        problems = config.validate()
        clean_name = name.strip()
        if clean_name and not all(ch.isalnum() or ch in "-_." for ch in clean_name):
            problems.append("The run name may only contain letters, digits, '-', '_' and '.'.")
        if problems:
            for problem in problems:
                st.error(problem, icon=":material/error:")
        else:
            try:
                jobs.start_job(config, clean_name or None)
            except jobs.JobError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.rerun()

st.subheader("Runs")
rows = []
for info in runs.list_runs(include_unfinished=True):
    state = jobs.run_state(info.folder) if not info.shipped else {"state": info.state}
    metrics = runs.read_json(info.folder / runs.METRICS_FILE, default={}) or {}
    rows.append(
        {
            "run": info.name,
            "state": state.get("state"),
            "test accuracy": metrics.get("test_accuracy"),
            "message": state.get("message", ""),
            "shipped": info.shipped,
        }
    )
table = pd.DataFrame(rows)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={"test accuracy": st.column_config.NumberColumn(format="percent")},
)

own = [r for r in rows if not r["shipped"]]
if own:
    chosen = st.selectbox("Manage a run", [r["run"] for r in own], key="manage_run")
    folder = runs.runs_dir() / chosen
    state = jobs.run_state(folder)
    if state["state"] in (runs.STATE_FAILED, runs.STATE_CANCELLED):
        st.warning(f"**{chosen}** is {state['state']}: {state.get('message', '')}", icon=":material/warning:")
        tail = jobs.log_tail(folder)
        if tail:
            st.code(tail, language=None)
    left, right = st.columns(2)
    if left.button(
        "Resume",
        icon=":material/replay:",
        key="resume",
        disabled=state["state"] not in (runs.STATE_FAILED, runs.STATE_CANCELLED) or running is not None,
    ):
        try:
            jobs.resume_job(folder)
        except jobs.JobError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    if right.button("Delete", icon=":material/delete:", key="delete"):
        try:
            jobs.delete_run(folder)
        except (jobs.JobError, OSError) as exc:
            st.error(str(exc))
        else:
            st.toast(f"Deleted {chosen}")
            st.rerun()
