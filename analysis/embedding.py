"""A 2-D map of the network's feature space: t-SNE of the 250 penultimate features of the test images.

    python -m analysis.embedding --run model/shipped      # writes embedding.npz into the run folder

openTSNE (PCA initialisation, a fixed seed) places the 10,000 test images so that images the network
describes alike lie close together. Row i of the map is test image i. A new picture (the user's) is
placed by a stated approximation: the distance-weighted mean position of its nearest test images in
the 250-d space (t-SNE has no exact way to add a point afterwards without its optimisation).
TensorFlow-free; the file holds plain arrays (no pickles).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from analysis import familiarity
from runfolder import artefacts, guard, runs
from runfolder.artefacts import EmbeddingError  # noqa: F401  (the pages catch it by this name)
from runfolder.partial import write_progress

SEED = 7
PERPLEXITY = 30.0
PLACE_NEIGHBOURS = 10


def features_digest(features: np.ndarray) -> str:
    """SHA-256 of the features as stored (float16), so a map made from other features is noticed."""
    return hashlib.sha256(np.ascontiguousarray(features, dtype=np.float16).tobytes()).hexdigest()


def compute(features: np.ndarray, progress=None) -> np.ndarray:
    """(N, 2) float32 t-SNE coordinates; ``progress(fraction)`` is called as the optimisation runs."""
    from openTSNE import TSNE

    every, total = 50, 750  # openTSNE's defaults: 250 early-exaggeration iterations, then 500
    done = [0]  # iterations so far: the callback's own count restarts with each phase

    def report(iteration, error, embedding):
        done[0] += every
        progress(min(done[0] / total, 1.0))

    tsne = TSNE(
        n_components=2,
        perplexity=PERPLEXITY,
        initialization="pca",
        random_state=SEED,
        n_jobs=2,
        callbacks=None if progress is None else report,
        callbacks_every_iters=every,
        verbose=False,
    )
    return np.asarray(tsne.fit(np.asarray(features, dtype=np.float32)), dtype=np.float32)


def write(folder: Path, progress=None) -> np.ndarray:
    """Compute the run's map from its stored features and write embedding.npz atomically."""
    folder = Path(folder)
    with np.load(folder / runs.OUTPUTS_FILE, allow_pickle=False) as outputs:
        features = outputs["features"]
    started = time.time()
    xy = compute(features, progress)
    runs.write_npz_atomic(
        folder / runs.EMBEDDING_FILE,
        xy=xy,
        features_sha256=np.array(features_digest(features)),
        seed=np.array(SEED),
        perplexity=np.array(PERPLEXITY),
        seconds=np.array(time.time() - started),
    )
    return xy


def read(folder: Path, features: np.ndarray) -> np.ndarray:
    """The run's (N, 2) map, checked against its features (runfolder.artefacts); EmbeddingError if absent
    or inconsistent."""
    return artefacts.read_embedding(folder, features, features_digest(features))


def place(query: np.ndarray, features: np.ndarray, xy: np.ndarray, k: int = PLACE_NEIGHBOURS):
    """(position (2,), neighbour indices) of a new feature vector: the mean position of its k nearest
    test images in feature space, weighted by 1 / distance."""
    indices, distances = familiarity.nearest(query, features, k)
    weights = 1.0 / np.maximum(distances, 1e-6)
    return (xy[indices] * weights[:, None]).sum(axis=0) / weights.sum(), indices


def selected_indices(points, traces: list[np.ndarray]) -> np.ndarray:
    """Test indices of the points a plotly selection holds (each a dict with ``curve_number`` and
    ``point_index``); points of other traces (the user's picture) are left out."""
    chosen = {
        int(traces[p["curve_number"]][p["point_index"]])
        for p in points
        if p.get("curve_number", -1) < len(traces) and 0 <= p.get("point_index", -1) < len(traces[p["curve_number"]])
    }
    return np.array(sorted(chosen), dtype=int)


GALLERY_ORDER = "mistakes first, each group from the most confident answer down"


def gallery_order(indices: np.ndarray, labels: np.ndarray, predictions: np.ndarray, confidence: np.ndarray):
    """The selected test images in the order the page shows them (GALLERY_ORDER): the misclassified ones
    first, then the rest, each group by the confidence of the network's answer, highest first (ties by index)."""
    indices = np.asarray(indices, dtype=int)
    right = labels[indices] == predictions[indices]
    return indices[np.lexsort((indices, -np.asarray(confidence)[indices], right))]


def class_mix(indices: np.ndarray, labels: np.ndarray, predictions: np.ndarray, class_names):
    """Counts per class of the selected images, by true and by predicted class (classes present only)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "class": list(class_names),
            "true": np.bincount(labels[indices], minlength=len(class_names)),
            "predicted": np.bincount(predictions[indices], minlength=len(class_names)),
        }
    )
    return frame[(frame["true"] > 0) | (frame["predicted"] > 0)].sort_values("true", ascending=False)


def groups(class_names) -> dict[str, str]:
    """Groups of test images to pick without drawing on the map (a phone, a keyboard): key -> label."""
    return {
        **{f"wrong:{c}": f"Misclassified {name} images" for c, name in enumerate(class_names)},
        **{f"all:{c}": f"All {name} images" for c, name in enumerate(class_names)},
    }


def group_indices(group: str, labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """The test images of a key of ``groups``: 'wrong:6' (true class 6, answered otherwise), 'all:6'."""
    kind, _, number = group.partition(":")
    members = labels == int(number)
    if kind == "wrong":
        members &= predictions != labels
    elif kind != "all":
        raise ValueError(f"unknown group {group!r}")
    return np.flatnonzero(members)


def map_summary(xy: np.ndarray, labels: np.ndarray, predictions: np.ndarray, class_names) -> str:
    """The map's main facts in words: the two classes whose clouds lie closest (their centres, in units of
    the map's typical spread) and the class whose images are most often mistaken."""
    classes = np.unique(labels)
    centres = np.stack([xy[labels == c].mean(axis=0) for c in classes])
    spread = float(
        np.median([np.linalg.norm(xy[labels == c] - centres[i], axis=1).mean() for i, c in enumerate(classes)])
    )
    distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    distance[np.diag_indices_from(distance)] = np.inf
    a, b = np.unravel_index(int(distance.argmin()), distance.shape)
    wrong = labels != predictions
    errors = np.bincount(labels[wrong], minlength=len(class_names))
    worst = int(errors.argmax())
    return (
        f"{len(labels):,} test images, one point each. The clouds of {class_names[classes[a]]} and "
        f"{class_names[classes[b]]} lie closest ({distance[a, b] / spread:.1f} typical spreads apart). "
        f"{int(wrong.sum()):,} points are mistakes, most of them {class_names[worst]} ({errors[worst]:,})."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.embedding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=runs.SHIPPED_RUNS[runs.DEFAULT_RUN], help="run folder")
    parser.add_argument("--rebuild-shipped", action="store_true", help=guard.REBUILD_HELP)
    args = parser.parse_args(argv)
    started = time.time()
    progress_file = args.run / runs.EMBEDDING_PROGRESS_FILE

    def report(fraction: float) -> None:
        write_progress(progress_file, "t-SNE", round(fraction * 100), 100, started)

    code, _ = guard.run_analysis(
        "analysis.embedding", args.run, args.rebuild_shipped, lambda: write(args.run, progress=report)
    )
    if code:
        return code
    progress_file.unlink(missing_ok=True)
    print(f"Wrote {args.run / runs.EMBEDDING_FILE} in {time.time() - started:.0f} s.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
