"""Widgets of the trust layer: the scorecard's life cycle (read it, or compute it with progress) and
the per-image faithfulness test of the Saliency page."""

from __future__ import annotations

import streamlit as st

from analysis import markup, trust
from dashboard import charts, ui
from training import jobs, runs


@st.fragment(run_every=2)
def _progress(folder) -> None:
    """A progress bar for a scorecard being computed; reloads the page when it is done."""
    state = runs.read_json(folder / runs.SCORECARD_PROGRESS_FILE, default={}) or {}
    job = jobs.current_job()
    if job is None or job.folder != folder:
        if (folder / runs.FAITHFULNESS_FILE).is_file():
            st.rerun(scope="app")
        st.warning("The scorecard computation stopped before it finished; start it again to continue.")
        return
    scorecard_progress(state)


def scorecard_progress(state: dict) -> None:
    """A progress bar for a scorecard's progress file (phase, images done of total)."""
    total = state.get("total") or 1
    phase = {"curves": "deletion and insertion curves", "randomisation": "randomisation check"}.get(
        state.get("phase"), "starting TensorFlow"
    )
    st.progress(
        min(state.get("done", 0) / total, 1.0),
        text=f"Scoring the maps' faithfulness: {phase}, {state.get('done', 0)} of {total} images",
    )


def scorecard_or_offer(run: runs.RunInfo) -> dict:
    """The run's scorecard; otherwise why not, a button that computes it in the background, and st.stop()."""
    try:
        return ui.scorecard(run.folder)
    except trust.ScorecardError as exc:
        problem = str(exc)
    st.info(markup.message(problem), icon=":material/pending:")
    job = jobs.current_job()
    if job is not None and job.folder == run.folder:
        _progress(run.folder)
    elif run.shipped:
        folder = run.folder.relative_to(runs.REPO_ROOT)
        st.markdown(
            f"The shipped runs come with their scorecards. Restore the file with "
            f"{markup.code(f'git checkout -- {folder}')}, or compute it with "
            f"{markup.code(f'python -m explain.scorecard --run {folder}')} (under an hour on 2 CPU cores)."
        )
    elif jobs.retraining_disabled(ui.secrets()):
        st.markdown("Background computation is switched off on this server.")
    elif job is not None:
        st.markdown("Another background job is running on this machine; try again when it has finished.")
    else:
        images, cascade_images = jobs.scorecard_sample()
        images = images or jobs.APP_SCORECARD_IMAGES
        if st.button(
            f"Compute the scorecard ({images} images, a few minutes)", icon=":material/play_arrow:", key="score"
        ):
            try:
                jobs.start_scorecard(run.folder)
            except (jobs.JobError, runs.RunFolderError) as exc:
                st.error(markup.message(exc))
            else:
                st.rerun()
    st.stop()


def per_image_test(net, image, saliency_values, target: int, method_label: str, class_name: str, seed: int) -> None:
    """Deletion and insertion of this image in the map's order against the fair controls, and the verdict.

    One model call for the map and all controls (three random orders, garment pixels, edges)."""
    from explain import faithfulness as fa
    from explain.saliency import predict_in_chunks

    verdict = fa.image_verdict(lambda batch: predict_in_chunks(net, batch), image, saliency_values, target, seed=seed)
    left, right = st.columns(2)
    for column, test in zip((left, right), fa.TESTS):
        controls = {name: getattr(curves, test).mean(axis=0) for name, curves in verdict.control_curves.items()}
        figure = charts.faithfulness_chart(
            test, getattr(verdict.map_curves, test)[0], controls, method_label, class_name, fa.CONTROL_LABELS
        )
        column.plotly_chart(figure, width="stretch", key=f"image_{test}")
    st.markdown(f"On this image the {method_label} order {fa.verdict_sentence(verdict)}.")
