"""Retraining through the page's logic (training.jobs): background runs, cancel, resume, one at a time."""

import os
import signal
import time

import pytest
from streamlit.testing.v1 import AppTest

from runfolder import runs
from tests.conftest import REPO_ROOT, app_pages
from training import jobs
from training.config import TrainConfig


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(jobs.SCORECARD_IMAGES_ENV, "0")  # scorecards after training: only where a test asks
    yield tmp_path / "runs"
    jobs.cancel_job()


def wait_for_epochs(job, count, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline and jobs.job_alive(job):
        if len(runs.read_history_rows(job.folder / runs.HISTORY_FILE)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no epoch {count} within {timeout} s:\n{jobs.log_tail(job.folder)}")


def test_tiny_run_appears_in_the_selector_with_its_confusion_matrix():
    job = jobs.start_job(TrainConfig(epochs=1, limit=512), "tiny")
    assert jobs.current_job().folder == job.folder
    assert jobs.wait_for(job, 600) == runs.STATE_COMPLETE, jobs.log_tail(job.folder)
    assert jobs.current_job() is None
    assert "tiny" in [r.name for r in runs.list_runs()]
    overview = {row["run"]: row for row in jobs.runs_overview()}
    assert overview["tiny"]["state"] == runs.STATE_COMPLETE and not overview["tiny"]["shipped"]
    assert 0.0 < overview["tiny"]["test accuracy"] <= 1.0
    assert all(overview[name]["shipped"] for name in runs.SHIPPED_RUNS)

    at = AppTest.from_file(str(REPO_ROOT / app_pages()["Confusion matrix"]), default_timeout=180)
    at.session_state["selected_run"] = "tiny"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "tiny"
    matrix = at.dataframe[0].value
    assert matrix.shape == (10, 10) and matrix.to_numpy().sum() == 10_000


def test_second_start_is_refused_while_one_runs():
    first = jobs.start_job(TrainConfig(epochs=2, limit=512), "first")
    with pytest.raises(jobs.JobError, match="already in progress"):
        jobs.start_job(TrainConfig(epochs=1, limit=512), "second")
    assert not (runs.runs_dir() / "second").exists()
    assert jobs.runs_overview()[len(runs.SHIPPED_RUNS)]["state"] == runs.STATE_RUNNING
    jobs.cancel_job()
    jobs.wait_for(first, 300)


def test_cancel_then_resume_continues_from_the_checkpoint():
    job = jobs.start_job(TrainConfig(epochs=3, limit=1024), "cancel-me")
    wait_for_epochs(job, 1)
    assert jobs.cancel_job()
    assert jobs.wait_for(job, 300) == runs.STATE_CANCELLED
    done = runs.read_history_rows(job.folder / runs.HISTORY_FILE)
    assert 1 <= len(done) < 3
    assert "cancel-me" not in [r.name for r in runs.list_runs()]  # unfinished runs are not offered

    resumed = jobs.resume_job(job.folder)
    assert jobs.wait_for(resumed, 600) == runs.STATE_COMPLETE, jobs.log_tail(job.folder)
    final = runs.read_history_rows(job.folder / runs.HISTORY_FILE)
    assert [r["epoch"] for r in final] == [1, 2, 3]
    assert final[0]["finished_at"] == done[0]["finished_at"]
    assert f"Resuming from the checkpoint after epoch {len(done)}" in jobs.log_tail(job.folder, 200)


def test_killed_process_shows_as_failed_with_its_log_and_can_be_deleted():
    job = jobs.start_job(TrainConfig(epochs=3, limit=1024), "doomed")
    wait_for_epochs(job, 1)
    os.kill(job.pid, signal.SIGKILL)
    jobs.wait_for(job, 60)
    state = jobs.run_state(job.folder)
    assert state["state"] == runs.STATE_FAILED and "stopped unexpectedly" in state["message"]
    assert "Epoch 1/3" in jobs.log_tail(job.folder)
    jobs.delete_run(job.folder)
    assert not job.folder.exists()


def test_shipped_runs_cannot_be_deleted():
    with pytest.raises(jobs.JobError, match="cannot be deleted"):
        jobs.delete_run(runs.SHIPPED_RUNS["shipped"])
    assert (runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE).is_file()


def test_unwritable_runs_directory_gives_a_clear_message(monkeypatch, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(blocker / "runs"))
    with pytest.raises(jobs.JobError, match="Cannot write to the runs directory"):
        jobs.start_job(TrainConfig(epochs=1, limit=512))


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a/b", "spaced name"])
def test_run_names_that_would_leave_the_runs_directory_are_refused(name, runs_dir):
    with pytest.raises(jobs.JobError, match="run name"):
        jobs.start_job(TrainConfig(epochs=1, limit=512), name)
    assert jobs.current_job() is None
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
    assert not (runs_dir.parent / "escape").exists()


def test_invalid_settings_never_start_a_process():
    with pytest.raises(jobs.JobError, match="batch_size must be between"):
        jobs.start_job(TrainConfig(epochs=1, batch_size=1, limit=512))
    assert jobs.current_job() is None


def test_disabled_switch_reads_environment_and_secrets(monkeypatch):
    monkeypatch.delenv(jobs.DISABLE_ENV, raising=False)
    assert not jobs.retraining_disabled({})
    assert jobs.retraining_disabled({"disable_retraining": True})
    monkeypatch.setenv(jobs.DISABLE_ENV, "1")
    assert jobs.retraining_disabled({})


def test_a_run_from_the_app_scores_its_maps_after_training(monkeypatch):
    import json

    monkeypatch.setenv(jobs.SCORECARD_IMAGES_ENV, "10")
    job = jobs.start_job(TrainConfig(epochs=1, limit=512), "scored")
    assert "--scorecard-images" in " ".join(runs.read_json(job.folder / jobs.JOB_FILE)["argv"])
    assert jobs.wait_for(job, 900) == runs.STATE_COMPLETE, jobs.log_tail(job.folder)
    card = json.loads((job.folder / runs.FAITHFULNESS_FILE).read_text())
    assert card["sample"]["images"] == 10 and card["sample"]["cascade_images"] == 2  # the smaller sample, stated
    assert card["model_sha256"] == runs.file_sha256(job.folder / runs.MODEL_FILE)
    assert len(card["entries"]) == 28 and card["default"]["key"] in card["entries"]

    at = AppTest.from_file(str(REPO_ROOT / app_pages()["Can the maps be trusted?"]), default_timeout=120)
    at.session_state["selected_run"] = "scored"
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="entry").value == card["default"]["key"]
    assert "Measured on 10 test images" in at.caption[0].value
