"""How figures are shown: alt text and a text summary on every image and chart, downloads, the reader's
display settings (chart download format, colour-blind-safe heat maps) and a print style.

Every page draws its pictures with ``picture`` and its charts with ``chart``, so none goes without alt
text, and the settings apply everywhere.
"""

from __future__ import annotations

import io
import re
from typing import Callable

import numpy as np
import streamlit as st

from explain import overlay

# Plotly on a touch screen: the first tap on a chart shows a point's label, the second picks it (tried in Chromium's
# touch emulation; plotly.js issues 2639 and 6721), so a chart that is an input says so.
TAP_TWICE = "on a touch screen, tap twice: the first tap shows the label"
PHONE_WIDTH = 640  # px: below it, a figure with a narrow version shows that instead
CHART_FORMAT = "chart_download_format"
HEAT_COLOURS = "heat_map_colours"
CHART_FORMATS = {"png": "PNG (pictures, slides)", "svg": "SVG (sharp at any size, for print)"}
HEAT_MAPS = {
    overlay.DEFAULT_COLOUR_MAP: "Inferno (default)",
    overlay.COLOUR_BLIND_SAFE: "Cividis (colour-blind safe)",
}

# Printing (Ctrl-P) gives the page's content only: no menu, sidebar, toolbar or controls.
# Every page's own style: long labels of page links and switches in the page wrap instead of ending in "…" (a
# phone showed six words of each of Home's guide entries), and a printout keeps the content only.
PAGE_CSS = """
<style>
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] *, [data-testid="stMain"] [data-testid="stCheckbox"] label * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stImage"] { column-gap: 0.5rem; }  /* a row of pictures (display.pictures) with space between */
@media (pointer: coarse) {  /* a finger needs a taller target than a radio button's 22 px line */
  [role="radiogroup"] label { min-height: 2rem; align-items: center; }
}
@media print {
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stElementToolbar"],
  .stButton, .stDownloadButton, .stPageLink, .stSelectbox, .stNumberInput, .stSlider, .stRadio,
  .stCheckbox, .stToggle, .stSegmentedControl, .stMultiSelect, .stTextInput, .stFileUploader,
  .modebar-container { display: none !important; }
  [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; zoom: 1 !important; }
}
</style>
"""


def settings() -> None:
    """The reader's display settings, in the sidebar of every page (kept for the session). In a popover, not an
    expander: its widgets are drawn only when it is opened, which took about 0.05 s off Home's first render in
    two paired runs of 6 and 9 rounds (each student's browser loads and draws them otherwise)."""
    with st.sidebar.popover("Display", icon=":material/tune:", width="stretch"):
        # Segmented controls: two or three short choices, each one tap.
        chosen = st.segmented_control(
            "Chart downloads",
            list(CHART_FORMATS),
            default=st.session_state.get(CHART_FORMAT, "png"),
            format_func=lambda f: f.upper(),
            help="What the camera button above each chart saves: " + "; ".join(CHART_FORMATS.values()) + ".",
        )
        st.session_state[CHART_FORMAT] = chosen or st.session_state.get(CHART_FORMAT, "png")
        colours = st.segmented_control(
            "Heat-map colours",
            list(HEAT_MAPS),
            default=heat_colours(),
            format_func=HEAT_MAPS.get,
            help="Cividis stays readable with red-green colour blindness and in grey print.",
        )
        st.session_state[HEAT_COLOURS] = colours or heat_colours()
    st.html(PAGE_CSS)


def heat_colours() -> str:
    """The colour map heat maps are drawn in (an entry of explain.overlay.COLOUR_MAPS)."""
    return st.session_state.get(HEAT_COLOURS, overlay.DEFAULT_COLOUR_MAP)


def file_name(text: str) -> str:
    """A safe file name stem from a title: 'Test image #12 · Grad-CAM' -> 'test-image-12-grad-cam'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "figure"


def chart_config(name: str, **extra) -> dict:
    """Plotly's options: the toolbar always shown, its camera saving ``name`` in the chosen format."""
    return {
        "displayModeBar": True,
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": st.session_state.get(CHART_FORMAT, "png"),
            "filename": file_name(name),
            "scale": 2,
        },
        **extra,
    }


def chart(
    figure,
    alt: str,
    name: str,
    summary: str | None = None,
    config: dict | None = None,
    narrow: Callable[[], None] | None = None,
    **kwargs,
):
    """A Plotly chart with alt text, a download in the chosen format and, below it, its main fact in words.

    ``narrow`` draws another version for screens under PHONE_WIDTH px, for a figure that cannot shrink (a
    diagram whose labels would overlap): the browser shows one or the other (a CSS media query), so the
    server needs no idea of the screen's size."""

    def draw():
        return st.plotly_chart(figure, alt=alt, config=chart_config(name, **(config or {})), **kwargs)

    result = draw() if narrow is None else two_versions(name, draw, narrow)
    if summary:
        st.caption(summary)
    return result


def two_versions(name: str, wide: Callable[[], object], narrow: Callable[[], None]):
    """Draw ``wide`` for screens of PHONE_WIDTH px and more and ``narrow`` below: both are sent and the
    browser shows one (a CSS media query), so the server needs no idea of the screen's size. Returns what
    ``wide`` returns (a chart's selection, say)."""
    wide_box, narrow_box = f"wide_{file_name(name)}", f"narrow_{file_name(name)}"
    st.html(
        f"<style>.st-key-{narrow_box} {{ display: none; }} @media (max-width: {PHONE_WIDTH}px) {{ "
        f".st-key-{wide_box} {{ display: none; }} .st-key-{narrow_box} {{ display: flex; }} }}</style>"
    )
    with st.container(key=wide_box):
        result = wide()
    with st.container(key=narrow_box):
        narrow()
    return result


def png_bytes(pixels: np.ndarray) -> bytes:
    """A uint8 picture (grey or RGB) as PNG bytes; anything else is refused, not wrapped round to 0-255."""
    from PIL import Image

    if np.asarray(pixels).dtype != np.uint8:
        raise TypeError(f"a picture is uint8, not {np.asarray(pixels).dtype}")
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels)).save(buffer, format="PNG")
    return buffer.getvalue()


# Most pictures are the same for a whole class (a quiz's question, a test image's default map): each is encoded
# once, not once per student per click (the encoding was a fifth of the quiz's and Saliency's server time with
# 30 students). Bounded, so memory stays flat however many pictures a class makes.
@st.cache_resource(show_spinner=False, max_entries=1000)
def _png(pixels: np.ndarray) -> bytes:
    return png_bytes(pixels)


def picture(
    pixels: np.ndarray,
    alt: str,
    caption: str | None = None,
    width: int | str = "content",
    download: str | None = None,
    summary: str | None = None,
) -> None:
    """An image with alt text; with ``download`` (a title), a button saving it as a PNG file of that name,
    encoded only when pressed; with ``summary``, what it shows in words below it."""
    st.image(_png(pixels), caption=caption, width=width, alt=alt)
    if summary:
        st.caption(summary)
    if download:
        download_png(lambda: pixels, download)


def pictures(images: list[np.ndarray], alts: list[str], captions: list[str], width: int) -> None:
    """Images side by side in one row that wraps to the screen's width (a phone gets as many to a line as fit,
    in order), each with its own alt text and caption."""
    st.image(images, caption=captions, width=width, alt=alts, output_format="PNG")


def download_png(make: Callable[[], np.ndarray], title: str, label: str = "PNG", key: str | None = None) -> None:
    """A small button that saves ``make()`` (an image array) as ``title``.png, made only when pressed."""
    st.download_button(
        label,
        lambda: png_bytes(make()),
        f"{file_name(title)}.png",
        "image/png",
        icon=":material/download:",
        type="tertiary",
        on_click="ignore",  # saving a file is not a reason to run the page again
        help=f"Save {title} as a PNG image",
        key=key or f"png_{file_name(title)}",
    )
