"""Per-run analyses computed in the background on demand (the maps' scorecard, the channel atlas, the
feature-space map): never in the server's own process.

A run that lacks one gets the reason, then: a live progress bar while it is being computed, a button
that starts it in the machine's one job slot, or why that is not possible here. Each analysis is
described once (``Analysis``), so every page offers it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import streamlit as st

from analysis import markup
from dashboard import ui
from runfolder import runs
from training import jobs


@dataclass(frozen=True)
class Analysis:
    name: str  # "scorecard", "channel atlas"
    module: str  # the command's module, as jobs records it
    result_file: str
    progress_file: str
    start: Callable  # jobs.start_scorecard(folder) or jobs.start_atlas(folder)
    button: str  # the button's label
    duration: str  # how long the full command takes, for the shipped runs' advice
    phases: dict  # phase in the progress file -> words


SCORECARD = Analysis(
    "scorecard",
    jobs.SCORECARD_MODULE,
    runs.FAITHFULNESS_FILE,
    runs.SCORECARD_PROGRESS_FILE,
    jobs.start_scorecard,
    "Compute the scorecard ({images} images, about half an hour)",
    "about two hours on 2 CPU cores",
    {"curves": "deletion and insertion curves", "randomisation": "randomisation check"},
)
ATLAS = Analysis(
    "channel atlas",
    jobs.ATLAS_MODULE,
    runs.ATLAS_FILE,
    runs.ATLAS_PROGRESS_FILE,
    jobs.start_atlas,
    "Compute the channel atlas (about 15 minutes on 2 cores)",
    "about 15 minutes on 2 CPU cores",
    {"top images": "top images", "knock-outs": "knock-outs, layer", "feature visualisations": "visualisations, layer"},
)
EMBEDDING = Analysis(
    "feature-space map",
    jobs.EMBEDDING_MODULE,
    runs.EMBEDDING_FILE,
    runs.EMBEDDING_PROGRESS_FILE,
    jobs.start_embedding,
    "Compute the map (1-3 minutes on 2 cores)",
    "1-3 minutes on 2 CPU cores",
    {"t-SNE": "t-SNE, per cent"},
)
ANALYSES = {analysis.module: analysis for analysis in (SCORECARD, ATLAS, EMBEDDING)}


def show_progress(analysis: Analysis, state: dict) -> None:
    """A progress bar for an analysis' progress file (phase, done of total)."""
    total = state.get("total") or 1
    phase = analysis.phases.get(state.get("phase"), "starting TensorFlow")
    st.progress(
        min(state.get("done", 0) / total, 1.0),
        text=f"Computing the {analysis.name}: {phase}, {state.get('done', 0)} of {total}",
    )


@st.fragment(run_every=2)
def _live_progress(analysis: Analysis, folder) -> None:
    """Redraws itself every 2 s; reloads the page when the result is there."""
    state = runs.read_json(folder / analysis.progress_file, default={}) or {}
    job = jobs.current_job()
    if job is None or job.folder != folder:
        if (folder / analysis.result_file).is_file():
            st.rerun(scope="app")
        st.warning(f"The {analysis.name} computation stopped before it finished; start it again to continue.")
        return
    show_progress(analysis, state)


def offer(analysis: Analysis, run: runs.RunInfo, problem) -> None:
    """Why the run has no usable result, then progress, a start button or why not; then st.stop()."""
    st.info(markup.message(problem), icon=":material/pending:")
    job = jobs.current_job()
    if job is not None and job.folder == run.folder and job.module == analysis.module:
        _live_progress(analysis, run.folder)
    elif run.shipped:
        folder = run.folder.relative_to(runs.REPO_ROOT)
        st.markdown(
            f"The shipped runs come with their {analysis.name}. Restore the file with "
            f"{markup.code(f'git checkout -- {folder}', 300)}, or compute it with "
            + markup.code(f"python -m {analysis.module} --run {folder} --rebuild-shipped", 300)
            + f" ({analysis.duration})."
        )
    elif jobs.retraining_disabled(ui.secrets()):
        st.markdown("Background computation is switched off on this server.")
    elif job is not None:
        st.markdown("Another background job is running on this machine; try again when it has finished.")
    else:
        images = jobs.scorecard_sample()[0] or jobs.APP_SCORECARD_IMAGES
        if st.button(
            analysis.button.format(images=images), icon=":material/play_arrow:", key=f"start_{analysis.module}"
        ):
            try:
                analysis.start(run.folder)
            except (jobs.JobError, runs.RunFolderError) as exc:
                st.error(markup.message(exc))
            else:
                st.rerun()
    st.stop()
