import ast
import re

import keras
import numpy as np
import pytest

import model
from model import ModelFileError, build_tiny_googlenet, load_model
from runfolder import runs
from tests.conftest import REPO_ROOT, needs_data

SEED_TYPES = {"Lambda": "LocalResponseNormalization"}


def seed_rows():
    """(type, output shape, params) per layer of the seed's model.summary() table."""
    rows = []
    for line in (REPO_ROOT / "tests" / "data" / "seed_summary.txt").read_text().splitlines():
        match = re.match(r"(\S+) \((\w+)\)?\s+\[?\((None(?:, \d+)*)\)\]?\s+(\d+)", line)
        assert match, line
        _, layer_type, shape, params = match.groups()
        dims = tuple(int(d) for d in shape.split(", ")[1:])
        rows.append((SEED_TYPES.get(layer_type, layer_type), dims, int(params)))
    return rows


def test_every_layer_matches_the_seed_table():
    net = build_tiny_googlenet()
    ours = [(type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params()) for layer in net.layers]
    # The seed's type column is cut at 14 characters ("BatchNorma").
    ours = [("BatchNorma" if t == "BatchNormalization" else t, s, p) for t, s, p in ours]
    assert ours == seed_rows()


def test_parameter_totals():
    net = build_tiny_googlenet()
    non_trainable = sum(int(np.prod(w.shape)) for w in net.non_trainable_weights)
    assert net.count_params() == 1_044_240
    assert non_trainable == 500


def test_output_is_a_probability_distribution():
    net = build_tiny_googlenet()
    out = net.predict_on_batch(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32))
    assert out.shape == (3, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert (out >= 0).all()


def test_layer_names_say_what_they_are():
    names = {layer.name for layer in build_tiny_googlenet().layers}
    for block in model.BLOCKS:
        for branch in model.BRANCHES:
            assert set(model.branch_layers(block, branch)) <= names
        assert model.block_output(block) in names
    assert {model.STEM_OUTPUT, model.PENULTIMATE, model.PREDICTIONS} <= names


def test_lrn_matches_its_formula():
    x = np.random.default_rng(1).normal(size=(1, 2, 2, 16)).astype(np.float32)
    y = np.asarray(model.LocalResponseNormalization()(x))
    squares = np.pad(x**2, [(0, 0), (0, 0), (0, 0), (5, 5)])
    window = np.stack([squares[..., c : c + 11].sum(-1) for c in range(16)], axis=-1)
    np.testing.assert_allclose(y, x / np.sqrt(1 + window), rtol=1e-5)


# The network's constants, TensorFlow's defaults, and two other settings that exercise the general
# power and another window; channel counts below, at and above the 11-channel window.
LRN_SETTINGS = [
    {},
    {"depth_radius": 2, "bias": 2.0, "alpha": 1e-4, "beta": 0.75},
    {"depth_radius": 7, "bias": 0.5, "alpha": 0.3, "beta": 1.0},
]


@pytest.mark.parametrize("channels", [1, 3, 10, 11, 12, 32, 256])
@pytest.mark.parametrize("settings", LRN_SETTINGS, ids=["network", "radius2-beta0.75", "radius7-beta1"])
def test_lrn_equals_tensorflows_own(channels, settings):
    import tensorflow as tf

    x = (np.random.default_rng(channels).normal(size=(3, 4, 5, channels)) * 3).astype(np.float32)
    ours = np.asarray(model.LocalResponseNormalization(**settings)(x))
    theirs = tf.nn.local_response_normalization(x, **settings).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_lrn_gradient_equals_tensorflows_own():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(5).normal(size=(2, 3, 3, 20)).astype(np.float32))
    grads = []
    for layer in (model.LocalResponseNormalization(), lambda t: tf.nn.local_response_normalization(t)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * tf.range(20, dtype=tf.float32))  # weights every channel differently
        grads.append(tape.gradient(loss, x).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_lrn_band_sums_each_channels_window():
    band = model.lrn.band_matrix(4, 1)
    assert band.tolist() == [[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]]
    assert model.lrn.band_matrix(3, 5).sum() == 9  # a window wider than the channels takes them all


def test_the_network_modules_do_not_import_tensorflow():
    """The model must load where only JAX or PyTorch is installed (the project's GPU machines)."""
    for path in sorted((REPO_ROOT / "model").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "tensorflow" for name in names), f"{path.name} imports {names}"


@pytest.fixture(scope="module")
def test_inputs():
    from dataset.fashion_mnist import load_split, to_model_input

    return to_model_input(load_split("test").images)


@needs_data
def test_shipped_models_test_predictions_are_unchanged(test_inputs):
    """All 10,000 stored probabilities (made with tf.nn's LRN) come out again to 1e-5."""
    net = keras.models.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE, safe_mode=True)
    stored = runs.load_results(runs.SHIPPED_RUNS["shipped"])
    probabilities = net.predict(test_inputs, batch_size=500, verbose=0)
    assert np.abs(probabilities - stored.probabilities).max() < 1e-5
    np.testing.assert_array_equal(probabilities.argmax(1), stored.predictions)


@needs_data
def test_original_recipe_model_file_still_loads_and_predicts_its_stored_outputs(test_inputs):
    folder = runs.SHIPPED_RUNS["original-recipe"]
    net = keras.models.load_model(folder / runs.MODEL_FILE, safe_mode=True)
    assert isinstance(net.get_layer("stem_lrn"), model.LocalResponseNormalization)
    sample = np.random.default_rng(3).choice(len(test_inputs), size=500, replace=False)
    probabilities = np.asarray(net.predict_on_batch(test_inputs[sample]))
    assert np.abs(probabilities - runs.load_results(folder).probabilities[sample]).max() < 1e-5


def test_safe_mode_round_trip(tmp_path):
    net = build_tiny_googlenet()
    path = tmp_path / "m.keras"
    net.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = np.random.default_rng(2).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict_on_batch(x), net.predict_on_batch(x), atol=1e-6)
    assert isinstance(loaded.get_layer("block2_lrn"), model.LocalResponseNormalization)


def test_corrupt_model_file_gives_clear_error(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ModelFileError, match="corrupt .*python -m training.train"):
        load_model(path)


def test_missing_model_file_gives_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope" / "model.keras")
