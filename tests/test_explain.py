"""Explanation logic on the shipped model: saliency maps, branch activations, knock-outs, faithfulness."""

import numpy as np
import pytest
from tf_keras_vis.gradcam import Gradcam
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore

import model as tgn
from dataset.fashion_mnist import load_split, to_model_input
from explain import branches, methods, overlay, saliency
from runfolder import runs
from tests.conftest import blank_grad_cam_images, needs_data

pytestmark = needs_data


@pytest.fixture(scope="module")
def net():
    return tgn.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE)


@pytest.fixture(scope="module")
def explainers(net):
    return saliency.build_explainers(net)


@pytest.fixture(scope="module")
def test_images():
    split = load_split("test")
    return to_model_input(split.images[:200]), split.labels[:200].astype(int)


@pytest.mark.parametrize("method", list(saliency.METHODS))
def test_maps_have_image_shape_and_unit_range(explainers, test_images, method):
    # Block 2, where no map of these images is blank (blank maps: the next test).
    x, labels = test_images
    maps = [saliency.saliency_map(explainers, x[i], method, int(labels[i]), "block2") for i in range(5)]
    assert all(m.shape == (28, 28) and m.dtype == np.float32 for m in maps)
    assert [m.min() for m in maps] == pytest.approx([0.0] * 5)
    assert [m.max() for m in maps] == pytest.approx([1.0] * 5)


def test_blank_grad_cam_maps_are_zero_and_explained(explainers, test_images):
    # Grad-CAM weighs each channel by its mean gradient and keeps the positive part of the weighted sum: at
    # block 3 that sum is negative everywhere for some images. LayerCAM keeps positive gradients only.
    x, labels = test_images
    blank = blank_grad_cam_images(explainers, x[:40], labels[:40])
    assert 0 < len(blank) < 40
    for i in blank[:3]:
        assert not saliency.saliency_map(explainers, x[i], "gradcam", int(labels[i]), "block3").any()
        assert not saliency.is_blank(saliency.saliency_map(explainers, x[i], "layercam", int(labels[i]), "block3"))
    reason = saliency.blank_map_reason("gradcam", "block3")
    assert "Inception block 3" in reason and "LayerCAM" in reason


def test_cam_target_is_the_whole_block(net, explainers, test_images):
    x, labels = test_images
    target = int(labels[0])
    for key, layer in saliency.TARGET_LAYERS.items():
        if key.startswith("block"):
            block = int(key[-1])
            assert layer == tgn.block_output(block)
            assert net.get_layer(layer).output.shape[-1] == 2 * tgn.BLOCK_FILTERS[block - 1]  # both branches
    ours = saliency.saliency_map(explainers, x[0], "gradcam", target, "block4")
    reference = Gradcam(net, model_modifier=ReplaceToLinear())
    score = CategoricalScore([target])
    whole_block = np.asarray(
        reference(score, x[:1], penultimate_layer="block4_lrn", seek_penultimate_conv_layer=False)
    )[0]
    library_default = np.asarray(reference(score, x[:1]))[0]  # what tf-keras-vis picks on its own
    np.testing.assert_allclose(ours, whole_block, atol=1e-4)
    assert not np.allclose(ours, library_default, atol=1e-3), "the default (one branch) must not be what we show"


def test_map_depends_on_the_class(explainers, test_images):
    x, labels = test_images
    a = saliency.saliency_map(explainers, x[0], "gradcam", int(labels[0]), "block3")
    b = saliency.saliency_map(explainers, x[0], "gradcam", (int(labels[0]) + 5) % 10, "block3")
    assert np.abs(a - b).mean() > 0.01


def test_unknown_method_layer_or_class_is_rejected(explainers, test_images):
    x, _ = test_images
    with pytest.raises(ValueError, match="Unknown method"):
        saliency.saliency_map(explainers, x[0], "magic", 0)
    with pytest.raises(ValueError, match="Unknown layer"):
        saliency.saliency_map(explainers, x[0], "gradcam", 0, "block9")
    with pytest.raises(ValueError, match="0-9"):
        saliency.saliency_map(explainers, x[0], "gradcam", 10)


def test_forward_without_knockout_reproduces_the_model_exactly(net, test_images):
    x, _ = test_images
    outputs = branches.forward(net, x[:8])
    np.testing.assert_array_equal(outputs[tgn.PREDICTIONS], np.asarray(net(x[:8], training=False)))


def test_knocking_out_a_branch_changes_the_prediction(net, test_images):
    x, _ = test_images
    original = np.asarray(net(x[:1], training=False))[0]
    none = branches.knockout_probabilities(net, x[0], 2, [])
    np.testing.assert_array_equal(none, original)
    for knocked in (["3x3"], ["5x5"], ["3x3", "5x5"]):
        changed = branches.knockout_probabilities(net, x[0], 2, knocked)
        assert np.abs(changed - original).max() > 1e-3, knocked
        assert changed.sum() == pytest.approx(1.0, abs=1e-5)


def test_branch_activations_shapes_and_shares(net, test_images):
    x, _ = test_images
    acts = branches.branch_activations(net, x[0], 3)
    assert acts.input_shape == (7, 7, 64) and acts.output_shape == (4, 4, 128)
    assert acts.maps["3x3"].shape == (7, 7, 64) and acts.maps["5x5_reduce"].shape == (7, 7, 64)
    assert acts.maps["output"].shape == (7, 7, 128)
    assert sum(acts.energy_share.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        branches.branch_activations(net, x[0], 7)


def test_feature_map_tiles_are_legible_and_crisp_in_every_block():
    for channels, size in [(16, 28), (32, 14), (64, 7), (128, 4)]:  # blocks 1-4
        tiles = branches.tile_layout(channels, size)
        assert tiles.screen >= branches.TILE_MIN_PX  # they were drawn 56, 40, 28 and 20 px
        assert tiles.cell % size == 0 and tiles.screen % tiles.cell == 0  # whole enlargements: square pixels
        assert tiles.columns == 8
    assert branches.colour_key("grey", 0.5).startswith("Colours: black = no response (0), through grey, to white")


def test_occlusion_beats_the_garment_control_on_most_images(net, explainers, test_images):
    """On 40 test images, deleting (and inserting) the pixels occlusion ranks highest must beat an order that
    knows only where the garment is, on most images (none of its maps is blank here; blank ones would be left out)."""
    from explain import faithfulness as fa

    x, _ = test_images
    predictions = np.asarray(net.predict_on_batch(x[:40])).argmax(1)
    maps = saliency.saliency_maps(explainers, x[:40], "occlusion", predictions)
    wins = {test: 0 for test in fa.TESTS}
    for i in range(40):
        assert not saliency.is_blank(maps[i])
        verdict = fa.image_verdict(net.predict_on_batch, x[i], maps[i], int(predictions[i]), seed=i)
        for test in fa.TESTS:
            wins[test] += "garment" in verdict.beaten(test)
    assert wins["deletion"] > 20 and wins["insertion"] > 20, wins


def test_maps_come_raw_or_stretched_and_batched_maps_match_single_ones(explainers, test_images):
    x, _ = test_images
    raw = saliency.saliency_map(explainers, x[0], "gradcam++", 0, "block2", normalize=False)
    unit = saliency.saliency_map(explainers, x[0], "gradcam++", 0, "block2")
    assert raw.min() >= 0 and raw.max() > 0 and unit.max() == pytest.approx(1.0) and unit.min() == 0
    np.testing.assert_allclose(unit, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-5)
    batch = saliency.saliency_maps(explainers, x[:3], "layercam", [0, 1, 2], "block3")
    np.testing.assert_allclose(batch[1], saliency.saliency_map(explainers, x[1], "layercam", 1, "block3"), atol=1e-5)


@pytest.mark.parametrize("layer", list(saliency.TARGET_LAYERS))
def test_a_cam_at_its_layers_resolution_stretches_to_the_map_the_app_shows(net, explainers, test_images, layer):
    side = methods.MAP_SIDE[layer]
    assert net.get_layer(saliency.TARGET_LAYERS[layer]).output.shape[1:3] == (side, side)
    x, labels = test_images
    for method in ("gradcam++", "layercam"):
        native = saliency.saliency_maps(explainers, x[:3], method, labels[:3], layer, normalize=False, expand=False)
        shown = saliency.saliency_maps(explainers, x[:3], method, labels[:3], layer, normalize=False)
        assert native.shape == (3, side, side) and shown.shape == (3, 28, 28)
        np.testing.assert_allclose(methods.expand_cam(native), shown, rtol=1e-5, atol=1e-6 * shown.max())


@pytest.mark.parametrize("side", [2, 4, 7, 14, 28])
def test_expand_cam_is_scipy_zoom_of_order_one_as_tf_keras_vis_uses_it(side):
    from scipy.ndimage import zoom

    maps = np.random.default_rng(side).random((3, side, side)).astype(np.float32)
    expected = zoom(maps, (1, 28 / side, 28 / side), order=1)
    np.testing.assert_allclose(methods.expand_cam(maps), expected, rtol=1e-6, atol=1e-7)
    assert methods.expand_cam(maps[0]).shape == (28, 28)
    with pytest.raises(ValueError, match="square"):
        methods.expand_cam(maps[..., :1])


def test_smoothgrad_times_input_puts_nothing_on_the_background(explainers, test_images):
    x, _ = test_images
    maps = saliency.saliency_maps(explainers, x[:5], "smoothgrad", [0] * 5)
    background = x[:5, ..., 0] == 0
    assert (maps[background] == 0).all() and maps.max() > 0


def test_overlay_and_mosaic_pictures():
    image = np.zeros((28, 28), dtype=np.uint8)
    heat = np.zeros((28, 28), dtype=np.float32)
    heat[:14] = 1.0
    picture = overlay.overlay(image, heat, opacity=1.0, size=112)
    assert picture.shape == (112, 112, 3) and picture.dtype == np.uint8
    assert picture[:20].mean() > picture[-20:].mean()  # the hot half is brighter
    with pytest.raises(ValueError):
        overlay.overlay(image, heat, opacity=1.5)
    grid = overlay.mosaic(np.random.default_rng(0).random((4, 4, 20)), 0.0, 1.0, columns=8, cell=10, gap=2)
    assert grid.shape == (3 * 12 - 2, 8 * 12 - 2, 3)


def test_a_step_is_shown_at_its_own_shape_on_a_checkerboard():
    wide = np.full((12, 28), 200, dtype=np.uint8)  # 28 wide, 12 tall: the conversion's step 4 for a sneaker
    shown = overlay.in_square(wide, 112)
    assert shown.shape == (112, 112) and shown.dtype == np.uint8
    top = (112 - 48) // 2
    assert (shown[top : top + 48] == 200).all()  # the picture, enlarged 4x with crisp pixels, centred
    assert set(np.unique(shown[:top])) == {236, 250} and set(np.unique(shown[top + 48 :])) == {236, 250}
    extended = np.full((28, 28), 200, dtype=np.uint8)
    extended[8:20] = 90  # the same size with bands added: step 5 no longer looks like step 4
    assert (overlay.in_square(extended, 112) != shown).any() and 236 not in overlay.in_square(extended, 112)
    assert np.array_equal(overlay.in_square(extended, 112), overlay.crisp(extended, 4))  # a full square: just crisp
    photo = np.random.default_rng(0).integers(0, 256, (900, 2048), dtype=np.uint8)
    assert overlay.in_square(photo, 112).shape == (112, 112)  # never sent larger than shown
