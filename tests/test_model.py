import re

import keras
import numpy as np
import pytest

import model
from model import ModelFileError, build_tiny_googlenet, load_model
from tests.conftest import REPO_ROOT

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
