"""The channel atlas: what each of the 976 channels of the network's convolutions responds to.

    python -m explain.atlas --run model/shipped          # writes atlas.npz into the run folder

For every channel of the stem convolution and of the four convolutions of each inception block
(``model.conv_layers()``) it stores, in one file of plain arrays (no pickles):

- **top images**: the 9 test images whose peak activation (the channel's largest value over all
  positions) is highest, highest first (ties: lower index first), with the position of the peak
  in the layer's grid (``analysis.architecture.receptive_box`` turns it into the input pixels that
  unit sees);
- **class profile**: the channel's mean activation (ReLU'd: what the next layer receives, averaged
  over positions) over the test images of each true class;
- **feature visualisation**: a synthetic 28x28 input made by tf-keras-vis ``ActivationMaximization``
  (gradient ascent from a faint noise seed, with jitter and rotation, total-variation and L2
  regularisers) that drives up the channel's mean activation. The objective is divided by the
  channel's mean level on the test set, so one set of regulariser weights suits every layer;
  the activation the image reaches is stored beside it, so the page can say how strong it is;
- **knock-out**: the channel's output set to zero, the per-class accuracy and mean probability of
  the true class on a fixed probe set (the first 100 test images of each class: 1,000 images).

The work is saved after each stage and each layer in ``.atlas.partial.npz``, so rerunning the same
command after an interruption continues where it stopped; progress goes to
``.atlas.progress.json``. The file records the SHA-256 of the model it was made from.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# tf-keras-vis and the best-image check feed the one-input model a bare tensor; harmless, but noisy.
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")

import numpy as np  # noqa: E402

from analysis.architecture import layer_geometry  # noqa: E402
from runfolder import guard, runs  # noqa: E402
from runfolder.partial import PartialResults, write_progress  # noqa: E402

TOP = 9
PROBE_PER_CLASS = 100
CHUNK = 250  # images per forward pass (bounded memory: every layer's output for 250 images is ~0.25 GB)
VISUAL_STEPS = 256
VISUAL_LEARNING_RATE = 0.05
VISUAL_TV_WEIGHT = 1.0
VISUAL_L2_WEIGHT = 0.3
VISUAL_JITTER = 1  # pixels
VISUAL_SEED = 7
VISUAL_LEAK = 0.1  # slope of the objective below zero
VERSION = (
    f"atlas-1|top{TOP}|probe{PROBE_PER_CLASS}|am:{VISUAL_LEARNING_RATE}:{VISUAL_TV_WEIGHT}:{VISUAL_L2_WEIGHT}:"
    f"{VISUAL_JITTER}:{VISUAL_SEED}:leak{VISUAL_LEAK}:best"
)


def probe_indices(labels: np.ndarray, per_class: int = PROBE_PER_CLASS) -> np.ndarray:
    """The knock-out probe set: the first ``per_class`` test images of every class, in test order."""
    chosen = [np.flatnonzero(labels == k)[:per_class] for k in range(int(labels.max()) + 1)]
    return np.sort(np.concatenate(chosen))


def top_images(peaks: np.ndarray, count: int = TOP) -> np.ndarray:
    """(channels, count) indices of the images with the highest peaks, per column of ``peaks``
    (images, channels); ties go to the lower index."""
    return np.stack([np.argsort(-peaks[:, j], kind="stable")[:count] for j in range(peaks.shape[1])])


def layer_statistics(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image and channel of a layer's outputs (N, H, W, C): the peak value, the peak's flat
    position (row * W + col; the first one on ties) and the mean of the ReLU'd activation."""
    flat = outputs.reshape(len(outputs), -1, outputs.shape[-1])
    return flat.max(axis=1), flat.argmax(axis=1), np.maximum(flat, 0).mean(axis=1)


def activation_statistics(net, layers, images: np.ndarray, labels: np.ndarray, progress=None) -> dict:
    """Top images with their peaks, class profiles and levels of every channel of ``layers``."""
    import keras

    extractor = keras.Model(net.inputs, [net.get_layer(name).output for name in layers])
    per_layer = {name: ([], [], []) for name in layers}
    for start in range(0, len(images), CHUNK):
        outputs = extractor.predict_on_batch(images[start : start + CHUNK])
        for name, value in zip(layers, outputs):
            for store, part in zip(per_layer[name], layer_statistics(np.asarray(value))):
                store.append(part)
        if progress:
            progress(min(start + CHUNK, len(images)), len(images))
    result: dict[str, list] = {key: [] for key in ("top_index", "top_value", "top_peak", "peak_max", "class_mean")}
    result.update(level=[], best_mean=[])
    classes = np.arange(int(labels.max()) + 1)
    for name in layers:
        peaks, where, means = (np.concatenate(parts) for parts in per_layer[name])
        width = net.get_layer(name).output.shape[2]
        top = top_images(peaks)
        columns = np.arange(peaks.shape[1])[:, None]
        result["top_index"].append(top)
        result["top_value"].append(peaks[top, columns])
        flat = where[top, columns]
        result["top_peak"].append(np.stack([flat // width, flat % width], axis=-1))
        result["peak_max"].append(peaks.max(axis=0))
        result["class_mean"].append(np.stack([means[labels == k].mean(axis=0) for k in classes], axis=1))
        result["level"].append(means.mean(axis=0))
        result["best_mean"].append(means.max(axis=0))
    return {key: np.concatenate(parts) for key, parts in result.items()}


def knockout_layer(net, name: str, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each channel of layer ``name`` set to zero: (correct predictions per class (C, 10),
    summed probability of the true class per class (C, 10)) over ``images``.

    Only the layers downstream of ``name`` are recomputed; the rest come from one cached pass."""
    import model as tgn
    from explain.branches import downstream, forward

    classes = int(labels.max()) + 1
    channels = net.get_layer(name).output.shape[-1]
    correct = np.zeros((channels, classes), dtype=np.int64)
    true_probability = np.zeros((channels, classes), dtype=np.float64)
    later = downstream(net, name)
    for start in range(0, len(images), CHUNK):
        chunk_labels = labels[start : start + CHUNK]
        cached = forward(net, images[start : start + CHUNK])
        given = {layer: value for layer, value in cached.items() if layer not in later}
        for channel in range(channels):
            switched_off = cached[name].copy()
            switched_off[..., channel] = 0.0
            probabilities = forward(net, None, given={**given, name: switched_off})[tgn.PREDICTIONS]
            hits = probabilities.argmax(axis=1) == chunk_labels
            correct[channel] += np.bincount(chunk_labels[hits], minlength=classes)
            true_probability[channel] += np.bincount(
                chunk_labels, weights=probabilities[np.arange(len(chunk_labels)), chunk_labels], minlength=classes
            )
    return correct, true_probability


def feature_visualisations(
    net, name: str, level: np.ndarray, steps: int = VISUAL_STEPS, seed_images: np.ndarray | None = None
) -> np.ndarray:
    """(C, 28, 28) inputs in [0, 1] that maximise each channel's mean ReLU'd activation (divided by
    ``level``, its mean on the test set); dead channels (level 0) get a black image."""
    import keras
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.activation_maximization.callbacks import Callback
    from tf_keras_vis.activation_maximization.input_modifiers import Jitter
    from tf_keras_vis.activation_maximization.regularizers import Norm, TotalVariation2D

    layer = net.get_layer(name)
    layer_model = keras.Model(net.inputs, layer.output)
    channels = layer_model.output.shape[-1]
    alive = np.flatnonzero(level > 0)
    result = np.zeros((channels, 28, 28), dtype=np.float32)
    if not len(alive):
        return result
    weights = tf.constant(np.eye(channels, dtype=np.float32)[alive] / level[alive, None].astype(np.float32))

    def score(output):
        # Leaky, so a unit that is off for the noise seed still gets a gradient (with the plain ReLU half of
        # block 4's 3x3 channels never moved from zero); mostly ReLU, so it still rewards what is passed on.
        return tf.reduce_sum(tf.reduce_mean(tf.nn.leaky_relu(output, VISUAL_LEAK), axis=(1, 2)) * weights, axis=-1)

    np.random.seed(VISUAL_SEED)  # Jitter draws its shifts from NumPy's global generator
    tf.random.set_seed(VISUAL_SEED)
    seed = np.random.default_rng(VISUAL_SEED).uniform(0.1, 0.3, (len(alive), 28, 28, 1)).astype(np.float32)
    if seed_images is not None:
        seed = np.asarray(seed_images, dtype=np.float32)[alive].reshape(len(alive), 28, 28, 1)
    selector = np.eye(channels, dtype=np.float32)[alive]

    class KeepBest(Callback):
        """The image with the highest ReLU'd mean activation seen so far, per channel: deep units can
        switch off entirely after a large step (no gradient back), so the last image is not always the best."""

        def __init__(self):
            self.best, self.images = np.full(len(alive), -np.inf), seed[..., 0].copy()

        def __call__(self, i, values, grads, scores, model_outputs, **kwargs):
            images = np.asarray(values[0])
            reached = (np.maximum(np.asarray(layer_model(images)), 0).mean(axis=(1, 2)) * selector).sum(axis=1)
            better = reached > self.best
            self.best[better], self.images[better] = reached[better], images[better, ..., 0]

    keep = KeepBest()
    activation = layer.activation
    layer.activation = keras.activations.linear  # optimise the value before the layer's ReLU (restored below)
    try:
        ActivationMaximization(layer_model, clone=False)(
            score,
            seed_input=seed,
            input_range=(0.0, 1.0),
            input_modifiers=[Jitter(jitter=VISUAL_JITTER)],
            regularizers=[TotalVariation2D(weight=VISUAL_TV_WEIGHT), Norm(weight=VISUAL_L2_WEIGHT, p=2)],
            steps=steps,
            optimizer=keras.optimizers.Adam(VISUAL_LEARNING_RATE),
            callbacks=[keep],
        )
    finally:
        layer.activation = activation
    result[alive] = np.clip(keep.images, 0.0, 1.0)
    return result


def channel_means(net, name: str, images: np.ndarray) -> np.ndarray:
    """(N,) mean ReLU'd activation of channel n of layer ``name`` for image n (N = its channels)."""
    import keras

    outputs = np.asarray(keras.Model(net.inputs, net.get_layer(name).output).predict_on_batch(images))
    return np.maximum(outputs, 0).mean(axis=(1, 2))[np.arange(len(images)), np.arange(len(images))]


def compute(
    folder: Path, images: int = 10_000, probe_per_class: int = PROBE_PER_CLASS, steps: int = VISUAL_STEPS
) -> dict:
    """Compute (or continue) the atlas of the run in ``folder`` and write atlas.npz atomically."""
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input

    folder = Path(folder)
    started = time.time()
    progress_file = folder / runs.ATLAS_PROGRESS_FILE
    runs.load_results(folder)  # a complete, valid run folder (RunFolderError otherwise)
    model_sha = runs.file_sha256(folder / runs.MODEL_FILE)
    partial = PartialResults(
        folder / runs.ATLAS_PARTIAL_FILE, f"{model_sha}|{images}|{probe_per_class}|{steps}|{VERSION}"
    )
    net = tgn.load_model(folder / runs.MODEL_FILE)
    layers = tgn.conv_layers()
    channels = np.array([net.get_layer(name).output.shape[-1] for name in layers])
    offsets = np.concatenate([[0], np.cumsum(channels)])
    test = load_split("test")
    x, labels = to_model_input(test.images[:images]), test.labels[:images].astype(np.int64)

    if "top_index" not in partial.arrays:
        stage_started = time.time()
        stats = activation_statistics(
            net,
            layers,
            x,
            labels,
            progress=lambda done, total: write_progress(progress_file, "top images", done, total, started),
        )
        partial.add(time.time() - stage_started, **stats)

    probe = probe_indices(labels, probe_per_class)
    for number, name in enumerate(layers):
        write_progress(progress_file, "knock-outs", number, len(layers), started)
        if f"knockout_correct|{name}" not in partial.arrays:
            stage_started = time.time()
            correct, probability = knockout_layer(net, name, x[probe], labels[probe])
            partial.add(
                time.time() - stage_started,
                **{f"knockout_correct|{name}": correct, f"knockout_probability|{name}": probability},
            )

    level = partial.arrays["level"]
    for number, name in enumerate(layers):
        write_progress(progress_file, "feature visualisations", number, len(layers), started)
        if f"visual|{name}" not in partial.arrays:
            stage_started = time.time()
            part = slice(offsets[number], offsets[number + 1])
            visual = feature_visualisations(net, name, level[part], steps)
            reached = channel_means(net, name, visual[..., None])
            partial.add(time.time() - stage_started, **{f"visual|{name}": visual, f"visual_mean|{name}": reached})

    baseline = np.asarray(net.predict_on_batch(x[probe]))
    base_hits = baseline.argmax(axis=1) == labels[probe]
    classes = int(labels.max()) + 1
    arrays = {key: partial.arrays[key] for key in ("top_index", "top_value", "top_peak", "peak_max", "class_mean")}
    arrays.update(level=level, best_mean=partial.arrays["best_mean"])
    stacked = {
        kind: np.concatenate([partial.arrays[f"{kind}|{name}"] for name in layers])
        for kind in ("knockout_correct", "knockout_probability", "visual", "visual_mean")
    }
    geometry = np.array([layer_geometry(name) for name in layers])
    atlas = dict(
        arrays,
        layers=np.array(layers),
        channels=channels,
        field=geometry[:, 0],
        jump=geometry[:, 1],
        grid=np.array([net.get_layer(name).output.shape[1] for name in layers]),
        top_index=arrays["top_index"].astype(np.int32),
        top_peak=arrays["top_peak"].astype(np.uint8),
        visual=np.round(stacked["visual"] * 255).astype(np.uint8),
        visual_mean=stacked["visual_mean"].astype(np.float32),
        probe_indices=probe.astype(np.int32),
        probe_correct=np.bincount(labels[probe][base_hits], minlength=classes),
        probe_count=np.bincount(labels[probe], minlength=classes),
        probe_true_probability=np.bincount(
            labels[probe], weights=baseline[np.arange(len(probe)), labels[probe]], minlength=classes
        ),
        knockout_correct=stacked["knockout_correct"].astype(np.int32),
        knockout_true_probability=stacked["knockout_probability"],
        images=np.array(images),
        model_sha256=np.array(model_sha),
        version=np.array(VERSION),
        steps=np.array(steps),
        seconds=np.array(float(partial.arrays["seconds"])),
    )
    runs.write_npz_atomic(folder / runs.ATLAS_FILE, **atlas)
    (folder / runs.ATLAS_PARTIAL_FILE).unlink(missing_ok=True)
    (folder / runs.ATLAS_PROGRESS_FILE).unlink(missing_ok=True)
    return atlas


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain.atlas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=runs.SHIPPED_RUNS[runs.DEFAULT_RUN], help="run folder")
    parser.add_argument("--images", type=int, default=10_000, help="test images searched for top images (all)")
    parser.add_argument("--probe-per-class", type=int, default=PROBE_PER_CLASS, help="knock-out probe images per class")
    parser.add_argument("--steps", type=int, default=VISUAL_STEPS, help="gradient steps per feature visualisation")
    parser.add_argument("--rebuild-shipped", action="store_true", help=guard.REBUILD_HELP)
    args = parser.parse_args(argv)
    if not (TOP <= args.images <= 10_000 and 1 <= args.probe_per_class <= 1_000 and 1 <= args.steps <= 10_000):
        parser.error(f"need {TOP} <= --images <= 10000, 1 <= --probe-per-class <= 1000, 1 <= --steps <= 10000")
    code, atlas = guard.run_analysis(
        "explain.atlas",
        args.run,
        args.rebuild_shipped,
        lambda: compute(args.run, args.images, args.probe_per_class, args.steps),
    )
    if code:
        return code
    print(
        f"Wrote {args.run / runs.ATLAS_FILE}: {int(atlas['channels'].sum())} channels in "
        f"{float(atlas['seconds']) / 60:.1f} min.",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
