"""The faithfulness scorecard of a run: how far can each saliency map be trusted on this model?

    python -m explain.scorecard --run model/shipped              # 500 images, 50 for randomisation
    python -m explain.scorecard --run runs/my-run --images 100 --cascade-images 20

For a fixed, seeded sample of test images and every method at every layer the app offers (maps
for the predicted class) it measures, with ``explain.faithfulness``: deletion and insertion curves
against three model-free controls, the share of images on which the map beats each control, the
blank-map rate; and, on the first ``--cascade-images`` of the sample, the cascading
model-randomisation check (``explain.randomisation``) and the correlation between the maps for the
predicted and the runner-up class. ``analysis.trust`` turns the numbers into verdicts by a stated
rule and picks the run's default method and layer; the result is written atomically to
``faithfulness.json`` in the run folder.

The work goes in chunks; after each, the per-image results so far are saved in
``.faithfulness.partial.npz`` (plain arrays, no pickles), so rerunning the same command after an
interruption continues where it stopped. Progress goes to ``.faithfulness.progress.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from analysis import trust  # noqa: E402
from explain import faithfulness as fa  # noqa: E402
from runfolder import guard, runs  # noqa: E402
from runfolder.partial import PartialResults, write_progress  # noqa: E402

PARTIAL_FILE = runs.SCORECARD_PARTIAL_FILE
PROGRESS_FILE = runs.SCORECARD_PROGRESS_FILE
SHIPPED_IMAGES, SHIPPED_CASCADE_IMAGES = 500, 50
CHUNK = 25
AUDIT_IMAGES = 10  # per-image AUCs stored for the first images of the sample, so a test can recompute them
SAMPLE_SEED = 2018  # the year of Adebayo et al.; fixed so every run is scored on the same images


def sample_indices(count: int, seed: int = SAMPLE_SEED, population: int = 10_000) -> np.ndarray:
    """A fixed random sample of test images (sorted), the same for every run."""
    return np.sort(np.random.default_rng(seed).choice(population, size=count, replace=False))


def entries() -> list[tuple[str, str]]:
    from explain.saliency import METHODS, method_layers

    return [(method, layer) for method in METHODS for layer in method_layers(method)]


def methods_version() -> str:
    """The methods' settings: per-image results saved under other settings are not reused."""
    from explain import occlusion, saliency

    return (
        f"smoothgrad-x-input:{saliency.SMOOTHGRAD_SAMPLES}:{saliency.SMOOTHGRAD_NOISE}|"
        f"faster-scorecam:{saliency.FASTER_SCORECAM_MAX_N}|occlusion:{occlusion.PATCH}:{occlusion.STRIDE}"
    )


def image_orders(image: np.ndarray, maps: list[np.ndarray], seed: int, position: int) -> tuple[list[str], list]:
    """Names and pixel orders for one image: the controls' orders, then one per map (in entries() order).

    The random stream is seeded by the image's position in the sample, so any image's orders can be
    recomputed alone (tests do); each map's ties take their draws in entries() order."""
    rng = np.random.default_rng([seed, position])
    controls = fa.control_orders(image, rng)
    names, orders = [], []
    for control in fa.CONTROLS:
        names += [f"control|{control}"] * len(controls[control])
        orders += controls[control]
    names += [f"map|{m}|{layer}" for m, layer in entries()]
    orders += [fa.order_from_map(saliency_values, rng) for saliency_values in maps]
    return names, orders


def score_curves(net, explainers, images, targets, offset: int, seed: int) -> dict[str, np.ndarray]:
    """Deletion and insertion AUCs and curves of every map and control, for a chunk of images."""
    from explain.saliency import is_blank, predict_in_chunks, saliency_maps

    predict = lambda batch: predict_in_chunks(net, batch, chunk=2048)  # noqa: E731  (offline: speed first)
    maps = {(m, layer): saliency_maps(explainers, images, m, targets, layer) for m, layer in entries()}
    out: dict[str, list] = {}
    for i, (image, target) in enumerate(zip(images, targets)):
        names, orders = image_orders(image, [maps[e][i] for e in entries()], seed, offset + i)
        curves = fa.curves(predict, image, orders, int(target))
        for name in dict.fromkeys(names):
            rows = [j for j, n in enumerate(names) if n == name]  # a control's several orders: their mean
            out.setdefault(f"deletion|{name}", []).append(curves.deletion[rows].mean(axis=0))
            out.setdefault(f"insertion|{name}", []).append(curves.insertion[rows].mean(axis=0))
        for m, layer in entries():
            out.setdefault(f"blank|{m}|{layer}", []).append(is_blank(maps[(m, layer)][i]))
    return {k: np.asarray(v) for k, v in out.items()}


def score_randomisation(net, images, targets, runner_up) -> dict[str, np.ndarray]:
    """Spearman correlations per image: trained vs each cascade stage, and predicted vs runner-up class."""
    from explain import randomisation
    from explain.saliency import build_explainers, saliency_maps

    trained = build_explainers(net)
    reference = {e: saliency_maps(trained, images, e[0], targets, e[1]) for e in entries()}
    out = {
        f"runner_up|{m}|{layer}": [
            fa.spearman(a, b)
            for a, b in zip(reference[(m, layer)], saliency_maps(trained, images, m, runner_up, layer))
        ]
        for m, layer in entries()
    }
    for stage, randomised in randomisation.cascade(net):
        explainers = build_explainers(randomised)
        for m, layer in entries():
            maps = saliency_maps(explainers, images, m, targets, layer)
            out[f"random|{stage}|{m}|{layer}"] = [fa.spearman(a, b) for a, b in zip(reference[(m, layer)], maps)]
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def build_scorecard(arrays: dict, pairs, sample: dict, settings: dict, model_sha256: str, seconds: float) -> dict:
    """faithfulness.json's content from the per-image arrays that explain.scorecard collected."""
    from explain.randomisation import CASCADE, STAGE_LABELS
    from explain.saliency import METHODS, method_label

    def mean(values) -> float | None:  # of the finite values (a blank map has no rank correlation)
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values)]
        return float(values.mean()) if values.size else None

    controls_auc = {
        test: {c: np.array([fa.auc(row) for row in arrays[f"{test}|control|{c}"]]) for c in fa.CONTROLS}
        for test in fa.TESTS
    }
    controls = {
        c: {
            **{f"{test}_auc": float(controls_auc[test][c].mean()) for test in fa.TESTS},
            "curves": {test: arrays[f"{test}|control|{c}"].mean(axis=0).tolist() for test in fa.TESTS},
        }
        for c in fa.CONTROLS
    }
    table = {}
    for method, layer in pairs:
        name = f"map|{method}|{layer}"
        blank = arrays[f"blank|{method}|{layer}"].astype(bool)
        kept = ~blank
        map_auc = {test: np.array([fa.auc(row) for row in arrays[f"{test}|{name}"]]) for test in fa.TESTS}
        entry = {
            "method": method,
            "layer": layer,
            "label": method_label(method, layer),
            "method_label": METHODS[method],
            "blank_rate": float(blank.mean()),
            "scored_images": int(kept.sum()),
            **{f"{test}_auc": mean(map_auc[test][kept]) for test in fa.TESTS},
            "beats": {
                test: {
                    c: mean([fa.beats(test, m, k) for m, k in zip(map_auc[test][kept], controls_auc[test][c][kept])])
                    for c in fa.CONTROLS
                }
                for test in fa.TESTS
            },
            "curves": {
                test: (arrays[f"{test}|{name}"][kept].mean(axis=0).tolist() if kept.any() else None)
                for test in fa.TESTS
            },
            "randomisation": {stage: mean(arrays[f"random|{stage}|{method}|{layer}"]) for stage in CASCADE},
            "runner_up_correlation": mean(arrays[f"runner_up|{method}|{layer}"]),
        }
        entry["verdict"], entry["reason"] = trust.judge(entry)
        entry["passes"] = entry["verdict"] == "passes"
        table[trust.key(method, layer)] = entry
    default = trust.choose_default(table)
    audit = slice(0, min(AUDIT_IMAGES, len(sample["indices"])))
    return {
        "audit": {
            "indices": sample["indices"][audit],
            **{
                f"{test}_auc": {
                    **{
                        f"map|{m}|{layer}": [fa.auc(r) for r in arrays[f"{test}|map|{m}|{layer}"][audit]]
                        for m, layer in pairs
                    },
                    **{f"control|{c}": controls_auc[test][c][audit].tolist() for c in fa.CONTROLS},
                }
                for test in fa.TESTS
            },
        },
        "version": 1,
        "model_sha256": model_sha256,
        "sample": sample,
        "settings": settings,
        "rule": {**trust.RULE, "text": trust.RULE_TEXT},
        "stages": {stage: STAGE_LABELS[stage] for stage in CASCADE},
        "controls": controls,
        "entries": table,
        "default": {
            "key": default,
            "method": table[default]["method"],
            "layer": table[default]["layer"],
            "label": table[default]["label"],
            "passes": table[default]["passes"],
        },
        "any_passes": any(e["passes"] for e in table.values()),
        "seconds": seconds,
        "computed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def compute(folder: Path, images: int, cascade_images: int, seed: int = 0, keep_partial: bool = False) -> dict:
    """Compute (or continue) the scorecard of the run in ``folder`` and write faithfulness.json."""
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from explain.saliency import build_explainers

    folder = Path(folder)
    started = time.time()
    progress_file = folder / PROGRESS_FILE
    results = runs.load_results(folder)
    indices = sample_indices(images)
    cascade_indices = indices[:cascade_images]
    model_sha = runs.file_sha256(folder / runs.MODEL_FILE)
    partial = PartialResults(
        folder / PARTIAL_FILE,
        f"{model_sha}|{images}|{cascade_images}|{seed}|{fa.STEPS}|{fa.RANDOM_ORDERS}|{methods_version()}",
    )

    net = tgn.load_model(folder / runs.MODEL_FILE)
    explainers = build_explainers(net)
    test = load_split("test")
    x = to_model_input(test.images[indices])
    predicted = results.probabilities[indices].argmax(axis=1)

    first_key = "deletion|control|random"
    done = partial.count(first_key)
    write_progress(progress_file, "curves", done, len(indices), started)
    while done < len(indices):
        chunk = slice(done, min(done + CHUNK, len(indices)))
        chunk_started = time.time()
        partial.extend(score_curves(net, explainers, x[chunk], predicted[chunk], done, seed))
        partial.save(time.time() - chunk_started)
        done = partial.count(first_key)
        write_progress(progress_file, "curves", done, len(indices), started)

    cascade_key = f"runner_up|{entries()[0][0]}|{entries()[0][1]}"
    if partial.count(cascade_key) < len(cascade_indices):
        write_progress(progress_file, "randomisation", 0, len(cascade_indices), started)
        ranked = np.argsort(-results.probabilities[cascade_indices], axis=1)
        partial.arrays = {k: v for k, v in partial.arrays.items() if not k.startswith(("runner_up|", "random|"))}
        cascade_started = time.time()
        partial.extend(score_randomisation(net, x[: len(cascade_indices)], ranked[:, 0], ranked[:, 1]))
        partial.save(time.time() - cascade_started)
        write_progress(progress_file, "randomisation", len(cascade_indices), len(cascade_indices), started)

    card = build_scorecard(
        partial.arrays,
        entries(),
        sample={
            "indices": indices.tolist(),
            "images": int(len(indices)),
            "cascade_images": int(len(cascade_indices)),
            "seed": SAMPLE_SEED,
            "target": "the predicted class",
        },
        settings={
            "steps": fa.STEPS,
            "blur_sigma": fa.BLUR_SIGMA,
            "random_orders": fa.RANDOM_ORDERS,
            "deletion_fill": "black (0, no ink)",
            "insertion_start": f"the image blurred with a Gaussian of sigma {fa.BLUR_SIGMA:g} px",
            "tie_breaking": "random",
        },
        model_sha256=model_sha,
        seconds=partial.seconds(),
    )
    runs.write_json_atomic(folder / runs.FAITHFULNESS_FILE, card)
    if not keep_partial:
        (folder / PARTIAL_FILE).unlink(missing_ok=True)
    (folder / PROGRESS_FILE).unlink(missing_ok=True)
    return card


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain.scorecard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=runs.SHIPPED_RUNS[runs.DEFAULT_RUN], help="run folder")
    parser.add_argument("--images", type=int, default=SHIPPED_IMAGES, help="test images for the curves (default 500)")
    parser.add_argument(
        "--cascade-images", type=int, default=SHIPPED_CASCADE_IMAGES, help="images for randomisation (default 50)"
    )
    parser.add_argument(
        "--keep-partial", action="store_true", help="keep the per-image results (to re-judge without recomputing)"
    )
    parser.add_argument("--rebuild-shipped", action="store_true", help=guard.REBUILD_HELP)
    args = parser.parse_args(argv)
    if not 1 <= args.cascade_images <= args.images <= 10_000:
        parser.error("need 1 <= --cascade-images <= --images <= 10000")
    code, card = guard.run_analysis(
        "explain.scorecard",
        args.run,
        args.rebuild_shipped,
        lambda: compute(args.run, args.images, args.cascade_images, keep_partial=args.keep_partial),
    )
    if code:
        return code
    default = card["default"]
    print(
        f"Wrote {args.run / runs.FAITHFULNESS_FILE} in {card['seconds'] / 60:.1f} min. Default map: "
        f"{default['label']} ({'passes' if default['passes'] else 'no method passes the rule'}).",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
