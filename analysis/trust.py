"""Verdicts on saliency maps from a run's faithfulness scorecard (``faithfulness.json``).

``explain.scorecard`` measures; this module judges, by one stated rule, and is what the pages
read (TensorFlow-free). A method at a layer **passes** when all three hold:

1. **Faithful**: on more than half of the sampled images its map beats the *garment* control
   (the garment's pixels in random order) in deletion *and*, separately, in insertion. Beating a
   random order is not enough: half of every Fashion-MNIST image is black background, so any map
   that sits on the garment beats random.
2. **About the model**: once the head is random (output and dense layers re-initialised), its
   maps correlate with the trained model's at a mean Spearman rank correlation below 0.5.
3. **Usable**: its map is blank (nothing to rank) on at most 10% of images.

Blank maps are left out of the curve statistics and reported as the blank rate.
"""

from __future__ import annotations

from analysis import markup
from explain.faithfulness import TESTS, auc
from runfolder.artefacts import ScorecardError  # noqa: F401  (the pages catch it by this name)

RULE = {
    "min_share_beating_garment": 0.5,  # more than this share of images, in deletion and in insertion
    "max_correlation_head_random": 0.5,  # mean Spearman after the output and dense layers are random
    "head_random_stage": "dense",
    "max_blank_rate": 0.10,
}
RULE_TEXT = (
    "A method passes when (1) its map beats the garment-pixels control on more than half of the images in "
    "deletion and, separately, in insertion; (2) once the output and dense layers are randomised, its maps "
    "correlate with the trained model's below 0.5 (mean Spearman); and (3) it is blank on at most 10% of images."
)
VERDICTS = {
    "passes": "passes",
    "blank": "often blank",
    "not-faithful": "no better than the garment",
    "not-model": "ignores the model's weights",
    "neither": "fails both tests",
}


def key(method: str, layer: str) -> str:
    return f"{method}@{layer}"


def judge(entry: dict) -> tuple[str, str]:
    """(verdict key, one sentence) for one method at one layer, by RULE."""
    share = RULE["min_share_beating_garment"]
    faithful = all((entry["beats"][test]["garment"] or 0) > share for test in TESTS)
    correlation = entry["randomisation"].get(RULE["head_random_stage"])
    about_model = correlation is not None and correlation < RULE["max_correlation_head_random"]
    if entry["blank_rate"] > RULE["max_blank_rate"]:
        return "blank", f"Blank on {entry['blank_rate']:.0%} of images: too often there is nothing to show."
    garment = (
        f"{entry['beats']['deletion']['garment']:.0%} of images in deletion and "
        f"{entry['beats']['insertion']['garment']:.0%} in insertion"
    )
    if correlation is None:
        follows = "its maps could not be compared with a randomised model's (always blank)"
    elif about_model:
        follows = f"its maps change once the head is random (correlation {correlation:.2f})"
    else:
        follows = f"its maps stay {correlation:.2f}-correlated with the trained model's once the head is random"
    if faithful and about_model:
        return "passes", f"Beats the garment control on {garment}, and {follows}."
    if not faithful and not about_model:
        return "neither", f"Beats the garment control on only {garment}, and {follows}."
    if not faithful:
        return "not-faithful", (
            f"{follows[0].upper()}{follows[1:]}, but it beats the garment control on only {garment}: "
            "it may just be tracing the garment."
        )
    return "not-model", (
        f"Beats the garment control ({garment}), but {follows}: it depends on the image more than on "
        "what the model learned."
    )


def _strength(entry: dict) -> float:
    """How clearly a map beats the garment control: the worse of its two tests."""
    return min(entry["beats"][test]["garment"] or 0.0 for test in TESTS)


def choose_default(entries: dict) -> str:
    """The key of the run's default map: the passing entry that beats the garment control most clearly;
    if none passes, the least blank, most model-sensitive, most faithful one (the page then says so)."""
    passing = [k for k, e in entries.items() if e["passes"]]
    if passing:
        return max(passing, key=lambda k: _strength(entries[k]))

    def fallback(k):
        e = entries[k]
        correlation = e["randomisation"].get(RULE["head_random_stage"])
        return (e["blank_rate"] <= RULE["max_blank_rate"], correlation is not None and correlation < 0.5, _strength(e))

    return max(entries, key=fallback)


# --------------------------------------------------------------------------- what the pages show

# Short, and in glyphs every font has (emoji render as empty boxes where no emoji font is installed).
BADGES = {
    "passes": "✓ passes",
    "blank": "○ often blank",
    "not-faithful": "⚠ traces garment",
    "not-model": "⚠ ignores weights",
    "neither": "✗ fails both",
}
BADGE_MEANINGS = {
    "passes": "passes all three parts of the rule",
    "blank": "blank on more than 10% of images",
    "not-faithful": "follows the model, but is no better than the garment-pixels control",
    "not-model": "beats the garment control, but barely changes when the model's weights are destroyed",
    "neither": "neither beats the garment control nor changes with the weights",
}
LAYER_LABELS = {
    "stem": "Stem",
    "block1": "Block 1",
    "block2": "Block 2",
    "block3": "Block 3",
    "block4": "Block 4",
    "input": "Pixels",
}


def entry(card: dict, method: str, layer: str) -> dict | None:
    """The scorecard's entry for a method at a layer (gradient and occlusion maps sit at 'input')."""
    entries = card["entries"]
    return entries.get(key(method, layer)) or entries.get(key(method, "input"))


def reason(entry: dict) -> str:
    """The entry's verdict in one sentence, from its numbers by RULE (``judge``): the pages show this rather
    than the sentence stored in the file, which may be worded as an older version of the app worded it
    ("65% in insertion of images")."""
    return judge(entry)[1]


def badge(card: dict | None, method: str, layer: str) -> str:
    """A short verdict for a selector ('✅ passes'), or '' when the run has no scorecard."""
    found = entry(card, method, layer) if card else None
    return BADGES.get(found["verdict"], "") if found else ""


def verdict_table(card: dict):
    """Methods (rows) by layers (columns), each cell the verdict's badge; blank where a method has no such layer."""
    import pandas as pd

    rows: dict[str, dict[str, str]] = {}
    for item in card["entries"].values():
        rows.setdefault(item["method_label"], {})[LAYER_LABELS.get(item["layer"], item["layer"])] = BADGES[
            item["verdict"]
        ]
    columns = [
        label for layer, label in LAYER_LABELS.items() if any(e["layer"] == layer for e in card["entries"].values())
    ]
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns).fillna("")


def verdict_list(card: dict):
    """The same verdicts as one row per method and layer, passing ones first (a narrow screen's table)."""
    import pandas as pd

    order = {layer: i for i, layer in enumerate(LAYER_LABELS)}
    entries = sorted(
        card["entries"].values(), key=lambda e: (not e["passes"], e["method_label"], order.get(e["layer"], 99))
    )
    return pd.DataFrame(
        {
            "method": [e["method_label"] for e in entries],
            "layer": [LAYER_LABELS.get(e["layer"], e["layer"]) for e in entries],
            "verdict": [BADGES[e["verdict"]] for e in entries],
        }
    )


def cascade_frame(card: dict, layer: str):
    """Spearman correlation per randomisation stage (rows) for each method at ``layer`` and each
    pixel-level method (columns), as the randomisation chart draws it."""
    import pandas as pd

    chosen = [e for e in card["entries"].values() if e["layer"] in (layer, "input")]
    return pd.DataFrame(
        {e["method_label"]: [e["randomisation"].get(stage) for stage in card["stages"]] for e in chosen},
        index=list(card["stages"].values()),
    )


def cascade_summary(frame, method_label: str) -> str:
    """The randomisation chart's main fact for one method: its correlation at the first and last stage."""
    if method_label not in frame.columns:
        return "This method has no randomisation test at this layer."
    values = [(stage, v) for stage, v in frame[method_label].items() if v is not None and v == v]
    if not values:
        return f"{markup.escape(method_label)} has no randomisation result."
    (first_stage, first), (_, last) = values[0], values[-1]
    return (
        f"{markup.escape(method_label)}: its maps correlate {first:.2f} with the trained model's once the "
        f"{first_stage.removeprefix('+ ')} is random, and {last:.2f} with the whole network random "
        "(near 0: the map depends on what the model learned)."
    )


def summary_sentence(card: dict) -> str:
    """The scorecard's headline in words."""
    # Labels come from a file, so they are shown as plain text, never as Markdown.
    passing = [markup.escape(e["label"]) for e in card["entries"].values() if e["passes"]]
    default = markup.escape(card["default"]["label"])
    total = len(card["entries"])
    if not passing:
        return (
            f"**No method passes on this model** (0 of {total} method-layer pairs). That is a finding, not a failure: "
            f"read every map here as a hypothesis, not as what the model relies on. The Saliency page opens on "
            f"{default}, the closest to passing."
        )
    return (
        f"**{len(passing)} of {total} method-layer pairs pass**: {', '.join(passing)}. The Saliency page opens on "
        f"{default}, the one that beats the garment control most clearly."
    )


EXPLAINER = """
**Deletion.** Black out the pixels the map ranks highest, 5% at a time, and watch the probability of the
predicted class. If the map shows what the model uses, the probability falls early: a small area under the curve.

**Insertion.** Start from a blurred copy of the image, which the model cannot read, and put the original pixels
back in the map's order. If the map is right, the probability comes back early: a large area under the curve.

**Why beating a random order is not enough.** About half of every Fashion-MNIST image is exactly black. A random
order spends half its deletions on pixels that are already black, so *any* map that merely lies on the garment
beats it. The fair question is whether a map beats an order that knows only where the garment is (its pixels in
random order) and one that knows only the garment's edges. Those controls know nothing about the model.

**Randomisation.** Re-initialise the network's weights from the top down and compute the map again. A map that
looks the same for a model that has forgotten everything cannot be telling you what the model learned; it is
telling you about the image, or about the network's wiring.

**Blank maps.** Plain Grad-CAM keeps only locations with net positive evidence; when there are none, its map is
empty. Blank maps are left out of the averages and counted separately.
"""


# --------------------------------------------------------------------------- the deletion and insertion charts in words


def curves_alt(test: str, method_label: str) -> str:
    removed = "removed" if test == "deletion" else "restored"
    return (
        f"Line chart of the {test} test: the class's probability as pixels are {removed} in the order of the "
        f"{method_label} map and in the orders of the controls"
    )


def curve_areas(map_curve, controls: dict, method_label: str, labels: dict) -> dict[str, float]:
    """The area under the map's curve and under each control's (explain.faithfulness.auc)."""
    return {method_label: auc(map_curve), **{labels.get(name, name): auc(c) for name, c in controls.items()}}


def curves_summary(test: str, map_curve, controls: dict, method_label: str, labels: dict) -> str:
    """The chart's main fact: each curve's area, and which order is best (deletion: smallest area)."""
    areas = curve_areas(map_curve, controls, method_label, labels)
    best = (min if test == "deletion" else max)(areas, key=areas.get)
    better = "smaller" if test == "deletion" else "larger"
    listed = "; ".join(f"{name} {value:.3f}" for name, value in areas.items())
    return f"Area under each {test} curve ({better} is better): {listed}. Best: {best}."
