"""The run's default map of every test image, and its per-image test, computed once for everybody.

    python -m explain.default_maps --run runs/my-run       # about 30-60 minutes on 2 CPU cores

A class of thirty opening the Saliency page, the Quiz's reveal or a mistake's explanation all ask for the
same thing: the run's default map (its scorecard's pick) of a test image, and how that map fares against
the model-free controls on that image. Both are the same for every student, so they are computed here, once
per run, and stored in the run folder (``default_maps.npz``); the pages read them without TensorFlow.

For each of the 10,000 test images: the default map for the predicted class (stored as uint8 of its own
peak, plus the peak in the method's units), and for misclassified images also the map for the true class;
a CAM is stored at its layer's resolution (14x14 at block 2), which ``methods.expand_cam`` stretches to the
28x28 map exactly as tf-keras-vis does, so the file is a quarter of the size (or less) and shows the same map;
the per-image deletion and insertion curves of the map and of the controls (the mean of the random orders,
garment pixels first, edges first), exactly as the Saliency page's live test computes them (same seed: the
image's index), with their AUCs in float32. The work is saved after every chunk
(``.default_maps.partial.npz``), so rerunning the command after an interruption continues where it stopped.

    python -m explain.default_maps --run runs/my-run --maps-only   # a minute: a version-1 file's maps, smaller

``--maps-only`` recomputes only the maps of an existing file (the same model, method and layer), storing
them at their layer's resolution, and keeps its per-image tests, which do not depend on how the maps are stored.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from explain import faithfulness as fa  # noqa: E402
from explain import methods  # noqa: E402
from runfolder import artefacts, guard, runs  # noqa: E402
from runfolder.partial import PartialResults, write_progress  # noqa: E402

CHUNK = 50  # images per saved step
PREDICT_CHUNK = 512  # images per model call (offline: larger than the app's interactive chunks)
VERSION = "default-maps-2"  # 2: CAMs at their layer's resolution; 1: every map 28x28
ORDERS = ("map", *fa.CONTROLS)  # rows of the stored curves: the map, then each control (random: their mean)


def quantise(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 maps, float32 peaks): each map as a fraction of its own peak in 255 levels."""
    maps = np.clip(np.asarray(maps, dtype=np.float32), 0.0, None)
    peaks = maps.max(axis=(1, 2), initial=0.0)
    scaled = np.divide(maps, peaks[:, None, None], out=np.zeros_like(maps), where=peaks[:, None, None] > 0)
    return np.round(scaled * 255).astype(np.uint8), peaks.astype(np.float32)


def verdict_rows(verdict: fa.ImageVerdict) -> tuple[np.ndarray, np.ndarray]:
    """(curves (2 tests, 4 orders, steps + 1), AUCs (2, 4)) of one image's verdict, in ORDERS order."""
    curves = np.zeros((len(fa.TESTS), len(ORDERS), fa.STEPS + 1), dtype=np.float32)
    aucs = np.zeros((len(fa.TESTS), len(ORDERS)), dtype=np.float32)
    for t, test in enumerate(fa.TESTS):
        curves[t, 0] = getattr(verdict.map_curves, test)[0]
        aucs[t, 0] = verdict.map_auc(test)
        for c, name in enumerate(fa.CONTROLS, start=1):
            curves[t, c] = getattr(verdict.control_curves[name], test).mean(axis=0)
            aucs[t, c] = verdict.control_auc(test, name)
    return curves, aucs


def compute(folder: Path) -> dict:
    """Compute (or continue) the run's default maps and per-image tests; write default_maps.npz."""
    from dataset.fashion_mnist import load_split, to_model_input

    folder = Path(folder)
    started = time.time()
    progress_file = folder / runs.DEFAULT_MAPS_PROGRESS_FILE
    results = runs.load_results(folder)
    model_sha = runs.file_sha256(folder / runs.MODEL_FILE)
    try:
        card = artefacts.read_scorecard(folder, model_sha)
    except artefacts.ScorecardError:
        card = None  # the app's fallback default, as the pages use for a run without a scorecard
    method, layer = methods.default_view(card)
    layer = layer if method in methods.CAM_METHODS else methods.INPUT_LAYER
    partial = PartialResults(
        folder / runs.DEFAULT_MAPS_PARTIAL_FILE, f"{model_sha}|{method}@{layer}|{VERSION}|{fa.STEPS}|{fa.RANDOM_ORDERS}"
    )
    predict, default_maps = _map_maker(folder, method, layer)
    test = load_split("test")
    predicted = results.probabilities.argmax(axis=1)
    labels = results.labels
    total = len(labels)
    done = partial.count("map_u8")
    write_progress(progress_file, "maps", done, total, started)
    while done < total:
        chunk = np.arange(done, min(done + CHUNK, total))
        chunk_started = time.time()
        x = to_model_input(test.images[chunk])
        native = default_maps(x, predicted[chunk])
        raw = methods.expand_cam(native)  # the 28x28 maps the app shows, which the tests score
        wrong = chunk[predicted[chunk] != labels[chunk]]
        other = default_maps(to_model_input(test.images[wrong]), labels[wrong])
        rows = [
            verdict_rows(fa.image_verdict(predict, x[i], raw[i], int(predicted[index]), seed=int(index)))
            for i, index in enumerate(chunk)
        ]
        levels, peaks = quantise(native)
        other_levels, other_peaks = quantise(other)
        partial.extend(
            {
                "map_u8": levels,
                "map_peak": peaks,
                "curves": np.stack([r[0] for r in rows]).astype(np.float16),
                "aucs": np.stack([r[1] for r in rows]),
                "other_index": wrong.astype(np.int32),
                "other_u8": other_levels,
                "other_peak": other_peaks,
            }
        )
        partial.save(time.time() - chunk_started)
        done = partial.count("map_u8")
        write_progress(progress_file, "maps", done, total, started)

    arrays = dict(partial.arrays)
    seconds = float(arrays.pop("seconds", 0.0))
    arrays.update(
        method=np.array(method),
        layer=np.array(layer),
        targets=predicted.astype(np.uint8),
        other_target=labels[arrays["other_index"]].astype(np.uint8),
        model_sha256=np.array(model_sha),
        version=np.array(VERSION),
        seconds=np.array(seconds),
    )
    runs.write_npz_atomic(folder / runs.DEFAULT_MAPS_FILE, **arrays)
    (folder / runs.DEFAULT_MAPS_PARTIAL_FILE).unlink(missing_ok=True)
    progress_file.unlink(missing_ok=True)
    return arrays


def _map_maker(folder: Path, method: str, layer: str):
    """(predict, maps): the run's model's probabilities for a batch, and its ``method`` maps at ``layer`` for a
    batch of images and their target classes, raw, each at its layer's resolution (MAP_SIDE)."""
    import model as tgn
    from explain.occlusion import occlusion_maps
    from explain.saliency import build_explainers, saliency_maps

    net = tgn.load_model(Path(folder) / runs.MODEL_FILE)
    explainers = build_explainers(net)

    def predict(batch):
        chunks = range(0, len(batch), PREDICT_CHUNK)
        return np.concatenate([np.asarray(net.predict_on_batch(batch[i : i + PREDICT_CHUNK])) for i in chunks])

    def maps(x, targets):
        side = methods.MAP_SIDE[layer]
        if not len(x):
            return np.zeros((0, side, side), dtype=np.float32)
        if method == "occlusion":  # its 169 copies per image go through the model in large batches
            return occlusion_maps(predict, x, targets)
        return saliency_maps(explainers, x, method, targets, layer, normalize=False, expand=False)

    return predict, maps


def store_native_maps(folder: Path) -> dict:
    """Recompute the maps of ``folder``'s existing default_maps.npz at their layer's resolution (version 2) and
    keep its per-image tests; the file must be of the run's current model. A minute instead of an hour."""
    from dataset.fashion_mnist import load_split, to_model_input

    folder = Path(folder)
    started = time.time()
    results = runs.load_results(folder)
    model_sha = runs.file_sha256(folder / runs.MODEL_FILE)
    try:
        artefacts.read_default_maps(folder, model_sha, results.labels, results.predictions)
    except artefacts.DefaultMapsError as exc:
        raise runs.RunFolderError(f"{exc} Run the command without --maps-only to compute them.") from exc
    with np.load(folder / runs.DEFAULT_MAPS_FILE, allow_pickle=False) as kept:  # valid: every array, kept as is
        arrays = {name: kept[name] for name in kept.files}
    method, layer = str(arrays["method"]), str(arrays["layer"])
    _, default_maps = _map_maker(folder, method, layer)
    images = load_split("test").images
    for which, index, targets in (
        ("map", np.arange(len(arrays["targets"])), arrays["targets"]),
        ("other", arrays["other_index"], arrays["other_target"]),
    ):
        chunks = [slice(i, i + PREDICT_CHUNK) for i in range(0, max(len(index), 1), PREDICT_CHUNK)]  # one if none
        native = np.concatenate([default_maps(to_model_input(images[index[c]]), targets[c]) for c in chunks])
        arrays[f"{which}_u8"], arrays[f"{which}_peak"] = quantise(native)
    arrays.update(version=np.array(VERSION), seconds=np.array(float(arrays["seconds"]) + time.time() - started))
    runs.write_npz_atomic(folder / runs.DEFAULT_MAPS_FILE, **arrays)
    return arrays


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain.default_maps", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=runs.SHIPPED_RUNS[runs.DEFAULT_RUN], help="run folder")
    parser.add_argument("--rebuild-shipped", action="store_true", help=guard.REBUILD_HELP)
    parser.add_argument(
        "--maps-only",
        action="store_true",
        help="recompute only the maps of an existing default_maps.npz, at their layer's resolution; keep its tests",
    )
    args = parser.parse_args(argv)
    work = store_native_maps if args.maps_only else compute
    code, arrays = guard.run_analysis("explain.default_maps", args.run, args.rebuild_shipped, lambda: work(args.run))
    if code:
        return code
    what = "maps stored at their layer's resolution, tests kept" if args.maps_only else "maps and tests"
    print(
        f"Wrote {args.run / runs.DEFAULT_MAPS_FILE}: {arrays['method']}@{arrays['layer']} for {len(arrays['targets'])} "
        f"images ({what}); {float(arrays['seconds']) / 60:.1f} min of computing in all.",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
