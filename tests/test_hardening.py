"""Regression tests for the sixteen faults of the hardening issue (13), numbered as there.

Each test reproduces a fault through the CLI, ``training.jobs`` or AppTest and fails on the
code before the fix.
"""

import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import markdown_it
import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import markup
from analysis.query import QueryReader
from runfolder import runs, schema
from tests.conftest import REPO_ROOT, app_pages, run_selector, run_training
from tests.test_app import home_accuracy
from training import jobs
from training.config import TrainConfig

SHIPPED = runs.SHIPPED_RUNS["shipped"]
ORIGINAL = runs.SHIPPED_RUNS["original-recipe"]
PAGES = app_pages()
SHOWS_RESULTS = [p for p in PAGES if p != "Retrain"]  # the Retrain page reads no result file


@pytest.fixture(autouse=True)
def isolated_runs(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(jobs.SCORECARD_IMAGES_ENV, "0")
    monkeypatch.delenv(jobs.DISABLE_ENV, raising=False)
    yield tmp_path / "runs"
    jobs.cancel_job()
    st.cache_data.clear()


def app(page: str, session: dict | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / PAGES[page]), default_timeout=180)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def rendered(markdown: str) -> str:
    """What a reader sees of some Markdown: its text, tags removed (CommonMark, as Streamlit parses it)."""
    html_text = markdown_it.MarkdownIt("commonmark").render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", html_text)).strip()


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".train.lock"))
    return target


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def wait_until(condition, timeout=300, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --------------------------------------------------------------------------- 1. cancel never hits another process


@pytest.fixture
def unrelated_process():
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("lock_format", ["old", "new-but-not-training"])
def test_1_a_lock_naming_an_unrelated_process_is_stale_and_it_is_never_signalled(
    lock_format, unrelated_process, isolated_runs
):
    import psutil

    isolated_runs.mkdir(parents=True)
    lock = {"pid": unrelated_process.pid, "folder": str(isolated_runs / "x"), "started_at": time.time()}
    if lock_format != "old":  # right pid and start time, but the command line is not our training CLI
        lock |= {"create_time": psutil.Process(unrelated_process.pid).create_time(), "stage": "running"}
    (isolated_runs / jobs.LOCK_NAME).write_text(json.dumps(lock))

    assert jobs.current_job() is None
    assert not (isolated_runs / jobs.LOCK_NAME).exists()  # stale: removed
    assert jobs.cancel_job() is False
    at = app("Retrain")  # offers a new run instead of "Starting TensorFlow" for ever
    assert not at.exception and at.get("form")
    time.sleep(0.2)
    assert unrelated_process.poll() is None, "the unrelated process was signalled"


def test_1_a_reused_pid_is_not_the_job(isolated_runs):
    """The lock's pid now belongs to this very process (as after a restart), with another start time."""
    isolated_runs.mkdir(parents=True)
    lock = {
        "pid": os.getpid(),
        "create_time": 1.0,
        "folder": str(isolated_runs / "x"),
        "stage": "running",
        "started_at": time.time(),
    }
    (isolated_runs / jobs.LOCK_NAME).write_text(json.dumps(lock))
    assert jobs.current_job() is None
    assert jobs.cancel_job() is False  # and this test process is still here to say so


# --------------------------------------------------------------------------- 2. the shipped model is never overwritten


@pytest.mark.parametrize(
    "out",
    [
        "model/shipped",
        "./model/../model/shipped/",
        str(SHIPPED),
        "baselines/original_recipe",
        "model/shipped/inside",
        "symlink",
    ],
)
def test_2_cli_refuses_to_write_into_a_shipped_run(out, tmp_path):
    if out == "symlink":
        out = tmp_path / "link"
        out.symlink_to(SHIPPED)
    before = {name: digest(SHIPPED / name) for name in runs.RESULT_FILES}
    result = run_training(["--epochs", "1", "--limit", "512", "--out", out, "--force"], timeout=120)
    assert result.returncode == 2, result.stderr
    assert "never overwritten" in result.stderr and "--rebuild-shipped" in result.stderr
    assert "Traceback" not in result.stderr
    assert {name: digest(SHIPPED / name) for name in runs.RESULT_FILES} == before
    assert not (SHIPPED / "inside").exists()


def test_2_messages_never_suggest_writing_into_a_shipped_run():
    for folder in runs.SHIPPED_RUNS.values():
        command = runs.recreate_command(folder)
        target = REPO_ROOT / command.split("--out ")[1]
        assert target.parent == runs.runs_dir() and runs.shipped_run_at(target) is None
        assert "git checkout -- " in runs.restore_advice(folder)


# --------------------------------------------------------------------------- 3. a full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 80 MB tmpfs (needs root and mount rights: true on the project's machines and CI)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=80m", "tmpfs", str(mount_point)], capture_output=True
        ).returncode
    ):
        pytest.skip("a small file system needs root and permission to mount a tmpfs")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_3_full_disk_fails_cleanly_and_resumes_from_the_last_good_checkpoint(small_disk):
    folder = small_disk / "run"
    args = ["--epochs", "3", "--limit", "4096", "--out", folder]
    process = run_training(args, background=True)
    from training import snapshots

    # Epoch 1 is done once its snapshot is: its history row, checkpoint and snapshot are written in that order.
    wait_until(lambda: snapshots.answers_path(folder, 1).is_file(), what="epoch 1")
    free = shutil.disk_usage(small_disk).free
    with open(small_disk / "ballast", "wb") as f:  # leave 3 MB: less than a checkpoint needs
        f.write(b"\0" * (free - 3 * 2**20))
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 1, output[-3000:]  # not 139: no crash
    status = runs.read_status(folder)
    assert status["state"] == runs.STATE_FAILED and "No space left on the device" in status["message"]
    assert "free some space" in status["message"]
    assert (folder / runs.CHECKPOINT_DIR / "backup" / "epoch-0001.weights.h5").is_file()

    (small_disk / "ballast").unlink()
    result = run_training(args, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Resuming from the checkpoint after epoch 1" in result.stdout
    assert [r["epoch"] for r in runs.read_history_rows(folder / runs.HISTORY_FILE)] == [1, 2, 3]
    assert runs.read_status(folder)["state"] == runs.STATE_COMPLETE


def test_3_resume_skips_a_damaged_checkpoint_for_the_last_good_one(tmp_path):
    import keras

    import model as tgn
    from training.checkpoint import checkpoint_name, make_backup_callback, saved_epochs

    net = tgn.build_tiny_googlenet()
    net.compile(optimizer=keras.optimizers.AdamW(), loss="categorical_crossentropy")
    backup = make_backup_callback(tmp_path)
    backup.set_model(net)
    backup.save(2)
    saved = [w.numpy().copy() for w in net.weights]
    (tmp_path / checkpoint_name(3)).write_bytes(b"half a file")  # a crash in an old version's write
    assert saved_epochs(tmp_path) == [3, 2]

    fresh = tgn.build_tiny_googlenet()
    fresh.compile(optimizer=keras.optimizers.AdamW(), loss="categorical_crossentropy")
    restore = make_backup_callback(tmp_path)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._initial_epoch == 2
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(saved, fresh.weights))


def test_3_job_runner_marks_a_run_failed_when_its_process_dies_without_saying_so():
    job = jobs.start_job(TrainConfig(epochs=3, limit=1024), "killed")
    wait_until(lambda: runs.read_status(job.folder).get("message") == "Training", what="training to start")
    os.kill(job.pid, signal.SIGKILL)  # the process cannot write its own status
    jobs.wait_for(job, 60)
    status = runs.read_status(job.folder)  # on disk, not only computed on the fly
    assert status["state"] == runs.STATE_FAILED
    assert "SIGKILL" in status["message"] and "Resume" in status["message"], jobs.log_tail(job.folder)


# --------------------------------------------------------------------------- 4. no markdown injection

ATTACK = (
    "x` ![t](http://HOST/pixel.png) [Your session expired, log in here](https://evil.example/login) "
    ":red[**WARNING: model compromised**] `y"
)


def assert_inert(markdown: str, value: str | None = None) -> None:
    """``markdown`` holds no link, image, HTML or emphasis, and no part of an attack outside code
    spans; if ``value`` is given, its start is shown literally in a code span."""
    tokens = markdown_it.MarkdownIt("commonmark").parse(markdown)
    inline = [child for token in tokens if token.children for child in token.children]
    kinds = {t.type for t in inline}
    assert not kinds & {"link_open", "image", "html_inline", "strong_open", "em_open"}, kinds
    plain = "".join(t.content for t in inline if t.type == "text")
    for fragment in ("HOST", "evil.example", ":red[", "WARNING", "![", "]("):
        assert fragment not in plain, plain
    if value is not None:
        assert value[:20] in "".join(t.content for t in inline if t.type == "code_inline")


@pytest.mark.parametrize(
    "page, parameter", [("Mistakes", "sort"), ("Saliency", "method"), ("Confusion matrix", "true")]
)
def test_4_a_link_value_is_never_markdown(page, parameter):
    at = app(page, **{parameter: ATTACK})
    assert not at.exception
    notices = [i.body for i in at.info if i.body.startswith("Ignored")]
    assert notices, [i.body for i in at.info]
    for notice in notices:
        assert_inert(notice, ATTACK)


def test_4_long_values_are_shortened_and_any_backticks_stay_inside_the_span():
    reader = QueryReader({"sort": "`" * 7 + "a" * 5000, "index": "``\n![x](http://HOST/p.png)"})
    reader.choice("sort", ["confidence"], "confidence")
    reader.integer("index", 0, 0, 9)
    assert all(len(n) < 200 for n in reader.notices)
    for notice in reader.notices:
        assert_inert(notice)
    joiner = markup.WORD_JOINER  # stops GFM's autolinking of bare URLs, which runs after escapes are resolved
    assert markup.escape("[a](http://e.x) :red[b] www.evil.example") == (
        rf"\[a\]\(http{joiner}\:\/\/e\.x\) \:red\[b\] www{joiner}\.evil\.example"
    )


def test_4_run_names_and_messages_are_shown_literally(isolated_runs):
    hostile = "x` [log in](evil.example) :red[WARNING] `y"  # a folder name cannot hold a slash
    copy_run(ORIGINAL, isolated_runs / hostile)
    at = app("Home", session={"selected_run": hostile})
    assert not at.exception
    heading = next(s.value for s in at.subheader if s.value.startswith("The model"))
    assert_inert(heading, hostile)
    assert_inert(markup.message(f"Run folder {hostile} is corrupt. Restore it with `git checkout -- x`."))


# --------------------------------------------------------------------------- 5. a corrupt model file


def _zip_with_other_contents(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a model")


@pytest.mark.parametrize("damage", ["truncated", "random bytes", "zip with other contents"])
@pytest.mark.parametrize("page", ["Saliency", "Inception branches"])
def test_5_a_corrupt_model_file_gives_a_clear_message_and_is_marked_in_the_selector(page, damage, isolated_runs):
    folder = copy_run(SHIPPED, isolated_runs / "broken-model")
    model_file = folder / runs.MODEL_FILE
    if damage == "truncated":
        model_file.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    elif damage == "random bytes":
        model_file.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        _zip_with_other_contents(model_file)
    at = app(page, session={"selected_run": "broken-model"})
    assert not at.exception, at.exception
    errors = [rendered(e.value) for e in at.error]
    assert any("The model cannot be loaded" in e and "model.keras" in e for e in errors), errors
    selector = run_selector(at)
    assert selector.value == "broken-model"
    assert "broken-model (model file unreadable)" in selector.options and "Shipped model" in selector.options


# --------------------------------------------------------------------------- 6. a truncated outputs file


@pytest.mark.parametrize("page", SHOWS_RESULTS)
def test_6_a_truncated_outputs_file_gives_the_cannot_be_shown_message(page, isolated_runs):
    folder = copy_run(SHIPPED, isolated_runs / "truncated")
    outputs = folder / runs.OUTPUTS_FILE
    outputs.write_bytes(outputs.read_bytes()[: outputs.stat().st_size // 2])
    at = app(page, session={"selected_run": "truncated"})
    assert not at.exception, at.exception
    message = rendered(at.error[0].value)
    assert "This run cannot be shown" in message and "test_outputs.npz: cannot be read" in message


# --------------------------------------------------------------------------- 7. valid files with the wrong content


def _rewrite_json(name, change):
    def apply(folder):
        path = folder / name
        data = json.loads(path.read_text())
        path.write_text(json.dumps(change(data)))

    return apply


def _rewrite_outputs(change):
    def apply(folder):
        with np.load(folder / runs.OUTPUTS_FILE) as stored:
            arrays = {k: stored[k] for k in stored.files}
        change(arrays)
        np.savez_compressed(folder / runs.OUTPUTS_FILE, **arrays)

    return apply


def _set(arrays, **values):
    arrays.update(values)


def _nan_probabilities(arrays):
    arrays["probabilities"] = arrays["probabilities"].copy()
    arrays["probabilities"][:9000] = np.nan


def _shuffled_probabilities(arrays):
    """Valid probabilities that disagree with metrics.json: the model's answers for other images."""
    arrays["probabilities"] = np.roll(arrays["probabilities"], 1, axis=0)


BAD_CONTENT = {
    "metrics is a list": (_rewrite_json("metrics.json", lambda d: []), "metrics.json"),
    "metrics without per_class": (
        _rewrite_json("metrics.json", lambda d: {k: v for k, v in d.items() if k != "per_class"}),
        "per_class",
    ),
    "metrics with strings for numbers": (
        _rewrite_json("metrics.json", lambda d: {**d, "test_accuracy": "0.93"}),
        "test_accuracy",
    ),
    "card is empty": (_rewrite_json("model_card.json", lambda d: {}), "model_card.json"),
    "architecture is an object": (_rewrite_json("architecture.json", lambda d: {"x": 1}), "architecture.json"),
    "history with other columns": (
        lambda folder: (folder / runs.HISTORY_FILE).write_text("a,b\n1,2\n"),
        "history.csv",
    ),
    "labels out of range": (
        _rewrite_outputs(lambda a: _set(a, labels=np.full(10_000, 12, dtype=np.uint8))),
        "labels",
    ),
    "20,000 rows": (
        _rewrite_outputs(lambda a: _set(a, probabilities=np.tile(a["probabilities"], (2, 1)))),
        "probabilities have shape",
    ),
    "100 rows": (
        _rewrite_outputs(lambda a: _set(a, probabilities=a["probabilities"][:100], labels=a["labels"][:100])),
        "probabilities have shape",
    ),
    "NaN probabilities": (_rewrite_outputs(_nan_probabilities), "NaN"),
    "outputs disagree with metrics": (_rewrite_outputs(_shuffled_probabilities), "do not match"),
}


@pytest.mark.parametrize("case", list(BAD_CONTENT))
def test_7_a_run_folder_is_validated_once_when_read(case, tmp_path):
    damage, expected = BAD_CONTENT[case]
    folder = copy_run(SHIPPED, tmp_path / "run")
    damage(folder)
    with pytest.raises(runs.RunFolderError) as caught:
        runs.load_results(folder)
    assert expected in str(caught.value), str(caught.value)
    assert "corrupt" in str(caught.value)


@pytest.mark.parametrize("case", ["metrics with strings for numbers", "NaN probabilities", "card is empty"])
@pytest.mark.parametrize("page", ["Home", "Mistakes", "Learning curves"])
def test_7_pages_show_one_clear_message_instead_of_contradictions(page, case, isolated_runs):
    folder = copy_run(SHIPPED, isolated_runs / "bad")
    BAD_CONTENT[case][0](folder)
    at = app(page, session={"selected_run": "bad"})
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "This run cannot be shown" in at.error[0].value
    assert not at.metric  # no figure from a run that contradicts itself


def test_7_the_shipped_runs_pass_validation():
    for folder in runs.SHIPPED_RUNS.values():
        results = runs.load_results(folder)
        assert results.probabilities.shape == (schema.TEST_IMAGES, 10)


# --------------------------------------------------------------------------- 8. non-ASCII digits in links


@pytest.mark.parametrize("value", ["²", "³", "①", "٣"])
@pytest.mark.parametrize("page", ["Mistakes", "Confusion matrix"])
def test_8_unicode_digits_give_a_notice(page, value):
    at = app(page, true=value)
    assert not at.exception, at.exception
    assert any("not a class" in i.body for i in at.info)


# --------------------------------------------------------------------------- 9. bad --out


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    # root writes through permissions: a read-only mount it is
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)]).returncode:
        pytest.skip("cannot make a read-only folder for root here")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_9_out_naming_a_file_is_one_line_and_exit_2(tmp_path):
    existing = tmp_path / "a-file"
    existing.write_text("x")
    for out in (existing, existing / "below"):
        result = run_training(["--epochs", "1", "--out", out], timeout=120)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "is a file, not a folder" in result.stderr


def test_9_out_in_a_read_only_folder_is_one_line_and_exit_2(read_only_folder):
    result = run_training(["--epochs", "1", "--out", read_only_folder / "run"], timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "cannot be written" in result.stderr


# --------------------------------------------------------------------------- 10. reserved names


@pytest.mark.parametrize("name", ["shipped", "original-recipe", "SHIPPED", "Original-Recipe"])
def test_10_reserved_run_names_are_refused(name, isolated_runs):
    with pytest.raises(jobs.JobError, match="reserved"):
        jobs.start_job(TrainConfig(epochs=1, limit=512), name)
    assert not (isolated_runs / name).exists()


def test_10_the_run_selector_lists_a_few_runs_in_full_and_more_in_a_drop_down_list(isolated_runs):
    from dashboard import ui

    at = app("Home")
    assert not at.exception
    assert [w.label for w in at.sidebar.radio] == ["Model run"] and not at.sidebar.selectbox
    assert run_selector(at).options == [runs.SHIPPED_LABELS[name] for name in runs.SHIPPED_RUNS]
    assert run_selector(at).value == runs.DEFAULT_RUN

    for i in range(ui.RUNS_LISTED_IN_FULL - len(runs.SHIPPED_RUNS) + 1):  # one run more than a list shows
        copy_run(ORIGINAL, isolated_runs / f"copy-{i}")
    at = app("Home", session={"selected_run": "copy-1"})
    assert not at.exception
    assert [w.label for w in at.sidebar.selectbox] == ["Model run"] and not at.sidebar.radio
    assert len(run_selector(at).options) == ui.RUNS_LISTED_IN_FULL + 1
    assert run_selector(at).value == "copy-1"
    run_selector(at).set_value("copy-0").run()  # the choice is kept when the widget is the other kind
    assert run_selector(at).value == "copy-0" and at.session_state[ui.RUN_KEY] == "copy-0"


def test_10_a_folder_with_a_shipped_name_gets_its_own_entry(isolated_runs):
    copy_run(ORIGINAL, isolated_runs / "shipped")  # made by hand or with the CLI
    listed = runs.list_runs()
    names = [r.name for r in listed]
    labels = [runs.run_label(r) for r in listed]
    assert len(set(names)) == len(names) and len(set(labels)) == len(labels)
    assert "runs/shipped" in names

    at = app("Home", session={"selected_run": "runs/shipped"})
    assert not at.exception
    options = run_selector(at).options  # as shown: labels
    assert len(set(options)) == len(options) and "runs/shipped" in options
    accuracy = home_accuracy(at)
    assert accuracy == f"{runs.load_results(ORIGINAL).metrics['test_accuracy']:.2%}"  # the copy, not the real one


# --------------------------------------------------------------------------- 11. unreadable or old locks


@pytest.mark.parametrize("content", ["", "garbage", "{}", "[1, 2]"])
def test_11_an_unreadable_lock_does_not_block_training(content, isolated_runs):
    isolated_runs.mkdir(parents=True)
    (isolated_runs / jobs.LOCK_NAME).write_text(content)
    job = jobs.start_job(TrainConfig(epochs=1, limit=512), "after-garbage")
    assert jobs.current_job().pid == job.pid
    jobs.cancel_job()
    jobs.wait_for(job, 120)


def test_11_a_starting_lock_older_than_a_start_can_take_is_stale(isolated_runs):
    import psutil

    isolated_runs.mkdir(parents=True)
    lock = {
        "pid": os.getpid(),
        "create_time": psutil.Process().create_time(),
        "folder": str(isolated_runs / "x"),
        "stage": "starting",
        "started_at": time.time() - jobs.STARTING_TIMEOUT_S - 1,
    }
    (isolated_runs / jobs.LOCK_NAME).write_text(json.dumps(lock))
    assert jobs.current_job() is None
    lock["started_at"] = time.time()  # a fresh one is respected
    (isolated_runs / jobs.LOCK_NAME).write_text(json.dumps(lock))
    assert jobs.current_job() is not None


# --------------------------------------------------------------------------- 12. two starts at once


def test_12_two_starts_at_the_same_moment_refuse_one_for_the_right_reason(isolated_runs):
    barrier = threading.Barrier(2)
    outcomes = {}

    def start(name):
        barrier.wait()
        try:
            outcomes[name] = jobs.start_job(TrainConfig(epochs=1, limit=512), name)
        except jobs.JobError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=start, args=(name,)) for name in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    started = [v for v in outcomes.values() if isinstance(v, jobs.Job)]
    refused = [v for v in outcomes.values() if isinstance(v, jobs.JobError)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert "starting right now" in str(refused[0]) or "already in progress" in str(refused[0])
    assert "Cannot write" not in str(refused[0])
    loser = next(name for name, v in outcomes.items() if isinstance(v, jobs.JobError))
    assert not (isolated_runs / loser).exists()  # a refused start leaves nothing behind
    jobs.cancel_job()
    jobs.wait_for(started[0], 120)


# --------------------------------------------------------------------------- 13. long names


def test_13_an_overlong_name_is_a_job_error_not_an_os_error():
    with pytest.raises(jobs.JobError, match="at most 100 characters"):
        jobs.start_job(TrainConfig(epochs=1, limit=512), "a" * 300)
    assert jobs.current_job() is None


# --------------------------------------------------------------------------- 14. either switch turns retraining off


def test_14_the_secret_wins_over_an_environment_that_says_0(monkeypatch):
    monkeypatch.setenv(jobs.DISABLE_ENV, "0")
    assert jobs.retraining_disabled({"disable_retraining": True})
    assert jobs.retraining_disabled({"disable_retraining": "true"})
    assert not jobs.retraining_disabled({"disable_retraining": False})
    monkeypatch.setenv(jobs.DISABLE_ENV, "1")
    assert jobs.retraining_disabled({"disable_retraining": False})

    monkeypatch.setenv(jobs.DISABLE_ENV, "0")
    at = AppTest.from_file(str(REPO_ROOT / PAGES["Retrain"]), default_timeout=60)
    at.secrets["disable_retraining"] = True
    at.run()
    assert not at.exception and "switched off" in at.info[0].body
    assert not at.get("form")


# --------------------------------------------------------------------------- 15. a missing shipped model


@pytest.mark.parametrize("page", ["Home", "Confusion matrix", "Saliency", "Retrain"])
def test_15_a_missing_shipped_model_is_said_on_every_page(page, monkeypatch, tmp_path):
    damaged = copy_run(SHIPPED, tmp_path / "shipped")
    (damaged / runs.MODEL_FILE).unlink()
    monkeypatch.setitem(runs.SHIPPED_RUNS, "shipped", damaged)
    at = app(page)
    assert not at.exception, at.exception
    warnings = [rendered(w.body) for w in at.warning]
    assert any("shipped model is missing or broken" in w and "git checkout -- " in w for w in warnings), warnings
    assert run_selector(at).value == "original-recipe"  # the other run stays usable
    if page == "Home":
        assert home_accuracy(at) == "91.91%"


# --------------------------------------------------------------------------- 16. one process per run folder


def test_16_a_second_identical_command_is_refused_while_the_first_runs(tmp_path):
    folder = tmp_path / "run"
    args = ["--epochs", "2", "--limit", "512", "--out", folder]
    first = run_training(args, background=True)
    try:
        wait_until(lambda: runs.read_status(folder).get("state") == runs.STATE_RUNNING, 120, "the first run")
        second = run_training(args, timeout=120)
        assert second.returncode == 2, second.stdout + second.stderr
        assert "another process is writing into" in second.stderr
        assert first.wait(300) == 0
    finally:
        first.kill()
    assert [r["epoch"] for r in runs.read_history_rows(folder / runs.HISTORY_FILE)] == [1, 2]


def test_16_the_folder_lock_is_free_again_after_a_crash(tmp_path):
    """The OS drops the lock with its process: a killed run never blocks the next command."""
    folder = tmp_path / "run"
    args = ["--epochs", "2", "--limit", "512", "--out", folder]
    first = run_training(args, background=True)
    wait_until(lambda: runs.read_status(folder).get("state") == runs.STATE_RUNNING, 120, "the first run")
    first.kill()
    first.wait()
    again = run_training(args, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
