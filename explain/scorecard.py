"""The faithfulness scorecard of a run (version 2): how far can each saliency map be trusted on this model?

    python -m explain.scorecard --run model/shipped --rebuild-shipped   # 500 images, 50 for randomisation
    python -m explain.scorecard --run runs/my-run --images 100 --cascade-images 20

For a fixed, seeded sample of test images and every method at every layer the app offers (maps for the
predicted class) it measures, with ``explain.faithfulness``:

- seven perturbation tests: deletion most-relevant-first with three fills (black, a blur of the image, ROAD's
  noisy linear imputation), the same three least-relevant-first (a faithful map keeps the class while its
  least relevant pixels go), and insertion from the blur;
- three model-free controls in every test: random orders (mean of 3), garment pixels first (mean of 3
  orders per image) and Sobel edges;
- per test and control, the paired AUC difference of map and control over the images with a bootstrap 95%
  interval, the win share and a sign-test p-value (``explain.uncertainty``);
- on the first ``--cascade-images``: the cascading model-randomisation check (``explain.randomisation``) with
  5 independent draws of the random weights, Spearman over all pixels and over the garment's pixels; the
  noise ceiling of stochastic methods (SmoothGrad against itself with fresh noise); and the correlation of the
  predicted and runner-up class's maps.

``analysis.trust`` judges the numbers by its stated rule and picks the run's default map; the result is
written atomically to ``faithfulness.json`` (``version`` 2; version 1 files are still read and labelled).

Every random draw comes from the command's seed: the image sample, tie-breaking, the controls' orders,
ROAD's noise, SmoothGrad's noise, the randomised weights and the bootstrap. Faster-ScoreCAM is scored one
image per call, exactly as the app computes it. The work goes in chunks; after each, the per-image results
so far are saved in ``.faithfulness.partial.npz`` (plain arrays, no pickles), so rerunning the same command
after an interruption continues where it stopped. Progress goes to ``.faithfulness.progress.json``.
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
from explain import uncertainty  # noqa: E402
from runfolder import guard, runs  # noqa: E402
from runfolder.partial import PartialResults, write_progress  # noqa: E402

VERSION = 2
PARTIAL_FILE = runs.SCORECARD_PARTIAL_FILE
PROGRESS_FILE = runs.SCORECARD_PROGRESS_FILE
SHIPPED_IMAGES, SHIPPED_CASCADE_IMAGES = 500, 50
CHUNK = 25
AUDIT_IMAGES = 10  # per-image AUCs stored for the first images of the sample, so a test can recompute them
SAMPLE_SEED = 2018  # the year of Adebayo et al.; fixed so every run is scored on the same images
RANDOMISATION_DRAWS = 5  # independent draws of the randomised weights (one draw can flip a verdict)
STOCHASTIC_METHODS = ("smoothgrad",)  # maps that change with their own noise: they get a noise ceiling
PIXEL_SETS = ("all", "garment")


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


def _stream(seed: int, *parts: int) -> int:
    """A 32-bit seed for NumPy's global generator (tf-keras-vis draws SmoothGrad's noise from it)."""
    return int(np.random.default_rng([seed, *parts]).integers(0, 2**32 - 1))


def seeded_maps(explainers, images, method: str, targets, layer: str, noise_seed: int) -> np.ndarray:
    """Raw maps, with SmoothGrad's noise drawn from ``noise_seed`` so every number can be reproduced."""
    from explain.saliency import saliency_maps

    np.random.seed(noise_seed)
    return saliency_maps(explainers, images, method, targets, layer, normalize=False)


def image_orders(image: np.ndarray, maps: list[np.ndarray], seed: int, position: int) -> tuple[list[str], list]:
    """Names and pixel orders for one image: the controls' orders, then one per map (in entries() order).

    The random stream is seeded by the image's position in the sample, so any image's orders can be
    recomputed alone (tests do); each map's ties take their draws in entries() order."""
    rng = np.random.default_rng([seed, position])
    controls = fa.control_orders(image, rng)
    controls["garment"] += [fa.garment_order(image, rng) for _ in range(fa.GARMENT_ORDERS - 1)]
    names, orders = [], []
    for control in fa.CONTROLS:
        names += [f"control|{control}"] * len(controls[control])
        orders += controls[control]
    names += [f"map|{m}|{layer}" for m, layer in entries()]
    orders += [fa.order_from_map(saliency_values, rng) for saliency_values in maps]
    return names, orders


def image_curves(predict, image, maps: list[np.ndarray], target: int, seed: int, position: int) -> dict:
    """'test|name' -> mean curve (a control's several orders averaged) for one image; ROAD's noise seeded by
    the image's position, so a test can recompute any image alone."""
    names, orders = image_orders(image, maps, seed, position)
    curves = fa.test_curves(predict, image, orders, target, np.random.default_rng([seed, position, 1]))
    out = {}
    for name in dict.fromkeys(names):
        rows = [j for j, n in enumerate(names) if n == name]
        for test, values in curves.items():
            out[f"{test}|{name}"] = values[rows].mean(axis=0)
    return out


def score_curves(net, explainers, images, targets, offset: int, seed: int) -> dict[str, np.ndarray]:
    """Every test's curve for every map and control, for a chunk of images."""
    from explain.saliency import is_blank, predict_in_chunks

    predict = lambda batch: predict_in_chunks(net, batch, chunk=2048)  # noqa: E731  (offline: speed first)
    maps = {
        (m, layer): seeded_maps(explainers, images, m, targets, layer, _stream(seed, 1, offset))
        for m, layer in entries()
    }
    out: dict[str, list] = {}
    for i, (image, target) in enumerate(zip(images, targets)):
        for name, curve in image_curves(
            predict, image, [maps[e][i] for e in entries()], int(target), seed, offset + i
        ).items():
            out.setdefault(name, []).append(curve.astype(np.float32))
        for m, layer in entries():
            out.setdefault(f"blank|{m}|{layer}", []).append(is_blank(maps[(m, layer)][i]))
    return {k: np.asarray(v) for k, v in out.items()}


def _correlations(reference: np.ndarray, maps: np.ndarray, images: np.ndarray) -> dict[str, list[float]]:
    garment = np.asarray(images).reshape(len(images), -1) > 0
    return {
        "all": [fa.spearman(a, b) for a, b in zip(reference, maps)],
        "garment": [fa.spearman(a, b, where=g) for a, b, g in zip(reference, maps, garment)],
    }


def reference_maps(explainers, images, targets, seed: int) -> dict:
    return {e: seeded_maps(explainers, images, e[0], targets, e[1], _stream(seed, 2)) for e in entries()}


def score_references(net, images, targets, runner_up, seed: int) -> dict[str, np.ndarray]:
    """Per image: predicted against runner-up class (all pixels), and the noise ceiling of stochastic methods
    (the trained model's map against itself with fresh noise, all and garment pixels)."""
    from explain.saliency import build_explainers

    trained = build_explainers(net)
    reference = reference_maps(trained, images, targets, seed)
    out = {}
    for m, layer in entries():
        other = seeded_maps(trained, images, m, runner_up, layer, _stream(seed, 2))
        out[f"runner_up|{m}|{layer}"] = [fa.spearman(a, b) for a, b in zip(reference[(m, layer)], other)]
        if m in STOCHASTIC_METHODS:
            fresh = seeded_maps(trained, images, m, targets, layer, _stream(seed, 3))
            for pixels, values in _correlations(reference[(m, layer)], fresh, images).items():
                out[f"ceiling|{m}|{layer}|{pixels}"] = values
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def score_randomisation_draw(net, images, targets, seed: int, draw: int) -> dict[str, np.ndarray]:
    """Spearman per image between the trained model's maps and each cascade stage's, for one draw of the
    random weights (seeded by the draw), over all pixels and over the garment's."""
    from explain import randomisation
    from explain.saliency import build_explainers

    reference = reference_maps(build_explainers(net), images, targets, seed)
    out = {}
    for stage, randomised in randomisation.cascade(net, seed=_stream(seed, 4, draw) % 2**31):
        explainers = build_explainers(randomised)
        for m, layer in entries():
            maps = seeded_maps(explainers, images, m, targets, layer, _stream(seed, 5, draw))
            for pixels, values in _correlations(reference[(m, layer)], maps, images).items():
                out[f"random|{draw}|{stage}|{m}|{layer}|{pixels}"] = values
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _mean(values) -> float | None:  # of the finite values (a blank map has no rank correlation)
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


def paired_difference(test: str, map_aucs: np.ndarray, control_aucs: np.ndarray) -> np.ndarray:
    """Per image, how much better the map did than the control (positive: better), in AUC units."""
    better_high = fa.TESTS_V2[test].higher_is_better
    return (map_aucs - control_aucs) if better_high else (control_aucs - map_aucs)


def build_scorecard(arrays: dict, pairs, sample: dict, settings: dict, model_sha256: str, seconds: float) -> dict:
    """faithfulness.json's content (version 2) from the per-image arrays that explain.scorecard collected."""
    from explain.randomisation import CASCADE, HEAD_RANDOM_STAGE, STAGE_LABELS
    from explain.saliency import METHODS, method_label

    tests = tuple(fa.TESTS_V2)
    draws = settings["randomisation_draws"]
    aucs = {
        key: np.array([fa.auc(row) for row in rows])
        for key, rows in arrays.items()
        if key.count("|") >= 2 and key.split("|")[0] in tests
    }
    controls = {
        c: {
            "deletion_auc": float(aucs[f"deletion_black|control|{c}"].mean()),
            "insertion_auc": float(aucs[f"insertion_blur|control|{c}"].mean()),
            "curves": {
                "deletion": arrays[f"deletion_black|control|{c}"].mean(axis=0).tolist(),
                "insertion": arrays[f"insertion_blur|control|{c}"].mean(axis=0).tolist(),
            },
            "tests": {
                t: {
                    "auc": float(aucs[f"{t}|control|{c}"].mean()),
                    "curve": arrays[f"{t}|control|{c}"].mean(axis=0).tolist(),
                }
                for t in tests
            },
        }
        for c in fa.CONTROLS
    }
    table = {}
    for method, layer in pairs:
        name = f"map|{method}|{layer}"
        blank = arrays[f"blank|{method}|{layer}"].astype(bool)
        kept = ~blank

        def versus(t, c):
            return uncertainty.paired(
                paired_difference(t, aucs[f"{t}|{name}"][kept], aucs[f"{t}|control|{c}"][kept]),
                seed=settings["bootstrap_seed"],
                resamples=settings["bootstrap_resamples"],
            )

        per_test = {
            t: {
                "auc": _mean(aucs[f"{t}|{name}"][kept]),
                "curve": arrays[f"{t}|{name}"][kept].mean(axis=0).tolist() if kept.any() else None,
                "against": {c: versus(t, c) for c in fa.CONTROLS},
            }
            for t in tests
        }

        def stage_values(stage, pixels):
            return [_mean(arrays[f"random|{d}|{stage}|{method}|{layer}|{pixels}"]) for d in range(draws)]

        draws_table = {stage: {p: stage_values(stage, p) for p in PIXEL_SETS} for stage in CASCADE}
        ceiling = (
            {p: _mean(arrays[f"ceiling|{method}|{layer}|{p}"]) for p in PIXEL_SETS}
            if method in STOCHASTIC_METHODS
            else None
        )
        entry = {
            "method": method,
            "layer": layer,
            "label": method_label(method, layer),
            "method_label": METHODS[method],
            "blank_rate": float(blank.mean()),
            "scored_images": int(kept.sum()),
            "deletion_auc": per_test["deletion_black"]["auc"],
            "insertion_auc": per_test["insertion_blur"]["auc"],
            # version 1's shares (black deletion, insertion), kept for the charts that read them
            "beats": {
                old: {c: per_test[new]["against"][c]["win_share"] for c in fa.CONTROLS}
                for old, new in (("deletion", "deletion_black"), ("insertion", "insertion_blur"))
            },
            "curves": {
                "deletion": per_test["deletion_black"]["curve"],
                "insertion": per_test["insertion_blur"]["curve"],
            },
            "tests": per_test,
            "randomisation": {
                stage: _mean([v for v in draws_table[stage]["all"] if v is not None]) for stage in CASCADE
            },
            "randomisation_garment": {
                stage: _mean([v for v in draws_table[stage]["garment"] if v is not None]) for stage in CASCADE
            },
            "randomisation_draws": draws_table,
            "noise_ceiling": ceiling,
            "runner_up_correlation": _mean(arrays[f"runner_up|{method}|{layer}"]),
        }
        entry["holds"] = {t: uncertainty.above_zero(per_test[t]["against"]["garment"]) for t in tests}
        entry["verdict"], entry["reason"] = trust.judge(entry)
        entry["passes"] = entry["verdict"] == "passes"
        entry["where"] = trust.where_sentence(entry)
        table[trust.key(method, layer)] = entry
    default = trust.choose_default(table)
    audit = slice(0, min(AUDIT_IMAGES, len(sample["indices"])))
    return {
        "version": VERSION,
        "audit": {
            "indices": sample["indices"][audit],
            **{
                f"{t}_auc": {
                    **{f"map|{m}|{layer}": aucs[f"{t}|map|{m}|{layer}"][audit].tolist() for m, layer in pairs},
                    **{f"control|{c}": aucs[f"{t}|control|{c}"][audit].tolist() for c in fa.CONTROLS},
                }
                for t in tests
            },
        },
        "model_sha256": model_sha256,
        "sample": sample,
        "settings": settings,
        "rule": {**trust.RULE_V2, "text": trust.RULE_V2_TEXT},
        "stages": {stage: STAGE_LABELS[stage] for stage in CASCADE},
        "head_random_stage": HEAD_RANDOM_STAGE,
        "tests": {t: fa.TESTS_V2[t].label for t in tests},
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


def settings_fingerprint(images: int, cascade_images: int, seed: int) -> str:
    """Per-image results saved under other settings are not reused."""
    return (
        f"v{VERSION}|{images}|{cascade_images}|{seed}|{fa.STEPS}|{fa.RANDOM_ORDERS}|{fa.GARMENT_ORDERS}|"
        f"{','.join(fa.TESTS_V2)}|{fa.ROAD_NOISE}|{RANDOMISATION_DRAWS}|{methods_version()}"
    )


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
    partial = PartialResults(folder / PARTIAL_FILE, f"{model_sha}|{settings_fingerprint(images, cascade_images, seed)}")

    net = tgn.load_model(folder / runs.MODEL_FILE)
    explainers = build_explainers(net)
    test = load_split("test")
    x = to_model_input(test.images[indices])
    predicted = results.probabilities[indices].argmax(axis=1)

    first_key = "deletion_black|control|random"
    done = partial.count(first_key)
    write_progress(progress_file, "curves", done, len(indices), started)
    while done < len(indices):
        chunk = slice(done, min(done + CHUNK, len(indices)))
        chunk_started = time.time()
        partial.extend(score_curves(net, explainers, x[chunk], predicted[chunk], done, seed))
        partial.save(time.time() - chunk_started)
        done = partial.count(first_key)
        write_progress(progress_file, "curves", done, len(indices), started)

    ranked = np.argsort(-results.probabilities[cascade_indices], axis=1)
    x_cascade = x[: len(cascade_indices)]
    first = f"{entries()[0][0]}|{entries()[0][1]}"
    steps = RANDOMISATION_DRAWS + 1
    if partial.count(f"runner_up|{first}") < len(cascade_indices):
        write_progress(progress_file, "randomisation", 0, steps, started)
        step_started = time.time()
        partial.arrays = {k: v for k, v in partial.arrays.items() if not k.startswith(("runner_up|", "ceiling|"))}
        partial.extend(score_references(net, x_cascade, ranked[:, 0], ranked[:, 1], seed))
        partial.save(time.time() - step_started)
    for draw in range(RANDOMISATION_DRAWS):
        if partial.count(f"random|{draw}|output|{first}|all") == len(cascade_indices):
            continue
        write_progress(progress_file, "randomisation", 1 + draw, steps, started)
        step_started = time.time()
        partial.arrays = {k: v for k, v in partial.arrays.items() if not k.startswith(f"random|{draw}|")}
        partial.extend(score_randomisation_draw(net, x_cascade, ranked[:, 0], seed, draw))
        partial.save(time.time() - step_started)
    write_progress(progress_file, "randomisation", steps, steps, started)

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
            "seed": seed,
            "steps": fa.STEPS,
            "blur_sigma": fa.BLUR_SIGMA,
            "random_orders": fa.RANDOM_ORDERS,
            "garment_orders": fa.GARMENT_ORDERS,
            "fills": {f: fa.FILL_LABELS[f] for f in fa.FILLS},
            "road_noise": fa.ROAD_NOISE,
            "deletion_fill": "black, a blur of the image (sigma 3 px) and ROAD's noisy linear imputation",
            "insertion_start": f"the image blurred with a Gaussian of sigma {fa.BLUR_SIGMA:g} px",
            "tie_breaking": "random",
            "bootstrap_resamples": uncertainty.RESAMPLES,
            "bootstrap_seed": uncertainty.BOOTSTRAP_SEED,
            "confidence": uncertainty.CONFIDENCE,
            "randomisation_draws": RANDOMISATION_DRAWS,
            "stochastic_methods": list(STOCHASTIC_METHODS),
            "faster_scorecam": "one image per call, as the app computes it",
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
