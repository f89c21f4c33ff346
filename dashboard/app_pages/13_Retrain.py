"""Retrain: train a new run in a background process, watch it live, cancel, resume or delete runs."""

import pandas as pd
import streamlit as st

from analysis import markup
from dashboard import ui
from dashboard.retrain_widgets import backend_choice, live_progress, new_run_form
from runfolder import runs
from training import jobs
from training.device import backend_options
from training.paths import shown_path

ui.setup_page("Retrain", ":material/model_training:")
ui.run_selector()
st.title("Retrain the model")

if jobs.retraining_disabled(ui.secrets()):
    st.info(
        "**Retraining is switched off on this server.** Training takes minutes to hours of CPU and would let "
        "any visitor of a public share occupy the machine, so hosted shares turn it off.\n\n"
        f"To retrain, run the app on your own machine without `{jobs.DISABLE_ENV}=1` (and without "
        "`disable_retraining = true` in `.streamlit/secrets.toml`), or train from a terminal with "
        "`python -m training.train`.",
        icon=":material/lock:",
    )
    st.stop()


@st.cache_data(show_spinner="Asking the installed backends which devices they see…", ttl=3600)
def options():
    # Free without an NVIDIA driver (the CPU); with one, each backend is asked once in a child process.
    return backend_options()


st.markdown(
    "Training runs in a separate process, with the same code as `python -m training.train`. It keeps "
    f"going if you leave this page or close the tab; new runs are saved in `{shown_path(runs.runs_dir())}` "
    "and appear in the run selector when they finish."
)


running = jobs.current_job()
if running is not None:
    live_progress()
elif (option := backend_choice(options())) is not None:
    submission = new_run_form(option)
    if submission is not None:
        config, name, problems = submission
        for problem in problems:
            st.error(markup.message(problem), icon=":material/error:")
        if not problems:
            try:
                jobs.start_job(config, name or None, option)
            except jobs.JobError as exc:
                st.error(markup.message(exc), icon=":material/error:")
            else:
                st.rerun()

st.subheader("Runs")
rows = jobs.runs_overview()
table = pd.DataFrame(rows).drop(columns="folder")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={  # narrow enough for a phone (400 px) while the messages are empty
        "run": st.column_config.TextColumn(width=104),
        "state": st.column_config.TextColumn(width=70),
        "message": st.column_config.TextColumn(width=62),
        "test accuracy": st.column_config.NumberColumn("accuracy", format="percent", width=72, help="On the test set"),
        "shipped": st.column_config.CheckboxColumn(width=56),
    },
)

own = [r for r in rows if not r["shipped"]]
if own:
    folders = {r["run"]: r["folder"] for r in own}
    chosen = st.selectbox("Manage a run", list(folders), key="manage_run")
    folder = folders[chosen]
    state = jobs.run_state(folder)
    if state["state"] in (runs.STATE_FAILED, runs.STATE_CANCELLED):
        st.warning(
            f"{markup.code(chosen)} is {state['state']}: {markup.message(state.get('message', ''))}",
            icon=":material/warning:",
        )
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
            st.error(markup.message(exc))
        else:
            st.rerun()
    if right.button("Delete", icon=":material/delete:", key="delete"):
        try:
            jobs.delete_run(folder)
        except (jobs.JobError, OSError) as exc:
            st.error(markup.message(exc))
        else:
            st.toast(f"Deleted {markup.code(chosen)}")
            st.rerun()
