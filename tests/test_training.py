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
    deadline = time.time() + 300
    while time.time() < deadline and not runs.read_history_rows(history) and process.poll() is None:
        time.sleep(0.05)
    process.kill()
    process.wait()
    first = runs.read_history_rows(history)
    assert len(first) >= 1, "the run did not finish an epoch before the deadline"
    assert len(first) < 3, "the run finished before it could be interrupted"
    assert runs.read_status(out)["state"] == runs.STATE_RUNNING  # killed: nothing marked it done

    result = run_training(args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Resuming from the checkpoint after epoch {len(first)} of 3" in result.stdout
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
