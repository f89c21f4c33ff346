"""Watch it learn: snapshots during training (across an interruption), the training's story (learning.npz),
its alignment, drift on constructed answers, its validation, and the page."""

import time

import numpy as np
import pytest

from analysis import learning
from runfolder import artefacts, runs
from tests.conftest import app_pages, run_training
from training import snapshots

PAGE = app_pages().get("Watch it learn")


# --------------------------------------------------------------------------- drift on constructed arrays


def test_drift_figures_on_answers_with_a_known_history():
    # 10 images, 4 frames: 4 answers change between the first two frames, 1 between the next, none after.
    first = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    second = first.copy()
    second[:4] = 5
    third = second.copy()
    third[9] = 7
    frames = np.stack([first, second, third, third])
    changed = learning.answers_changed(frames)
    assert np.isnan(changed[0]) and changed[1:].tolist() == [0.4, 0.1, 0.0]
    assert learning.agreement_with_final(frames).tolist() == [0.5, 0.9, 1.0, 1.0]
    assert learning.first_epoch_reaching([1, 2, 5, 8], learning.agreement_with_final(frames), 0.9) == 2
    assert learning.first_epoch_reaching([1, 2, 5, 8], [0.5, 0.95, 0.8, 0.99], 0.9) == 8  # must stay there
    labels = np.array([5, 5, 5, 5, 1, 1, 1, 1, 2, 7])
    per_class = learning.accuracy_per_class(frames, labels)
    assert per_class[:, 5].tolist() == [0.0, 1.0, 1.0, 1.0] and per_class[:, 7].tolist() == [0.0, 0.0, 1.0, 1.0]
    learned = learning.learned_at([1, 2, 5, 8], per_class)
    assert learned[5] == 2 and learned[7] == 5 and learned[1] == 1
    assert learning.confusion(third, labels)[7, 7] == 1 and learning.confusion(first, labels)[5, 0] == 4


def test_map_correlation_with_the_final_maps():
    rng = np.random.default_rng(0)
    final = rng.random((5, 28, 28))
    maps = np.stack([rng.random((5, 28, 28)), final + 0.05 * rng.random((5, 28, 28)), final])
    correlation = learning.map_correlation_with_final(maps)
    assert abs(correlation[0]) < 0.1 and 0.9 < correlation[1] < 1.0 and correlation[2] == pytest.approx(1.0)


# --------------------------------------------------------------------------- the aligned map


def test_the_aligned_map_keeps_a_point_that_did_not_move_and_moves_one_that_did():
    from explain.learning import AlignedMap, first_of_each_class

    folder = runs.SHIPPED_RUNS["shipped"]
    features = runs.load_features(folder)
    labels = runs.load_results(folder).labels
    xy = np.load(folder / runs.EMBEDDING_FILE)["xy"]
    points = first_of_each_class(labels, 60)
    aligned = AlignedMap(features[points], xy[points])
    spread = np.linalg.norm(xy[points] - xy[points].mean(axis=0), axis=1).mean()
    unmoved = np.linalg.norm(aligned.place(features[points]) - xy[points], axis=1)
    assert np.median(unmoved) < 0.02 * spread  # stays where the final map has it
    # A point given another class's features lands among that class.
    trousers, sneakers = points[labels[points] == 1], points[labels[points] == 7]
    moved = aligned.place(features[sneakers[:10]])
    to_sneakers = np.linalg.norm(moved - xy[sneakers].mean(axis=0), axis=1).mean()
    to_trousers = np.linalg.norm(moved - xy[trousers].mean(axis=0), axis=1).mean()
    assert to_sneakers < to_trousers


# --------------------------------------------------------------------------- snapshots and the story of a tiny run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 3-epoch run (512 images) killed after epoch 2's checkpoint and resumed; the snapshot of epoch 2 is
    removed before the resume, as a kill between the checkpoint and the snapshot would leave it."""
    from tests.conftest import real_data_dir

    if real_data_dir() is None:
        pytest.skip("Fashion-MNIST not found: set FASHION_MNIST_DIR or provide ../shared/data/fashion-mnist")
    out = tmp_path_factory.mktemp("learning") / "run"
    args = ["--epochs", "3", "--limit", "512", "--out", out]
    process = run_training(args, background=True)
    backup = out / runs.CHECKPOINT_DIR / "backup" / "epoch-0002.weights.h5"
    deadline = time.time() + 300
    while time.time() < deadline and not backup.is_file() and process.poll() is None:
        time.sleep(0.02)
    process.kill()
    process.wait()
    before = {e: snapshots.answers_path(out, e).stat().st_mtime_ns for e in snapshots.recorded(out)}
    for path in (snapshots.weights_path(out, 2), snapshots.answers_path(out, 2)):
        path.unlink(missing_ok=True)
    result = run_training(args)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, before


def test_snapshots_are_written_at_the_scheduled_epochs_and_survive_a_resume(tiny_run):
    out, before = tiny_run
    assert 1 in before, "the run was killed before its first snapshot"
    assert snapshots.schedule(3) == [1, 2, 3] and snapshots.schedule(30) == [1, 2, 3, 5, 8, 12, 20, 30]
    assert snapshots.recorded(out) == [1, 2, 3]  # epoch 2's taken again on resume, from the checkpoint
    assert snapshots.answers_path(out, 1).stat().st_mtime_ns == before[1]  # intact, not rewritten
    final = np.load(out / runs.OUTPUTS_FILE)["probabilities"]
    selected = runs.read_json(out / runs.METRICS_FILE)["best_epoch"]
    answers, seconds = snapshots.read_answers(out, selected)
    # The snapshot of the selected epoch is the run's model: the same answers (float16).
    assert np.abs(answers.astype(np.float32) - final).max() < 2e-3 and seconds > 0


def test_the_story_of_a_tiny_run(tiny_run, monkeypatch):
    from explain import learning as build

    out, _ = tiny_run
    features = runs.load_features(out)
    # A stand-in for the Feature space page's t-SNE (a minute of work): the first two principal components.
    centred = features - features.mean(axis=0)
    xy = (centred @ np.linalg.svd(centred[:2000], full_matrices=False)[2][:2].T).astype(np.float32)
    from analysis import embedding

    runs.write_npz_atomic(
        out / runs.EMBEDDING_FILE, xy=xy, features_sha256=np.array(embedding.features_digest(features))
    )
    story = build.compute(out, map_points_per_class=20)
    labels = runs.load_results(out).labels
    arrays = artefacts.read_learning(out, runs.file_sha256(out / runs.MODEL_FILE), labels)
    assert arrays["epochs"].tolist() == [1, 2, 3] and len(arrays["map_points"]) == 200
    final = list(arrays["epochs"]).index(int(arrays["selected_epoch"]))
    assert np.allclose(arrays["positions"][final], xy[arrays["map_points"]])  # the final map itself
    assert arrays["probe_maps"].shape == (3, 100, 28, 28) and story["method"] == arrays["method"]
    told = learning.Story(arrays, labels)
    assert told.accuracy()[final] == pytest.approx(
        (np.load(out / runs.OUTPUTS_FILE)["probabilities"].argmax(1) == labels).mean(), abs=0.01
    )
    assert "epoch" in told.reading()
