"""Verdicts on saliency maps from a run's faithfulness scorecard (``faithfulness.json``).

``explain.scorecard`` measures; this module judges, by one stated rule, and is what the pages
read (TensorFlow-free). Version 2 of the scorecard (RULE_V2): a method at a layer **passes** when

1. **Faithful, under every fill**: its advantage over the *garment* control (the garment's pixels in random
   order, 3 orders per image) is clear, meaning the 95% bootstrap interval of the paired difference in area
   under the curve lies above zero, in deletion with each of the three fills (black, a blur of the image,
   ROAD's noisy linear imputation) *and* in insertion. Beating a random order is not enough: half of every
   Fashion-MNIST image is black background, so any map that sits on the garment beats random; and a method
   tends to win the test that removes pixels the way it does itself (black-patch occlusion under black
   deletion), which is why every fill must agree.
2. **About the model, on every draw**: once the head is random (output and dense layers re-initialised), its
   maps correlate with the trained model's below 0.5 (mean Spearman over the garment's pixels, where two
   maps cannot agree for free on black background) on each of the independent draws of the random weights.
3. **Usable**: its map is blank (nothing to rank) on at most 10% of images.

Where a method holds in some tests only, the verdict says where ("holds in deletion with black and blur
fills and in insertion, not with ROAD"). Version 1 files (one fill, win shares, one draw) are judged by
RULE, their own rule, and labelled as such. Blank maps are left out of the curve statistics.
"""

from __future__ import annotations

from analysis import markup
from explain.faithfulness import RULE_TESTS, TESTS, auc
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
RULE_V2 = {
    "control": "garment",
    "tests": list(RULE_TESTS),  # deletion with every fill, and insertion
    "confidence": 0.95,  # the bootstrap interval of the paired AUC difference must lie above zero
    "max_correlation_head_random": 0.5,  # over the garment's pixels, on every draw of the random weights
    "head_random_stage": "dense",
    "correlation_pixels": "garment",
    "max_blank_rate": 0.10,
}
RULE_V2_TEXT = (
    "A method passes when (1) it beats the garment-pixels control clearly (the 95% confidence interval of the "
    "paired difference in area under the curve lies above zero) in deletion with every fill (black, a blur of "
    "the image, ROAD's imputation) and in insertion; (2) once the output and dense layers are randomised, its "
    "maps correlate with the trained model's below 0.5 over the garment's pixels on every draw of the random "
    "weights; and (3) it is blank on at most 10% of images."
)
RULE_TEST_PHRASES = {
    "deletion_black": "deletion with a black fill",
    "deletion_blur": "deletion with a blur fill",
    "deletion_road": "deletion with ROAD's fill",
    "insertion_blur": "insertion",
}
VERDICTS = {
    "passes": "passes",
    "partial": "holds in part",
    "blank": "often blank",
    "not-faithful": "no better than the garment",
    "not-model": "ignores the model's weights",
    "neither": "fails both tests",
}


def key(method: str, layer: str) -> str:
    return f"{method}@{layer}"


def is_version_2(entry: dict) -> bool:
    return "holds" in entry


def held_tests(entry: dict) -> list[str]:
    """The rule's tests in which a version-2 entry beats the garment control clearly."""
    return [t for t in RULE_TESTS if entry["holds"].get(t)]


def head_correlations(entry: dict) -> list[float]:
    """A version-2 entry's garment-pixel correlation with the head-random model, one per draw."""
    values = entry["randomisation_draws"][RULE_V2["head_random_stage"]][RULE_V2["correlation_pixels"]]
    return [v for v in values if v is not None]


def _listed(words: list[str], joiner: str = "and") -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {joiner} " + words[-1]


def where_sentence(entry: dict) -> str:
    """Where a version-2 entry beats the garment control clearly, and where it does clearly worse: 'Holds in
    deletion with a blur fill and insertion; not in deletion with ROAD's fill; clearly worse than the garment
    order in deletion with a black fill.'"""
    held = held_tests(entry)
    if len(held) == len(RULE_TESTS):
        return "Holds in every test: deletion with each fill, and insertion."

    def worse(t):
        ci = entry["tests"][t]["against"]["garment"]["ci"]
        return ci is not None and ci[1] < 0

    unclear = [RULE_TEST_PHRASES[t] for t in RULE_TESTS if t not in held and not worse(t)]
    lost = [RULE_TEST_PHRASES[t] for t in RULE_TESTS if worse(t)]
    parts = [f"Holds in {_listed([RULE_TEST_PHRASES[t] for t in held])}" if held else "Holds in no test"]
    if unclear:
        parts.append(f"not in {_listed(unclear, 'or')}" if held else f"no clear difference in {_listed(unclear)}")
    if lost:
        parts.append(f"clearly worse than the garment order in {_listed(lost)}")
    return "; ".join(parts) + "."


def judge(entry: dict) -> tuple[str, str]:
    """(verdict key, one sentence) for one method at one layer: by RULE_V2 for a version-2 entry, by its
    own rule (RULE) for one from a version-1 file."""
    return _judge_v2(entry) if is_version_2(entry) else _judge_v1(entry)


def _judge_v2(entry: dict) -> tuple[str, str]:
    if entry["blank_rate"] > RULE_V2["max_blank_rate"]:
        return "blank", f"Blank on {entry['blank_rate']:.0%} of images: too often there is nothing to show."
    held = held_tests(entry)
    correlations = head_correlations(entry)
    limit = RULE_V2["max_correlation_head_random"]
    about_model = bool(correlations) and max(correlations) < limit
    if not correlations:
        follows = "its maps could not be compared with a randomised model's (always blank)"
    else:
        low, high = min(correlations), max(correlations)
        spread = f"{high:.2f}" if len(correlations) == 1 else f"{low:.2f} to {high:.2f} over {len(correlations)} draws"
        if about_model:
            follows = f"its maps change once the head is random (correlation {spread})"
        elif low < limit:
            follows = f"whether its maps change once the head is random depends on the draw (correlation {spread})"
        else:
            follows = f"its maps stay similar once the head is random (correlation {spread})"
    where = where_sentence(entry)
    if len(held) == len(RULE_TESTS) and about_model:
        return "passes", f"Beats the garment control clearly in every test, and {follows}."
    if held and about_model:
        return "partial", f"{where} {follows[0].upper()}{follows[1:]}."
    if not held and about_model:
        return "not-faithful", (
            f"{follows[0].upper()}{follows[1:]}, but it never beats the garment control clearly: "
            "it may just be tracing the garment."
        )
    if held:
        return "not-model", f"{where} But {follows}: it depends on the image more than on what the model learned."
    return "neither", f"It never beats the garment control clearly, and {follows}."


def _judge_v1(entry: dict) -> tuple[str, str]:
    """(verdict key, one sentence) by RULE, the version-1 rule."""
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
    """How clearly a map beats the garment control in its worst test: version 2, the lowest lower bound of the
    confidence intervals over the rule's tests; version 1, the lowest win share."""
    if is_version_2(entry):
        bounds = [(entry["tests"][t]["against"]["garment"]["ci"] or [float("-inf")])[0] for t in RULE_TESTS]
        return min(bounds)
    return min(entry["beats"][test]["garment"] or 0.0 for test in TESTS)


def _about_model(entry: dict) -> bool:
    if is_version_2(entry):
        correlations = head_correlations(entry)
        return bool(correlations) and max(correlations) < RULE_V2["max_correlation_head_random"]
    correlation = entry["randomisation"].get(RULE["head_random_stage"])
    return correlation is not None and correlation < RULE["max_correlation_head_random"]


def choose_default(entries: dict) -> str:
    """The key of the run's default map: the passing entry that beats the garment control most clearly
    (in its worst test); if none passes, the usable, model-sensitive entry that holds in the most tests,
    then most clearly (the page then says that nothing passes)."""
    passing = [k for k, e in entries.items() if e["passes"]]
    if passing:
        return max(passing, key=lambda k: _strength(entries[k]))

    def fallback(k):
        e = entries[k]
        held = len(held_tests(e)) if is_version_2(e) else 0
        return (e["blank_rate"] <= RULE["max_blank_rate"], _about_model(e), held, _strength(e))

    return max(entries, key=fallback)


# --------------------------------------------------------------------------- what the pages show

# Short, and in glyphs every font has (emoji render as empty boxes where no emoji font is installed).
BADGES = {
    "passes": "✓ passes",
    "partial": "◐ holds in part",
    "blank": "○ often blank",
    "not-faithful": "⚠ traces garment",
    "not-model": "⚠ ignores weights",
    "neither": "✗ fails both",
}
BADGE_MEANINGS = {
    "passes": "passes all three parts of the rule",
    "partial": "follows the model and beats the garment control clearly in some tests, not all",
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


def badge_meaning(card: dict | None, method: str, layer: str, label: str) -> str:
    """What a map's badge says, for a caption that shows the badge away from the trust page ('◐ holds in part:
    on this run's trust tests, LayerCAM at block 2 follows the model and ...'); '' without a scorecard."""
    found = entry(card, method, layer) if card else None
    if not found:
        return ""
    verdict = found["verdict"]
    return (
        f"{BADGES[verdict]}: on this run's trust tests (the page Can the maps be trusted?), {label} "
        f"{BADGE_MEANINGS[verdict]}."
    )


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


VERDICT_ORDER = ("passes", "partial", "not-faithful", "not-model", "neither", "blank")  # best first


def verdict_list(card: dict):
    """The same verdicts as one row per method and layer, the best verdicts first (passing, then holding in
    part, ...; a narrow screen's table)."""
    import pandas as pd

    order = {layer: i for i, layer in enumerate(LAYER_LABELS)}
    entries = sorted(
        card["entries"].values(),
        key=lambda e: (VERDICT_ORDER.index(e["verdict"]), e["method_label"], order.get(e["layer"], 99)),
    )
    return pd.DataFrame(
        {
            "method": [e["method_label"] for e in entries],
            "layer": [LAYER_LABELS.get(e["layer"], e["layer"]) for e in entries],
            "verdict": [BADGES[e["verdict"]] for e in entries],
        }
    )


def cascade_frame(card: dict, layer: str, pixels: str = "all"):
    """Spearman correlation per randomisation stage (rows) for each method at ``layer`` and each
    pixel-level method (columns), as the randomisation chart draws it: over all pixels, or (version 2) over
    the garment's pixels; a version-2 value is the mean over the draws of the random weights."""
    import pandas as pd

    field = "randomisation_garment" if pixels == "garment" else "randomisation"
    chosen = [e for e in card["entries"].values() if e["layer"] in (layer, "input") and field in e]
    return pd.DataFrame(
        {e["method_label"]: [e[field].get(stage) for stage in card["stages"]] for e in chosen},
        index=list(card["stages"].values()),
    )


def version(card: dict) -> int:
    return int(card.get("version", 1))


def rule_text(card: dict) -> str:
    """The rule the card's verdicts follow: version 2's, or version 1's for an older file."""
    return RULE_V2_TEXT if version(card) >= 2 else RULE_TEXT


def tests_frame(entry: dict, control: str = "garment"):
    """A version-2 entry against one control, one row per test: the mean paired advantage in area under the
    curve with its 95% interval, the share of images won, the sign test's p-value, and whether it is clear."""
    import pandas as pd

    from explain.faithfulness import TESTS_V2

    rows = []
    for key, test in TESTS_V2.items():
        paired = entry["tests"][key]["against"][control]
        ci = paired["ci"]
        rows.append(
            {
                "test": test.label,
                "advantage": paired["difference"],
                "95% interval": "n/a" if ci is None else f"{ci[0]:+.3f} to {ci[1]:+.3f}",
                "images won": paired["win_share"],
                "sign test p": paired["sign_p"],
                "clear": "yes" if ci is not None and ci[0] > 0 else "no",
                "in the rule": "yes" if key in RULE_TESTS else "no",
            }
        )
    return pd.DataFrame(rows)


def tests_lines(entry: dict, control: str = "garment") -> list[str]:
    """The same comparison as ``tests_frame``, one line of words per test (a narrow screen's version)."""
    from explain.faithfulness import TESTS_V2

    lines = []
    for key, test in TESTS_V2.items():
        paired = entry["tests"][key]["against"][control]
        if paired["ci"] is None:
            lines.append(f"{test.short_label}: no images to compare.")
            continue
        low, high = paired["ci"]
        clear = "clear" if low > 0 else ("clearly worse" if high < 0 else "not clear")
        lines.append(
            f"**{test.short_label}**: {paired['difference']:+.3f} ({low:+.3f} to {high:+.3f}), "
            f"{paired['win_share']:.1%} of images won; {clear}" + ("" if key in RULE_TESTS else " (not in the rule)")
        )
    return lines


_GROUP_WORDS = {  # verdict -> (one pair ..., several pairs ...)
    "not-faithful": ("does no better", "do no better"),
    "not-model": ("barely changes", "barely change"),
    "neither": ("neither beats the garment order nor changes", "neither beat the garment order nor change"),
    "blank": ("is too often blank", "are too often blank"),
}
_GROUP_ENDINGS = {
    "not-faithful": " than an order that only knows where the garment is",
    "not-model": " when the model's learned weights are destroyed (the image shows through more than the model)",
    "neither": " with the weights",
    "blank": "",
}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def student_summary(card: dict) -> str:
    """The scorecard's answer in plain words, for a student, generated from its verdicts (Markdown; labels from
    the file are escaped)."""
    entries = list(card["entries"].values())
    passing = [markup.escape(e["label"]) for e in entries if e["passes"]]
    lines = []
    if passing:
        lines.append(
            f"**On this model, these maps can be trusted**: {', '.join(passing)}. They point at pixels that matter "
            "to the model more clearly than an order that only knows where the garment is, however the removed "
            "pixels are filled in, and they change when the model's learned weights are destroyed."
        )
    else:
        lines.append(
            "**On this model, no map passes every test.** Read every map here as a guess to check, not as what the "
            "model relies on. That is a finding about these methods on this network, not a fault of the page."
        )
    partial = [e for e in entries if e["verdict"] == "partial"]
    if partial:
        best = max(partial, key=lambda e: len(held_tests(e)) if is_version_2(e) else 0)
        lines.append(
            f"**Hold in some tests only**: {', '.join(markup.escape(e['label']) for e in partial)}. These follow the "
            f"model but beat the garment order clearly in some tests, not all. {markup.escape(best['label'])}, for "
            "example, " + (_lower_first(where_sentence(best)) if is_version_2(best) else "")
        )
    rest = []
    for verdict in ("not-faithful", "not-model", "neither", "blank"):
        count = sum(e["verdict"] == verdict for e in entries)
        if count:
            one, several = _GROUP_WORDS[verdict]
            rest.append(f"{count} {one if count == 1 else several}{_GROUP_ENDINGS[verdict]}")
    if rest:
        lines.append(f"**These cannot, and why** (of {len(entries)} method-layer pairs): {'; '.join(rest)}.")
    lines.append(default_reason(card))
    return "\n\n".join(lines)


def default_reason(card: dict) -> str:
    """Which map the Saliency page opens on, and why, by choose_default's rule (version 2)."""
    entry = card["entries"][card["default"]["key"]]
    label = markup.escape(entry["label"])
    if entry["passes"]:
        return (
            f"The Saliency page opens on {label}: of the maps that pass, it beats the garment order most clearly in "
            "its weakest test."
        )
    if not is_version_2(entry):
        return f"The Saliency page opens on {label}, the closest to passing by version 1's rule."
    held = len(held_tests(entry))
    if not _about_model(entry) or entry["blank_rate"] > RULE_V2["max_blank_rate"]:
        return (
            f"The Saliency page opens on {label}, the closest to passing; no map here is both usable and about "
            "the model."
        )
    return (
        f"The Saliency page opens on {label}, the closest to passing: of the maps that follow the model and are "
        f"seldom blank, it beats the garment order clearly in the most tests ({held} of {len(RULE_TESTS)}), and by "
        "the widest margin in its weakest test."
    )


def cascade_summary(frame, method_label: str, head_stage: str | None = None) -> str:
    """The randomisation chart's main fact for one method, read as the rule reads it: its correlation once the
    head (stage ``head_stage``, a row of ``frame``; the first row if absent) is random, against the 0.5 line,
    then with the whole network random."""
    if method_label not in frame.columns:
        return "This method has no randomisation test at this layer."
    values = {stage: v for stage, v in frame[method_label].items() if v is not None and v == v}
    if not values:
        return f"{markup.escape(method_label)} has no randomisation result."
    stage = head_stage if head_stage in values else next(iter(values))
    head, whole = values[stage], list(values.values())[-1]
    line = RULE_V2["max_correlation_head_random"]
    reading = (
        "above the line: they barely change when what the head learned is destroyed, so they show the image more "
        "than the model's reasoning"
        if head >= line
        else "below the line: they change when what the head learned is destroyed, as maps of the model should"
    )
    return (
        f"{markup.escape(method_label)}: once the {stage.removeprefix('+ ')} and everything above it are random, "
        f"its maps correlate {_plain(head)} with the trained model's, {reading}. With the whole network random: "
        f"{_plain(whole)}."
    )


def runner_up_sentence(entry: dict) -> str:
    """Whether the entry's maps for the predicted and the runner-up class differ ("" where not measured)."""
    runner_up = entry.get("runner_up_correlation")
    if runner_up is None:
        return ""
    same = runner_up > 0.7
    verdict = "nearly the same map for two different answers" if same else "different answers, different maps"
    return (
        f"{markup.escape(entry['label'])}'s maps for the predicted and the runner-up class correlate at "
        f"{runner_up:.2f}: {verdict}."
    )


def _plain(value: float) -> str:
    """A correlation to two decimals, never "-0.00"."""
    return f"{value:.2f}".replace("-0.00", "0.00")


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


def curves_summary(
    test: str, map_curve, controls: dict, method_label: str, labels: dict, higher_is_better: bool | None = None
) -> str:
    """The chart's main fact: each curve's area, and which order is best (deletion: smallest area; insertion and
    least-relevant-first deletion: largest)."""
    higher = test != "deletion" if higher_is_better is None else higher_is_better
    areas = curve_areas(map_curve, controls, method_label, labels)
    best = (max if higher else min)(areas, key=areas.get)
    better = "larger" if higher else "smaller"
    listed = "; ".join(f"{name} {value:.3f}" for name, value in areas.items())
    return f"Area under each {test} curve ({better} is better): {listed}. Best: {best}."


def draws_sentence(entry: dict) -> str:
    """A version-2 entry's head-random correlations over the draws, in words."""
    values = head_correlations(entry)
    if not values:
        return "This map was blank on the randomised models: no correlation could be measured."
    limit = RULE_V2["max_correlation_head_random"]
    over = sum(v >= limit for v in values)
    said = "every draw stays below 0.5" if not over else f"{over} of {len(values)} draws reach 0.5 or more"
    return (
        f"{entry['label']}, head random, over the garment's pixels: {min(values):.2f} to {max(values):.2f} over "
        f"{len(values)} draws; {said}."
    )
