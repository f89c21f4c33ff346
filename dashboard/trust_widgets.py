"""Widgets of the trust layer: the scorecard's life cycle (read it, or compute it with progress) and
the per-image faithfulness test of the Saliency page."""

from __future__ import annotations

import streamlit as st

from analysis import markup, trust
from analysis.glossary import define
from dashboard import background, charts, display, ui
from runfolder import runs

OLD_VERSION_NOTICE = (
    "This run's scorecard is **version 1**: one way of removing pixels (black), shares of images without "
    "uncertainty, and one random draw for the randomisation check. Its verdicts follow version 1's rule, which "
    "a map made by blacking pixels out can pass by that alone. Version 2 deletes under three fills, gives each "
    "comparison a confidence interval and repeats the randomisation five times: {command} (about 90 minutes "
    "on 2 cores; it continues where it stopped if interrupted)."
)
PAGE_WORDS = (
    "deletion test",
    "insertion test",
    "fill",
    "ROAD",
    "area under the curve",
    "garment control",
    "confidence interval",
    "bootstrap",
    "sign test",
    "Spearman correlation",
    "randomisation check",
    "noise ceiling",
)


def scorecard_command(run: runs.RunInfo) -> str:
    """The command that computes a run's scorecard, as inline code (a shipped run is read-only to every command
    without --rebuild-shipped)."""
    from training.paths import shown_path  # the project's paths, never the server's layout

    rebuild = " --rebuild-shipped" if run.shipped else ""
    return markup.code(f"python -m explain.scorecard --run {shown_path(run.folder)}{rebuild}", 300)


def words_on_this_page() -> str:
    return "\n".join(f"- **{word}**: {define(word)}" for word in PAGE_WORDS)


def entry_figures(card: dict, entry: dict) -> None:
    """An entry in four figures: (version 2) its clear wins, its head-random draws, its noise ceiling, its blanks."""
    from explain import faithfulness as fa

    if trust.version(card) < 2:
        return _entry_figures_v1(entry)

    held = trust.held_tests(entry)
    draws = trust.head_correlations(entry)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Clear wins vs garment",
        f"{len(held)} of {len(fa.RULE_TESTS)} tests",
        help="Deletion with each of the three fills, and insertion. " + define("confidence interval"),
    )
    c2.metric(
        "Correlation, head random",
        "n/a" if not draws else f"{min(draws):.2f} to {max(draws):.2f}",
        help="Spearman over the garment's pixels once the output and dense layers are random, lowest to highest "
        "over the draws of the random weights; every draw below 0.5 passes. " + define("Spearman correlation"),
    )
    ceiling = (entry.get("noise_ceiling") or {}).get("garment")
    c3.metric(
        "Noise ceiling",
        "n/a" if ceiling is None else f"{ceiling:.2f}",
        help=define("noise ceiling") + " Only maps made with random noise have one.",
    )
    c4.metric("Blank maps", f"{entry['blank_rate']:.1%}")  # a share of a few hundred images
    if ceiling and draws:
        head = sum(draws) / len(draws)
        st.caption(
            f"{markup.escape(entry['method_label'])} agrees with itself, redrawn, at only {ceiling:.2f}: its "
            f"head-random correlation of {head:.2f} is {head / ceiling:.0%} of that ceiling."
        )


def entry_curves(card: dict, entry: dict) -> None:
    """An entry's curves (version 2: of a chosen fill and order) against the controls, and its paired advantage
    over a chosen control in every test, with intervals."""
    from explain import faithfulness as fa

    if trust.version(card) < 2:
        return _entry_curves_v1(card, entry)

    left, right = st.columns(2)
    fill = ui.segmented(
        "Fill for deleted pixels", fa.FILLS, "black", fa.FILL_NAMES, key="detail_fill", help=define("fill"), where=left
    )
    least = (
        ui.segmented(
            "Deletion order",
            ["most", "least"],
            "most",
            {"most": "most relevant first", "least": "least relevant first"},
            key="detail_order",
            help="Least relevant first: a faithful map keeps the class while its least relevant pixels go (a larger "
            "area is better). It passes through the same images as insertion into the fill, read backwards.",
            where=right,
        )
        == "least"
    )
    shown = [f"{'lerf' if least else 'deletion'}_{fill}", "insertion_blur"]
    for column, test_key in zip(st.columns(2), shown):
        test = fa.TESTS_V2[test_key]
        map_curve = entry["tests"][test_key]["curve"]
        controls = {name: control["tests"][test_key]["curve"] for name, control in card["controls"].items()}
        with column:
            display.chart(
                charts.faithfulness_chart(
                    test.kind,
                    map_curve,
                    controls,
                    entry["label"],
                    "predicted class",
                    fa.CONTROL_LABELS,
                    title=test.short_label,
                    higher_is_better=test.higher_is_better,
                    x_title=test.axis_title,
                ),
                trust.curves_alt(test.kind, entry["label"]),
                f"{entry['label']} {test_key} curves",
                trust.curves_summary(
                    test.kind, map_curve, controls, entry["label"], fa.CONTROL_LABELS, test.higher_is_better
                ),
                width="stretch",
                key=f"curves_{test_key}",
            )
    if least and fill == "blur":
        st.caption(
            "With the blur fill the two charts mirror each other: removing the least relevant pixels first into the "
            "blur passes through the same images as putting the most relevant ones back into it, in reverse order."
        )

    control = ui.segmented(
        "Compared with", fa.CONTROLS, "garment", fa.CONTROL_LABELS, key="detail_control", help=define("garment control")
    )
    display.two_versions(  # a phone gets one line per test: the table's columns would sit off-screen
        "tests_table",
        lambda: _tests_table(entry, control),
        lambda: st.markdown("\n".join(f"- {line}" for line in trust.tests_lines(entry, control))),
    )
    st.caption(
        "Averages over the sampled images (blank maps left out). Advantage: the map's area under the curve minus "
        "the control's, signed so that positive means the map did better; 'clear' when its whole 95% interval "
        "lies above zero. The last three tests are not in the rule: they are insertion into each fill, read "
        "backwards."
    )


def _tests_table(entry: dict, control: str) -> None:
    st.dataframe(
        trust.tests_frame(entry, control),
        hide_index=True,
        width="stretch",
        column_config={
            "advantage": st.column_config.NumberColumn(
                "advantage", format="%+.3f", help="Mean over the images of how much better the map's area is."
            ),
            "images won": st.column_config.NumberColumn("images won", format="percent"),
            "sign test p": st.column_config.NumberColumn("sign test p", format="%.3f", help=define("sign test")),
            "95% interval": st.column_config.TextColumn("95% interval", help=define("bootstrap")),
            "in the rule": st.column_config.TextColumn(
                "in the rule", help="Whether the pass rule uses this test; the others are shown for information."
            ),
        },
    )


# The trust page's two kinds of evidence about the chosen method, one tab each.
EVIDENCE_TABS = ["Faithfulness", "Sensitivity"]  # short: both labels fit a phone's width


def entry_sensitivity(card: dict, entry: dict) -> None:
    """The randomisation cascade at a chosen layer, the chosen entry highlighted."""
    second_version = trust.version(card) >= 2
    st.markdown("**Does the map change when the model is destroyed?**")
    layers = [name for name in trust.LAYER_LABELS if name != "input"]
    shown_layer = entry["layer"] if entry["layer"] in layers else "block3"  # a pixel-level method: block 3's CAMs
    layer = ui.segmented("CAM layer", layers, shown_layer, trust.LAYER_LABELS, key="cascade_layer")
    pixels = "all"
    if second_version:
        pixels = ui.segmented(
            "Pixels compared",
            ["garment", "all"],
            "garment",
            {"garment": "the garment's pixels", "all": "all pixels"},
            key="cascade_pixels",
            help="Two maps that are both zero on the black background agree there for free, which makes the "
            "correlation over all pixels look higher than it is. The rule uses the garment's pixels.",
        )
    cascade = trust.cascade_frame(card, layer, pixels)
    display.chart(  # the chart's lines are methods at one layer: the chosen method's is drawn bold
        charts.randomisation_chart(cascade, highlight=entry["method_label"]),
        f"Line chart of each method's map correlation with the trained model's map as the network is randomised "
        f"from the top down, {entry['method_label']} highlighted",
        f"randomisation {layer}",
        trust.cascade_summary(cascade, entry["method_label"], card["stages"].get(trust.RULE["head_random_stage"])),
        width="stretch",
    )
    if second_version:
        st.caption(
            f"Each point is the mean over {card['settings']['randomisation_draws']} independent draws of the "
            "random weights; the rule asks every draw to stay below 0.5 once the head is random. "
            + trust.draws_sentence(entry)
        )
    st.markdown(
        f"Methods at {trust.LAYER_LABELS.get(layer, layer)} and the pixel-level methods. From left to right the "
        "network is re-initialised from the top down (Adebayo et al., 2018): a map that still looks the same once "
        "the head is random is explaining the image, not the model. " + trust.runner_up_sentence(entry)
    )


def _entry_figures_v1(entry: dict) -> None:
    """A version-1 entry in four figures: the shares of images on which it beats the garment control, one
    randomisation draw, its blanks."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Beats the garment control: deletion", ui.percent(entry["beats"]["deletion"]["garment"] or 0))
    c2.metric("…and insertion", ui.percent(entry["beats"]["insertion"]["garment"] or 0))
    head = entry["randomisation"].get(trust.RULE["head_random_stage"])
    c3.metric("Correlation, head random", "n/a" if head is None else f"{head:.2f}", help="Below 0.5 passes.")
    c4.metric("Blank maps", f"{entry['blank_rate']:.1%}")  # a share of a few hundred images


def _entry_curves_v1(card: dict, entry: dict) -> None:
    """A version-1 entry's mean deletion and insertion curves against the controls."""
    from explain.faithfulness import CONTROL_LABELS, TESTS

    controls = card["controls"]
    for column, test in zip(st.columns(2), TESTS):
        curves = {name: controls[name]["curves"][test] for name in controls}
        with column:
            display.chart(
                charts.faithfulness_chart(
                    test, entry["curves"][test], curves, entry["label"], "predicted class", CONTROL_LABELS
                ),
                trust.curves_alt(test, entry["label"]),
                f"{entry['label']} {test} curves",
                trust.curves_summary(test, entry["curves"][test], curves, entry["label"], CONTROL_LABELS),
                width="stretch",
                key=f"curves_{test}",
            )
    st.caption(
        "Averages over the sampled images (blank maps left out). The map beats a control on an image when its "
        "deletion curve has the smaller area (insertion: the larger). Percentages above count images, not averages."
    )


def scorecard_or_offer(run: runs.RunInfo) -> dict:
    """The run's scorecard; otherwise why not, a way to compute it (background.offer), and st.stop()."""
    try:
        return ui.scorecard(run.folder)
    except trust.ScorecardError as exc:
        background.offer(background.SCORECARD, run, exc)


def image_verdict(net, image, saliency_values, target: int, seed: int):
    """Deletion and insertion of this image in the map's order against the fair controls, measured now:
    one model call for the map and all controls (three random orders, garment pixels, edges)."""
    from explain import faithfulness as fa
    from explain.saliency import predict_in_chunks

    return fa.image_verdict(lambda batch: predict_in_chunks(net, batch), image, saliency_values, target, seed=seed)


def per_image_test(verdict, method_label: str, class_name: str) -> None:
    """The per-image test's two charts (the map against the controls) and its verdict in words."""
    from explain import faithfulness as fa

    left, right = st.columns(2)
    for column, test in zip((left, right), fa.TESTS):
        controls = {name: getattr(curves, test).mean(axis=0) for name, curves in verdict.control_curves.items()}
        figure = charts.faithfulness_chart(
            test, getattr(verdict.map_curves, test)[0], controls, method_label, class_name, fa.CONTROL_LABELS
        )
        with column:
            display.chart(
                figure,
                trust.curves_alt(test, method_label),
                f"{method_label} {test} on this image",
                trust.curves_summary(
                    test, getattr(verdict.map_curves, test)[0], controls, method_label, fa.CONTROL_LABELS
                ),
                width="stretch",
                key=f"image_{test}",
            )
    st.markdown(verdict_markdown(verdict, method_label))


def verdict_markdown(verdict, method_label: str) -> str:
    """Each test on its own line, as its chart shows it, then what the two say together."""
    from explain import faithfulness as fa

    lines = "\n".join(f"- {fa.test_sentence(verdict, test)}" for test in fa.TESTS)
    return f"On this image, in the order of the {method_label} map:\n\n{lines}\n\n{fa.summary_sentence(verdict)}"
