"""The training CLI end to end: a complete run folder, resuming after a kill, bad settings."""

import json
import time

import keras
import numpy as np
import pytest

import model  # noqa: F401  (registers the LRN layer for safe-mode loading)
from runfolder import runs
from tests.conftest import needs_data, run_training
from training.config import TrainConfig


@needs_data
def test_smoke_run_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    result = run_training(["--epochs", "1", "--limit", "512", "--out", out])
    assert result.returncode == 0, result.stdout + result.stderr
    for name in runs.RESULT_FILES:
        assert (out / name).is_file(), name
    assert runs.read_status(out)["state"] == runs.STATE_COMPLETE
    assert not (out / runs.CHECKPOINT_DIR).exists()

    net = keras.models.load_model(out / runs.MODEL_FILE, safe_mode=True)
    assert net.count_params() == 1_044_240
    assert sum(int(np.prod(w.shape)) for w in net.non_trainable_weights) == 500
    assert getattr(net, "optimizer", None) is None  # saved without optimizer state

    results = runs.load_results(out)
    assert list(results.history["epoch"]) == [1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"} <= set(results.history)
    assert results.probabilities.shape == (10_000, 10)
    assert results.confusion.sum() == 10_000
    np.testing.assert_array_equal(results.confusion, runs.confusion_counts(results.labels, results.predictions))
    assert results.metrics["test_accuracy"] == pytest.approx((results.predictions == results.labels).mean())
    assert len(results.metrics["per_class"]["f1"]) == 10
    assert runs.load_features(out).shape == (10_000, 250)
    card = results.card
    assert card["settings"]["limit"] == 512 and card["settings"]["epochs"] == 1
    assert set(card["data_md5"]) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }
    assert card["command"].startswith("python -m training.train --epochs 1 --limit 512")
    assert card["versions"]["keras"] and card["hardware"]["device"] and card["wall_seconds"] > 0
    assert [row["name"] for row in results.architecture][:2] == ["image", "stem_conv"]

    again = run_training(["--epochs", "1", "--limit", "512", "--out", out])
    assert again.returncode != 0 and "already holds a complete run" in again.stderr


@needs_data
def test_killed_run_resumes_from_its_checkpoint(tmp_path):
    out = tmp_path / "run"
    args = ["--epochs", "3", "--limit", "1024", "--out", out]
    process = run_training(args, background=True)
    history = out / runs.HISTORY_FILE
    backups = out / runs.CHECKPOINT_DIR / "backup"
    deadline = time.time() + 300
    while time.time() < deadline and not list(backups.glob("epoch-*.weights.h5")) and process.poll() is None:
        time.sleep(0.05)
    process.kill()
    process.wait()
    first = runs.read_history_rows(history)
    checkpointed = max(int(p.name[6:10]) for p in backups.glob("epoch-*.weights.h5"))
    assert len(first) >= checkpointed >= 1, "an epoch's checkpoint is written after its history row"
    assert checkpointed < 3, "the run finished before it could be interrupted"
    assert runs.read_status(out)["state"] == runs.STATE_RUNNING  # killed: nothing marked it done

    result = run_training(args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Resuming from the checkpoint after epoch {checkpointed} of 3" in result.stdout
    final = runs.read_history_rows(history)
    assert [row["epoch"] for row in final] == [1, 2, 3]
    # The epochs finished before the kill were kept, not retrained.
    assert final[0]["finished_at"] == first[0]["finished_at"]
    assert runs.read_status(out)["state"] == runs.STATE_COMPLETE


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "epochs must be between 1 and 200"),
        (["--batch-size", "100000"], "batch_size must be between"),
        (["--learning-rate", "5"], "learning_rate must be between"),
        (["--limit", "512", "--val-size", "600"], "must be smaller than the training images"),
    ],
)
def test_invalid_settings_are_rejected(tmp_path, args, message):
    result = run_training([*args, "--out", tmp_path / "bad"])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bad").exists()


def test_a_backend_that_is_not_installed_is_one_line(tmp_path):
    import importlib.util

    missing = next((b for b in ("torch", "jax") if importlib.util.find_spec(b) is None), None)
    if missing is None:
        pytest.skip("every backend the CLI accepts is installed here")
    result = run_training(["--backend", missing, "--epochs", "1", "--out", tmp_path / "run"])
    assert result.returncode == 2 and f"--backend {missing}: {missing} is not installed" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_resume_with_other_settings_is_refused(tmp_path):
    out = tmp_path / "run"
    runs.write_json_atomic(out / runs.CHECKPOINT_DIR / "config.json", TrainConfig(epochs=5).to_dict())
    result = run_training(["--epochs", "3", "--out", out])
    assert result.returncode != 0 and "unfinished run with other settings" in result.stderr


def test_missing_data_fails_with_clear_message(tmp_path):
    out = tmp_path / "run"
    result = run_training(
        ["--epochs", "1", "--limit", "512", "--out", out], env_extra={"FASHION_MNIST_DIR": str(tmp_path / "no-data")}
    )
    assert result.returncode == 2
    assert "FASHION_MNIST_DIR is set to" in result.stderr and "Traceback" not in result.stderr
    assert runs.read_status(out)["state"] == runs.STATE_FAILED


@needs_data
def test_ema_run_validates_and_saves_the_same_averaged_weights(tmp_path):
    from dataset.fashion_mnist import load_split
    from training.train import make_dataset, split_train_validation

    out = tmp_path / "run"
    result = run_training(["--epochs", "2", "--limit", "2048", "--ema", "0.9", "--out", out])
    assert result.returncode == 0, result.stdout + result.stderr
    results = runs.load_results(out)
    config = TrainConfig.from_dict(results.card["settings"])
    assert config.ema_momentum == 0.9
    # Validation ran on the averaged weights (SwapEMAWeights) and the saved model must be those
    # same weights: its loss on the validation split equals the logged one. Saving before the swap
    # (the raw weights) was measured to miss the logged loss by 5e-4.
    split = load_split("train")
    _, (x_val, y_val) = split_train_validation(split.images, split.labels, config)
    net = keras.models.load_model(out / runs.MODEL_FILE, safe_mode=True)
    net.compile(loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing))
    loss = net.evaluate(make_dataset(x_val, y_val, config, training=False), verbose=0)
    logged = results.history.set_index("epoch").loc[results.metrics["best_epoch"], "val_loss"]
    assert loss == pytest.approx(logged, abs=1e-4)


def test_ema_momentum_is_capped_to_a_tenth_of_the_run():
    config = TrainConfig(ema_momentum=0.999)
    assert config.ema_momentum_for(30 * 430) == 0.999  # the shipped recipe: no cap
    assert config.ema_momentum_for(1000) == pytest.approx(0.99)  # spans 100 steps, not 1,000
    assert config.ema_momentum_for(5) == 0.0  # too short to average at all
    assert TrainConfig(ema_momentum=0.0).ema_momentum_for(10_000) == 0.0
    assert TrainConfig.original_recipe().ema_momentum == 0.0


def test_default_recipe_is_the_shipped_one():
    config = TrainConfig()
    assert (config.epochs, config.optimizer, config.schedule, config.augment) == (30, "adamw", "cosine", True)
    original = TrainConfig.original_recipe()
    assert (original.epochs, original.batch_size, original.optimizer, original.augment) == (15, 32, "rmsprop", False)
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()


def test_settings_recorded_before_a_setting_existed_read_as_they_trained():
    recorded = TrainConfig(ema_momentum=0.0).to_dict()
    del recorded["ema_momentum"]  # a card written before EMA existed
    assert TrainConfig.from_dict(recorded).ema_momentum == 0.0
    assert TrainConfig.from_dict(recorded).weight_averaging_summary() == "none"
    assert TrainConfig(ema_momentum=0.999).weight_averaging_summary() == "EMA 0.999"
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_optimizer_summary_names_the_recipe():
    assert TrainConfig().optimizer_summary() == (
        "AdamW (weight decay 0.1), 1-epoch warm-up then cosine decay, label smoothing 0.1, weights averaged (EMA 0.999)"
    )
    assert TrainConfig.original_recipe().optimizer_summary() == "RMSprop, constant learning rate"
    assert TrainConfig(optimizer="sgd").optimizer_name == "SGD with Nesterov momentum"


def test_augmentation_summary_names_what_is_on():
    assert TrainConfig(augment=False).augmentation_summary() == "none"
    text = TrainConfig(augment=True, shift_pixels=2, erasing_probability=0.25).augmentation_summary()
    assert text == "horizontal flips, shifts of up to 2 px, random erasing (25% of images)"
    assert (
        TrainConfig(augment=True, shift_pixels=0, erasing_probability=0.0).augmentation_summary() == "horizontal flips"
    )


@pytest.mark.parametrize("name, cls", [("adamw", "AdamW"), ("rmsprop", "RMSprop"), ("sgd", "SGD")])
def test_optimizer_settings_reach_keras(name, cls):
    from training.train import make_optimizer

    config = TrainConfig(optimizer=name, ema_momentum=0.99, weight_decay=0.01)
    optimizer = make_optimizer(config, steps_per_epoch=1000)
    assert type(optimizer).__name__ == cls
    assert optimizer.use_ema and optimizer.ema_momentum == 0.99
    if name == "sgd":
        assert optimizer.nesterov and optimizer.momentum == 0.9 and optimizer.weight_decay == 0.01
    assert not make_optimizer(TrainConfig(optimizer=name, ema_momentum=0.0), steps_per_epoch=10).use_ema


# --------------------------------------------------------------------------- the NumPy input pipeline


def pattern_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images whose every pixel differs (so any flip or shift shows) and labels 0-9."""
    rng = np.random.default_rng(0)
    return rng.integers(1, 256, size=(count, 28, 28), dtype=np.uint8), np.arange(count) % 10


def test_training_batches_are_a_fresh_permutation_each_epoch_and_reproducible():
    from training.data import make_batches

    images, labels = pattern_images(50)
    config = TrainConfig(batch_size=16, augment=False, seed=4)
    batches = make_batches(images, labels, config, training=True)
    assert batches.num_batches is None and batches.steps_per_epoch == 4  # 16 + 16 + 16 + 2
    epochs = []
    for epoch in range(2):
        parts = [batches[epoch * 4 + step] for step in range(4)]
        assert [len(x) for x, _ in parts] == [16, 16, 16, 2]
        x = np.concatenate([x for x, _ in parts])
        assert x.dtype == np.float32 and x.shape == (50, 28, 28, 1) and 0 < x.max() <= 1
        # Every image exactly once per epoch, with its own label (one-hot).
        order = [int(np.flatnonzero((images == np.rint(img[..., 0] * 255)).all(axis=(1, 2)))[0]) for img in x]
        assert sorted(order) == list(range(50))
        y = np.concatenate([y for _, y in parts])
        np.testing.assert_array_equal(y.argmax(1), labels[order])
        epochs.append(order)
    assert epochs[0] != epochs[1]  # reshuffled
    again = make_batches(images, labels, config, training=True)
    np.testing.assert_array_equal(again[5][0], batches[5][0])  # the same seed, the same batch
    other = make_batches(images, labels, TrainConfig(batch_size=16, augment=False, seed=5), training=True)
    assert not np.array_equal(other[0][0], batches[0][0])


def test_a_resumed_stream_continues_with_the_epoch_it_resumes_at():
    from training.data import make_batches

    images, labels = pattern_images(40)
    config = TrainConfig(batch_size=16, augment=True, shift_pixels=2, erasing_probability=0.5, seed=1)
    uninterrupted = make_batches(images, labels, config, training=True)
    resumed = make_batches(images, labels, config, training=True)
    resumed.first_epoch = 2
    for step in range(3):
        np.testing.assert_array_equal(resumed[step][0], uninterrupted[2 * 3 + step][0])
        np.testing.assert_array_equal(resumed[step][1], uninterrupted[2 * 3 + step][1])
    assert not np.array_equal(resumed[0][0], uninterrupted[0][0])


def test_validation_batches_are_in_order_and_never_augmented():
    from training.data import make_batches, to_inputs

    images, labels = pattern_images(37)
    config = TrainConfig(batch_size=16, augment=True, shift_pixels=2, erasing_probability=1.0)
    batches = make_batches(images, labels, config, training=False)
    assert batches.num_batches == 3
    x = np.concatenate([batches[i][0] for i in range(3)])
    np.testing.assert_array_equal(x, to_inputs(images))
    assert list(batches)[2][1].shape == (5, 10)  # iterating stops after the last, partial batch


def test_flips_mirror_about_half_of_the_images():
    from training.data import flip, to_inputs

    images, _ = pattern_images(400)
    x = to_inputs(images)
    out = flip(x, np.random.default_rng(0))
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)])
    unchanged = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert (mirrored ^ unchanged).all()  # every image is either mirrored or left alone
    assert 160 < mirrored.sum() < 240


def test_shifts_move_whole_pixels_and_bring_in_black():
    from training.data import shift

    x = np.zeros((300, 28, 28, 1), np.float32)
    x[:, 13, 14] = 1.0  # one white pixel: where it lands is the shift
    out = shift(x, np.random.default_rng(0), 2)
    _, rows, cols = np.nonzero(out[..., 0])  # one pixel per image, in image order
    assert out.sum() == 300  # nothing lost, nothing interpolated
    assert set(rows - 13) == set(cols - 14) == {-2, -1, 0, 1, 2}
    edge = shift(np.ones((50, 28, 28, 1), np.float32), np.random.default_rng(1), 3)
    assert edge.min() == 0 and edge.max() == 1  # the border that comes in is black
    assert set(np.unique(edge)) == {0.0, 1.0}
    np.testing.assert_array_equal(shift(x, np.random.default_rng(0), 0), x)


def test_random_erasing_fills_one_box_per_chosen_image():
    from training.data import erase

    x = np.full((400, 28, 28, 1), 0.5, np.float32)
    out = erase(x, np.random.default_rng(0), probability=0.25)
    changed = (out != x)[..., 0]
    hit = changed.any(axis=(1, 2))
    assert 60 < hit.sum() < 140  # about a quarter of the images
    for mask in changed[hit][:40]:
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        # Boxes span sqrt(0.02) to sqrt(0.2) of each side (4-13 px); a noise pixel may happen to be 0.5.
        assert 3 <= len(rows) <= 13 and 3 <= len(cols) <= 13
        assert mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].mean() > 0.9
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(erase(x, np.random.default_rng(0), probability=0.0), x)


def resumed_training_difference(resume: bool = True) -> float:
    """Train a small linear model 3 epochs straight through, and again 2 epochs then 1 resumed as the
    CLI resumes (weights restored, the model's initial epoch set in on_train_begin): the largest
    difference between the final weights. 0 when the resumed epoch got the batches of epoch 3;
    without the stream's start callback (``resume=False``) it gets epoch 1's again."""
    from training.data import make_batches, make_stream_start_callback
    from training.train import set_random_seed

    images, labels = pattern_images(48)
    config = TrainConfig(batch_size=16, augment=True, shift_pixels=1, erasing_probability=0.5, seed=2)

    def fresh(weights=None):
        net = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
        net.compile(optimizer=keras.optimizers.SGD(0.05), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        if weights is not None:
            net.set_weights(weights)
        return net

    def fit(net, epochs, callbacks=()):
        batches = make_batches(images, labels, config, training=True)
        callbacks = [cb(batches) if callable(cb) else cb for cb in callbacks]
        net.fit(batches, steps_per_epoch=3, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)

    set_random_seed(0)  # the CLI's: on JAX it leaves TensorFlow alone
    start = fresh().get_weights()
    straight = fresh(start)
    fit(straight, 3, [make_stream_start_callback])
    first = fresh(start)
    fit(first, 2, [make_stream_start_callback])

    class Restore(keras.callbacks.Callback):  # what training.checkpoint's backup does on resume
        def on_train_begin(self, logs=None):
            self.model._initial_epoch = 2

    resumed = fresh(first.get_weights())
    fit(resumed, 3, [Restore()] + ([make_stream_start_callback] if resume else []))
    return max(float(np.abs(a - b).max()) for a, b in zip(straight.get_weights(), resumed.get_weights()))


def test_a_resumed_fit_trains_on_the_batches_an_uninterrupted_one_would_have():
    assert resumed_training_difference() < 1e-6
    assert resumed_training_difference(resume=False) > 1e-4  # the check can tell the difference


@needs_data
def test_a_cancel_after_the_last_epoch_says_cancelled_and_resume_writes_the_results(tmp_path, monkeypatch):
    # A cancel that arrives while the test set is evaluated (after fit) must not leave the run 'running',
    # which the app would then report as a crash; Resume trains no more epochs and writes the results.
    from training import train as train_module

    def cancelled_while_writing(*args, **kwargs):
        raise train_module.TrainingCancelled()

    out = tmp_path / "run"
    argv = ["--epochs", "1", "--limit", "256", "--out", str(out), "--scorecard-images", "0", "--no-learning"]
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "write_results", cancelled_while_writing)
        assert train_module.main(argv) == 130
    status = runs.read_status(out)
    assert status["state"] == runs.STATE_CANCELLED, status
    assert "Cancelled after 1 complete epoch(s) of 1" in status["message"]
    finished = runs.read_history_rows(out / runs.HISTORY_FILE)[0]["finished_at"]

    assert train_module.main(argv) == 0
    assert runs.read_status(out)["state"] == runs.STATE_COMPLETE
    rows = runs.read_history_rows(out / runs.HISTORY_FILE)
    assert [r["epoch"] for r in rows] == [1] and rows[0]["finished_at"] == finished
    assert (out / runs.METRICS_FILE).is_file()


def test_a_cancel_while_files_are_written_waits_for_the_next_batch(monkeypatch):
    # SIGTERM inside h5py's save of a checkpoint came out as another error (the run marked failed): while
    # training (deferred) the handler only records the request, and a callback stops at the batch's end.
    from training import train as train_module

    monkeypatch.setattr(train_module._Cancellation, "requested", False)
    monkeypatch.setattr(train_module._Cancellation, "deferred", True)
    train_module._raise_cancelled(15, None)  # no exception in the middle of whatever was running
    assert train_module._Cancellation.requested
    stopper = train_module.make_cancel_callback()
    with pytest.raises(train_module.TrainingCancelled):
        stopper.on_train_batch_end(0)
    monkeypatch.setattr(train_module._Cancellation, "deferred", False)
    with pytest.raises(train_module.TrainingCancelled):  # outside training: at once
        train_module._raise_cancelled(15, None)
