"""Widgets of the trust layer: the scorecard's life cycle (read it, or compute it with progress) and
the per-image faithfulness test of the Saliency page."""

from __future__ import annotations

import streamlit as st

from analysis import trust
from dashboard import background, charts, display, ui
from runfolder import runs


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
