"""An explanation report for one image: a self-contained HTML file for a handout or a bug report.

It holds what the Saliency page shows for the image: the picture, the network's answer and top 5, each
map with its colour scale and its description in words, the per-image test of the map against the fair
controls, and the scorecard's line for the method. Pictures are embedded as PNG data URLs, so the file
opens anywhere, offline, and prints as it looks. Every text is escaped: labels come from run folders.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from explain import overlay
from explain.describe import describe_map


@dataclass(frozen=True)
class ShownMap:
    caption: str
    picture: np.ndarray  # the overlay as drawn on the page (uint8 RGB)
    values: np.ndarray  # the raw (28, 28) map
    peak: float  # the value drawn brightest (the scale's top)
    colour_map: str


def png_data_url(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def scale_bar(colour_map: str, width: int = 224, height: int = 12) -> np.ndarray:
    """The colour map as a horizontal bar, low to high."""
    ramp = overlay.colourise(np.linspace(0.0, 1.0, width), colour_map)
    return np.repeat(ramp[None], height, axis=0)


def _escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def explanation_report(
    title: str,
    run_name: str,
    pixels: np.ndarray,
    probabilities: np.ndarray,
    true_class: int | None,
    class_names,
    maps: list[ShownMap],
    verdict_text: str | None,
    curve_areas: dict[str, dict[str, float]] | None,
    scorecard_line: str | None,
    made: dt.datetime | None = None,
) -> str:
    """The report as one HTML document (see the module's docstring)."""
    made = made or dt.datetime.now(dt.timezone.utc)
    predicted = int(np.argmax(probabilities))
    top5 = np.argsort(-probabilities)[:5]
    truth = (
        "no true class (your own picture)"
        if true_class is None
        else f"true class {class_names[true_class]} · " + ("correct" if true_class == predicted else "misclassified")
    )
    rows = "".join(f"<tr><td>{_escape(class_names[c])}</td><td>{probabilities[c]:.1%}</td></tr>" for c in top5)
    figures = []
    for shown in maps:
        figures.append(
            "<figure>"
            f"<img src='{png_data_url(shown.picture)}' width='224' height='224' "
            f"alt='{_escape('Heat map: ' + shown.caption)}'>"
            f"<figcaption><b>{_escape(shown.caption)}</b><br>"
            f"<img class='bar' src='{png_data_url(scale_bar(shown.colour_map))}' width='224' height='12' "
            f"alt='colour scale'><span class='scale'><span>0</span><span>{shown.peak:.3g}</span></span>"
            f"{_escape(describe_map(shown.values))}</figcaption></figure>"
        )
    tests = ""
    if verdict_text or curve_areas:
        tests = "<h2>Does the map hold up on this image?</h2>"
        if verdict_text:
            tests += f"<p>{_escape(verdict_text)}</p>"
        for test, areas in (curve_areas or {}).items():
            better = "smaller" if test == "deletion" else "larger"
            cells = "".join(f"<tr><td>{_escape(name)}</td><td>{value:.3f}</td></tr>" for name, value in areas.items())
            tests += (
                f"<table><caption>Area under the {_escape(test)} curve ({better} is better)</caption>"
                f"<tr><th>order</th><th>area</th></tr>{cells}</table>"
            )
    scorecard = f"<h2>The method's scorecard</h2><p>{_escape(scorecard_line)}</p>" if scorecard_line else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_escape(title)} · explanation report</title><style>"
        "body{font-family:sans-serif;max-width:860px;margin:24px auto;padding:0 16px;color:#1f2333}"
        "img{image-rendering:pixelated}figure{display:inline-block;width:240px;margin:0 16px 16px 0;"
        "vertical-align:top}figcaption{font-size:10pt}.bar{display:block;margin-top:4px}"
        ".scale{display:flex;justify-content:space-between;width:224px;font-size:9pt;margin-bottom:4px}"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 8px}"
        "caption{text-align:left;font-weight:bold;padding:4px 0}.meta{color:#666;font-size:9pt}"
        "</style></head><body>"
        f"<h1>{_escape(title)}</h1>"
        f"<p class='meta'>Tiny GoogLeNet Explainer · run {_escape(run_name)} · made "
        f"{made.strftime('%Y-%m-%d %H:%M UTC')}</p>"
        f"<figure><img src='{png_data_url(overlay.crisp(pixels, 8))}' width='224' height='224' "
        f"alt='{_escape(title)}'><figcaption>The 28 x 28 input</figcaption></figure>"
        f"<p>The network answers <b>{_escape(class_names[predicted])}</b> ({probabilities[predicted]:.1%}); "
        f"{_escape(truth)}.</p>"
        f"<table><caption>Top 5</caption><tr><th>class</th><th>probability</th></tr>{rows}</table>"
        f"<h2>Where it looked</h2>{''.join(figures)}"
        f"{tests}{scorecard}"
        "<p class='meta'>A map colours the pixels that mattered most for one class; its scale runs from 0 (dark) "
        "to the value drawn brightest. The per-image test removes pixels in the map's order and in orders that "
        "know nothing about the model; a map worth trusting hurts the answer sooner.</p>"
        "</body></html>"
    )
