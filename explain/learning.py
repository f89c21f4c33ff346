"""The training's story, from the snapshots taken during training (``training.snapshots``): ``learning.npz``.

    python -m explain.learning --run runs/my-run        # after training; a minute or two on 2 CPU cores

Frames: every snapshot epoch, plus the selected epoch (the run's model, best on validation). For each frame:

- the answers on the 10,000 test images (probabilities, float16): from the snapshot, or the run's own
  ``test_outputs.npz`` for the selected epoch;
- the positions in feature space of 2,000 test images (the first 200 of each class), **aligned to the final
  map**: the run's ``embedding.npz`` (the Feature space page's t-SNE of the selected model's features) is the
  reference, and each snapshot's features are placed into it with openTSNE's ``transform`` (Poličar et al.,
  2019: each new point starts at the median of its nearest reference points and is optimised against the
  fixed reference). The transform moves points by a constant offset of its own (a few units on a map 100
  wide, measured by placing the selected model's own features), so that offset is measured once and taken
  off every frame: a point whose features did not change stays where the final map has it;
- the run's default map (its scorecard's pick, else the app's default) of a probe set, the first 10 test
  images of each class, for the predicted class, as uint8 of its own peak plus the peak.

Each frame is saved as it is done (``.learning.partial.npz``), so an interrupted build continues. TensorFlow is
needed for the features and the maps; the file holds plain arrays and is read without it.

**A rerun's story.** A run trained before snapshots were recorded (the shipped models) can be given the story
of a rerun of its recipe: the same settings and seed, trained again with snapshots. Training is not repeatable
bit for bit, so the rerun is a sibling, not the same network, and the file says so (``trained_model_sha256``
differs from ``model_sha256``; the rerun's own accuracies and where it was trained are stored for the page):

    python -m explain.learning --run model/shipped --from-rerun runs/shipped-rerun --rebuild-shipped

The frames, the map and its alignment are the rerun's own; the probe maps use the run's default map.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from runfolder import artefacts, guard, runs  # noqa: E402
from runfolder.partial import PartialResults, write_progress  # noqa: E402
from training import snapshots  # noqa: E402

VERSION = "learning-2"  # 2: which model was trained (a rerun's story), read beside version 1
MAP_POINTS_PER_CLASS = 200
PROBE_PER_CLASS = 10
TRANSFORM_ITERATIONS = 100  # openTSNE's transform: points settle well before its default of 250 (measured)
SEED = 7


def first_of_each_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` test images of each class, in index order."""
    labels = np.asarray(labels)
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]))


class AlignedMap:
    """The final map as a fixed reference into which other features are placed (openTSNE's transform), with
    the transform's own constant offset measured on the reference's features and taken off."""

    def __init__(self, features: np.ndarray, xy: np.ndarray, seed: int = SEED):
        from openTSNE import TSNEEmbedding
        from openTSNE.affinity import PerplexityBasedNN

        self.xy = np.asarray(xy, dtype=np.float64)
        features = np.asarray(features, dtype=np.float32)
        affinities = PerplexityBasedNN(features, perplexity=30, random_state=seed, n_jobs=2)
        self.reference = TSNEEmbedding(self.xy, affinities, random_state=seed, n_jobs=2)
        self.offset = np.zeros(2)
        self.offset = (self.place(features) - self.xy).mean(axis=0)

    def place(self, features: np.ndarray) -> np.ndarray:
        placed = self.reference.transform(np.asarray(features, dtype=np.float32), n_iter=TRANSFORM_ITERATIONS)
        return np.asarray(placed, dtype=np.float64) - self.offset


def frames_of(folder: Path) -> tuple[list[int], int]:
    """(frame epochs in order, the selected epoch): every recorded snapshot and the selected epoch."""
    selected = int(runs.read_json(Path(folder) / runs.METRICS_FILE)["best_epoch"])
    return sorted(set(snapshots.recorded(folder)) | {selected}), selected


def default_map_choice(folder: Path, model_sha: str) -> tuple[str, str]:
    from explain import methods

    try:
        card = artefacts.read_scorecard(folder, model_sha)
    except artefacts.ScorecardError:
        card = None
    if card is None:
        return methods.DEFAULT_METHOD, methods.DEFAULT_LAYER
    return card["default"]["method"], card["default"]["layer"]


def trained_on(folder: Path) -> str:
    """Where a run was trained, in words ('JAX on NVIDIA H200'), from its model card."""
    hardware = runs.read_json(Path(folder) / runs.CARD_FILE, default={}).get("hardware", {})
    backend = {"jax": "JAX", "tensorflow": "TensorFlow", "torch": "PyTorch"}.get(hardware.get("backend"), "Keras")
    return f"{backend} on {hardware.get('device') or 'an unknown device'}"[:200]  # learning.npz allows 200


def rerun_problem(rerun: Path, folder: Path) -> str | None:
    """Why ``rerun`` cannot tell ``folder``'s story (None if it can): it must be a complete run of the same
    settings (recipe, seed, images), with snapshots."""
    if Path(rerun).resolve() == Path(folder).resolve():
        return "--from-rerun names the run itself: leave it out to build the run's own story."
    try:
        runs.load_results(rerun)
    except runs.RunFolderError as exc:
        return f"--from-rerun {rerun}: {exc}"
    from training.config import TrainConfig

    def recorded(run: Path) -> dict:
        card = runs.read_json(Path(run) / runs.CARD_FILE, default={})
        # The settings with those added since at the value older runs used; the same images, split the same way.
        settings = TrainConfig.from_dict(card["settings"]).to_dict()
        return {**settings, **{k: card.get(k) for k in ("data_md5", "validation_split_seed", "train_images")}}

    mine, theirs = recorded(rerun), recorded(folder)
    differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    if differ:
        return (
            f"--from-rerun {rerun} was trained with other settings than --run {folder} ({', '.join(differ)} "
            "differ): retrain it with the run's own settings."
        )
    if len(snapshots.recorded(folder)) >= 2:
        return f"--run {folder} has snapshots of its own: build its own story (leave out --from-rerun)."
    return None


def compute(folder: Path, map_points_per_class: int = MAP_POINTS_PER_CLASS, rerun: Path | None = None) -> dict:
    """Build (or continue) the run's learning.npz from its snapshots, or from those of ``rerun``, a rerun of
    its recipe (its frames and map; the run's default map for the probe images)."""
    if rerun is not None:
        problem = rerun_problem(rerun, folder)  # before the rerun's lock: it may name the run itself
        if problem:
            raise runs.RunFolderError(problem)
        method, layer = default_map_choice(folder, runs.file_sha256(Path(folder) / runs.MODEL_FILE))
        with guard.folder_lock(rerun):  # its frames are kept there as they are done
            story = _story(Path(rerun), map_points_per_class, method, layer)
        metrics = runs.read_json(Path(rerun) / runs.METRICS_FILE)
        story.update(
            model_sha256=np.array(runs.file_sha256(Path(folder) / runs.MODEL_FILE)),
            rerun_test_accuracy=np.array(float(metrics["test_accuracy"])),
            rerun_validation_accuracy=np.array(float(metrics["best_val_accuracy"])),
            rerun_trained_on=np.array(trained_on(rerun)),
        )
    else:
        story = _story(Path(folder), map_points_per_class)
    runs.write_npz_atomic(Path(folder) / runs.LEARNING_FILE, **story)
    built = Path(rerun if rerun is not None else folder)  # where the frames were kept as they were done
    (built / runs.LEARNING_PARTIAL_FILE).unlink(missing_ok=True)
    (built / runs.LEARNING_PROGRESS_FILE).unlink(missing_ok=True)
    return story


def _story(folder: Path, map_points_per_class: int, method: str | None = None, layer: str | None = None) -> dict:
    """The arrays of ``folder``'s story, from its snapshots (resumable); the maps are ``method`` at ``layer``,
    else the run's default."""
    import keras

    import model as tgn
    from analysis import embedding
    from dataset.fashion_mnist import load_split, to_model_input
    from explain.default_maps import quantise
    from explain.saliency import build_explainers, saliency_maps

    folder = Path(folder)
    started = time.time()
    epochs, selected = frames_of(folder)
    if len(epochs) < 2:
        raise runs.RunFolderError(
            f"{folder} has no snapshots from training (runs trained before they were recorded have none): "
            "train it again to record them."
        )
    model_sha = runs.file_sha256(folder / runs.MODEL_FILE)
    results = runs.load_results(folder)
    final_features = runs.load_features(folder)
    try:
        xy = embedding.read(folder, final_features)
    except embedding.EmbeddingError:  # no map yet: make the Feature space page's map first (a minute or two)
        xy = embedding.write(folder)
    test = load_split("test")
    labels = np.asarray(test.labels)
    points = first_of_each_class(labels, map_points_per_class)
    probe = first_of_each_class(labels, PROBE_PER_CLASS)
    if method is None:
        method, layer = default_map_choice(folder, model_sha)
    partial = PartialResults(
        folder / runs.LEARNING_PARTIAL_FILE,
        f"{model_sha}|{VERSION}|{','.join(map(str, epochs))}|{map_points_per_class}|{method}@{layer}",
    )
    aligned = AlignedMap(final_features[points], xy[points])
    x_points, x_probe = to_model_input(test.images[points]), to_model_input(test.images[probe])
    net = tgn.load_model(folder / runs.MODEL_FILE)
    progress = folder / runs.LEARNING_PROGRESS_FILE
    for position, epoch in enumerate(epochs):
        if f"epoch_{epoch}" in partial.arrays:
            continue
        write_progress(progress, "snapshots", position, len(epochs), started)
        frame_started = time.time()
        if epoch == selected:
            model, probabilities = net, results.probabilities
            positions = xy[points]
        else:
            model = tgn.build_tiny_googlenet()
            snapshots.load_weights(model, folder, epoch)
            probabilities = snapshots.read_answers(folder, epoch)[0]
            features = keras.Model(model.input, model.get_layer(tgn.PENULTIMATE).output).predict_on_batch(x_points)
            positions = aligned.place(np.asarray(features))
        predicted = np.asarray(probabilities)[probe].argmax(axis=1)
        np.random.seed(SEED)  # SmoothGrad's noise, if that is the default
        maps = saliency_maps(build_explainers(model), x_probe, method, predicted, layer, normalize=False)
        levels, peaks = quantise(maps)
        partial.add(
            time.time() - frame_started,
            **{
                f"epoch_{epoch}": np.array(epoch),
                f"probabilities_{epoch}": np.asarray(probabilities, dtype=np.float16),
                f"positions_{epoch}": positions.astype(np.float32),
                f"maps_{epoch}": levels,
                f"peaks_{epoch}": peaks,
            },
        )
    arrays = partial.arrays
    snapshot_seconds = [snapshots.read_answers(folder, e)[1] for e in epochs if e in snapshots.recorded(folder)]
    story = {
        "version": np.array(VERSION),
        "model_sha256": np.array(model_sha),
        "trained_model_sha256": np.array(model_sha),
        "epochs": np.array(epochs, dtype=np.int32),
        "selected_epoch": np.array(selected, dtype=np.int32),
        "probabilities": np.stack([arrays[f"probabilities_{e}"] for e in epochs]),
        "map_points": points.astype(np.int32),
        "positions": np.stack([arrays[f"positions_{e}"] for e in epochs]),
        "probe": probe.astype(np.int32),
        "probe_maps": np.stack([arrays[f"maps_{e}"] for e in epochs]),
        "probe_peaks": np.stack([arrays[f"peaks_{e}"] for e in epochs]),
        "method": np.array(method),
        "layer": np.array(layer),
        "alignment": np.array("openTSNE transform into the final map, its constant offset removed"),
        "snapshot_seconds": np.array(sum(snapshot_seconds)),
        "seconds": np.array(partial.seconds()),
    }
    return story  # the partial results go once the story is written (compute)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain.learning", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=runs.SHIPPED_RUNS[runs.DEFAULT_RUN], help="run folder")
    parser.add_argument(
        "--map-points",
        type=int,
        default=MAP_POINTS_PER_CLASS,
        help=f"test images per class on the moving map (default {MAP_POINTS_PER_CLASS})",
    )
    parser.add_argument(
        "--from-rerun",
        type=Path,
        metavar="RUN",
        help="tell the story of this rerun of --run's recipe (same settings, trained again with snapshots): for "
        "runs trained before snapshots were recorded",
    )
    parser.add_argument("--rebuild-shipped", action="store_true", help=guard.REBUILD_HELP)
    args = parser.parse_args(argv)
    if not 1 <= args.map_points <= 1000:
        parser.error("--map-points must be between 1 and 1000")

    code, story = guard.run_analysis(
        "explain.learning",
        args.run,
        args.rebuild_shipped,
        lambda: compute(args.run, args.map_points, rerun=args.from_rerun),
    )
    if code:
        return code
    print(
        f"Wrote {args.run / runs.LEARNING_FILE}: {len(story['epochs'])} frames, in {float(story['seconds']):.0f} s.",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
