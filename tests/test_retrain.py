"""Retraining through the page's logic (training.jobs): background runs, cancel, resume, one at a time."""

import os
import signal
import time

import pytest
from streamlit.testing.v1 import AppTest

from runfolder import runs
from tests.conftest import REPO_ROOT, app_pages, run_selector
from training import device, jobs
from training.config import TrainConfig
from training.paths import shown_path


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
    option = device.BackendOption("tensorflow", "CPU")
    job = jobs.start_job(TrainConfig(epochs=1, limit=512), "tiny", option)
    assert jobs.current_job().folder == job.folder
    recorded = runs.read_json(job.folder / jobs.JOB_FILE)
    assert recorded["argv"][recorded["argv"].index("--backend") + 1] == "tensorflow"  # Resume reuses it
    assert jobs.job_device(job.folder) == "TensorFlow on the CPU"
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
    assert run_selector(at).value == "tiny"
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
    # Enough epochs that the cancel, sent after the page's render on a busy machine, comes during training.
    job = jobs.start_job(TrainConfig(epochs=8, limit=1024), "cancel-me")
    wait_for_epochs(job, 1)
    at = AppTest.from_file(str(REPO_ROOT / app_pages()["Retrain"]), default_timeout=180).run()
    live = [c.proto for c in at.get("plotly_chart")]  # the running job's curves, with alt text
    assert live and all(c.alt.startswith("Line charts of the running job's") for c in live), at.exception
    assert jobs.cancel_job()
    assert jobs.wait_for(job, 300) == runs.STATE_CANCELLED, (jobs.run_state(job.folder), jobs.log_tail(job.folder))
    done = runs.read_history_rows(job.folder / runs.HISTORY_FILE)
    assert 1 <= len(done) <= 8  # a cancel after the last epoch, while the results are written, resumes too
    assert "cancel-me" not in [r.name for r in runs.list_runs()]  # unfinished runs are not offered

    resumed = jobs.resume_job(job.folder)
    assert jobs.wait_for(resumed, 600) == runs.STATE_COMPLETE, jobs.log_tail(job.folder)
    final = runs.read_history_rows(job.folder / runs.HISTORY_FILE)
    assert [r["epoch"] for r in final] == list(range(1, 9))
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


# --------------------------------------------------------------------------- backends, devices, estimates

H200 = device.BackendOption("jax", "NVIDIA H200", gpu=True)
TF_CPU = device.BackendOption("tensorflow", "CPU")


def fake_machine(installed=("tensorflow", "jax"), driver=True, sees=None):
    """backend_options' three detectors for a machine that has ``installed``, an NVIDIA driver or not, and
    whose backends see the devices in ``sees`` (backend -> (is a GPU, name)); probes are counted."""
    sees = {"tensorflow": (False, "CPU"), "jax": (False, "CPU"), **(sees or {})}
    asked = []

    def probe(backend):
        asked.append(backend)
        return sees[backend]

    return {"installed": lambda name: name in installed, "driver_present": lambda: driver, "probe": probe}, asked


def test_jax_is_offered_first_where_it_sees_a_gpu():
    detectors, _ = fake_machine(sees={"jax": (True, "NVIDIA H200"), "tensorflow": (False, "CPU")})
    options = device.backend_options(**detectors)
    assert options == [H200, TF_CPU]
    assert [o.label for o in options] == ["JAX on NVIDIA H200 (GPU)", "TensorFlow on the CPU"]


def test_without_a_driver_nothing_is_started_and_only_tensorflow_on_the_cpu_is_offered():
    detectors, asked = fake_machine(driver=False)
    assert device.backend_options(**detectors) == [TF_CPU]
    assert asked == []  # no child process, no half a GB of TensorFlow


def test_jax_on_a_cpu_is_not_offered():
    detectors, asked = fake_machine()
    assert device.backend_options(**detectors) == [TF_CPU]
    assert asked == ["jax", "tensorflow"]


def test_a_gpu_machine_without_tensorflow_offers_jax_alone():
    detectors, _ = fake_machine(installed=("jax",), sees={"jax": (True, "NVIDIA H100 80GB HBM3")})
    assert device.backend_options(**detectors) == [device.BackendOption("jax", "NVIDIA H100 80GB HBM3", gpu=True)]
    tf_gpu, _ = fake_machine(installed=("tensorflow",), sees={"tensorflow": (True, "NVIDIA A100")})
    assert device.backend_options(**tf_gpu)[0].label == "TensorFlow on NVIDIA A100 (GPU)"


@pytest.mark.skipif(not device.module_installed("jax"), reason="JAX is not installed (requirements-dev.txt)")
def test_the_real_probe_asks_jax_in_a_child_process():
    import subprocess
    import sys

    # In a fresh interpreter: in this one, any earlier test's `import keras` has imported JAX already (Keras 3
    # imports it when it is installed).
    code = (
        "import sys; from training import device; gpu, name = device.probe_device('jax'); "
        "print(gpu, name, 'jax' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    *answer, imported = done.stdout.split()
    assert answer == ["False", "CPU"] or answer[0] == "True"  # this machine's answer, whatever it has
    assert imported == "False"  # asked in a child: the caller never imports JAX


def test_estimates_scale_with_epochs_and_images():
    full = device.estimate(TF_CPU, TrainConfig(epochs=10))
    measured = device.MEASURED[("tensorflow", False)]
    assert full.seconds_per_epoch == pytest.approx(measured.seconds_per_epoch)  # 55,000 images: as measured
    assert full.seconds == pytest.approx(
        10 * measured.seconds_per_epoch + measured.first_epoch_extra + measured.overhead
    )
    half = device.estimate(TF_CPU, TrainConfig(epochs=10, limit=30_000, val_size=2_500))  # 27,500 to train
    assert half.seconds_per_epoch == pytest.approx(measured.seconds_per_epoch / 2)
    gpu = device.estimate(H200, TrainConfig(epochs=30))
    assert gpu.seconds_per_epoch == pytest.approx(2.4) and gpu.seconds < 2.5 * 60  # about two minutes
    # The original recipe's batch of 32 takes 4x the steps: measured 7.8 s an epoch on the H200 (2.4 s at 128).
    original = device.estimate(H200, TrainConfig.original_recipe())
    assert original.seconds_per_epoch == pytest.approx(7.8, rel=0.02)
    assert device.estimate(device.BackendOption("jax", "CPU"), TrainConfig()) is None


def test_estimate_text_states_it_is_an_estimate_and_where_it_was_measured():
    text = device.estimate_text(H200, TrainConfig(epochs=30), scorecard_images=100)
    total = device.duration(device.estimate(H200, TrainConfig(epochs=30)).seconds)
    assert text.startswith(f"Estimated time: about {total} (30 epochs × about 2.4 s")
    assert "measured by benchmarks/gpu_epoch.py on an NVIDIA H200" in text and "score the saliency maps" in text
    one = device.estimate_text(TF_CPU, TrainConfig(epochs=1, limit=512))
    assert "(1 epoch ×" in one and "AMD EPYC" in one and "saliency" not in one
    assert device.estimate_text(device.BackendOption("torch", "CPU"), TrainConfig()).startswith("No time estimate")
    # A real run's pace beside the quiet-machine figure (the Learning curves page shows the shipped run's time)
    paced = device.estimate_text(TF_CPU, TrainConfig(epochs=1), observed=[55.3, 93.6, 142.7, 90.0])
    assert "took 55-143 s per epoch (median 92 s)" in paced and "took" not in one
    assert "took" not in device.estimate_text(H200, TrainConfig(epochs=1), observed=[55.3, 93.6])  # not how it trained


def test_paths_are_shown_relative_to_the_project(monkeypatch, tmp_path):
    assert shown_path(REPO_ROOT / "runs" / "run-1") == "runs/run-1"
    assert shown_path(REPO_ROOT) == "."
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert shown_path(tmp_path / "elsewhere" / "run-1") == "$TGN_RUNS_DIR/run-1"
    assert shown_path(tmp_path / "other" / "run-2") == "…/run-2"  # never the server's layout
    assert jobs.command_for(TrainConfig(epochs=1), tmp_path / "r", "jax")[-2:] == ["--backend", "jax"]
    assert "--backend" not in jobs.command_for(TrainConfig(epochs=1), tmp_path / "r")


def retrain_page(monkeypatch, options):
    import streamlit as st

    monkeypatch.setattr(device, "backend_options", lambda: options)
    st.cache_data.clear()  # the page caches the detection for an hour
    at = AppTest.from_file(str(REPO_ROOT / app_pages()["Retrain"]), default_timeout=120)
    return at.run()


def page_text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error])


def test_the_page_offers_jax_on_a_gpu_names_it_and_estimates_before_start(monkeypatch, runs_dir):
    at = retrain_page(monkeypatch, [H200, TF_CPU])
    assert not at.exception
    choice = at.selectbox(key="backend")
    assert choice.options == ["JAX on NVIDIA H200 (GPU)", "TensorFlow on the CPU"] and choice.value == H200.label
    five = device.duration(device.estimate(H200, TrainConfig(epochs=5)).seconds)
    assert f"Estimated time: about {five} (5 epochs × about 2.4 s" in page_text(at)
    at.number_input(key="epochs").set_value(30).run()
    thirty = device.duration(device.estimate(H200, TrainConfig(epochs=30)).seconds)
    assert f"about {thirty} (30 epochs" in page_text(at) and thirty != five
    choice.set_value(TF_CPU.label).run()
    assert "(30 epochs × about" in page_text(at) and "AMD EPYC" in page_text(at)
    text = page_text(at)
    assert "saved in `$TGN_RUNS_DIR`" in text and str(runs_dir) not in text  # not the server's path
    at.number_input(key="epochs").set_value(0).run()
    assert "appears once the settings are valid" in page_text(at) and "Estimated" not in page_text(at)


def test_the_page_names_the_one_backend_there_is(monkeypatch):
    at = retrain_page(monkeypatch, [TF_CPU])
    assert not at.exception
    assert "New runs train with **TensorFlow on the CPU**." in page_text(at)
    history = runs.load_results(runs.SHIPPED_RUNS["shipped"]).history["seconds"]  # the shipped run's own pace
    assert f"took {history.min():.0f}-{history.max():.0f} s per epoch" in page_text(at)
    assert "backend" not in [s.key for s in at.selectbox]
    nothing = retrain_page(monkeypatch, [])
    assert "Neither TensorFlow nor JAX" in page_text(nothing) and not nothing.get("form")
