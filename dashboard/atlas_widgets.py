"""Widgets of the channel atlas page: the layer's grid of channel tiles and one channel in detail.

Everything is drawn from the run's ``atlas.npz`` (``analysis.atlas``) and the test images: no TensorFlow.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from analysis.atlas import Atlas, layer_label
from analysis.glossary import define
from analysis.points import points_change
from dashboard import charts, display, ui
from dataset.fashion_mnist import CLASS_NAMES, Split
from explain import overlay
from explain.describe import describe_map

TILE_KINDS = {"visual": "Feature visualisation", "top": "Top test image"}
TILE_SCALE = 2  # 28 px -> 56 px per tile
DETAIL_SCALE = 6
TOP_SCALE = 3
GAP = 2
LAYER_KEY, CHANNEL_KEY, TILES_KEY = "atlas_layer", "atlas_channel", "atlas_tiles"


def layer_caption(atlas: Atlas, layer: str) -> str:
    number = atlas.layers.index(layer)
    field, grid = int(atlas["field"][number]), int(atlas["grid"][number])
    if field >= 2 * 28 - 1:  # even a corner unit's field covers the image
        seen = "the whole image"
    elif field >= 28:
        seen = f"a {field}x{field} pixel patch (the whole image for units near the centre)"
    else:
        seen = f"a {field}x{field} pixel patch"
    return f"{layer_label(layer)} · {atlas.channels(layer)} channels · a {grid}x{grid} grid of units, each sees {seen}"


def _tile(atlas: Atlas, layer: str, row: int, kind: str, split: Split | None) -> np.ndarray:
    if kind == "top" and split is not None:
        if atlas.dead(row):
            return np.zeros((28 * TILE_SCALE, 28 * TILE_SCALE, 3), dtype=np.uint8)
        return overlay.boxed(split.images[int(atlas["top_index"][row, 0])], atlas.peak_box(layer, row, 0), TILE_SCALE)
    grey = overlay.crisp(overlay.stretch(atlas["visual"][row]), TILE_SCALE)
    return np.repeat(grey[..., None], 3, axis=-1)


@st.cache_data(show_spinner=False, max_entries=64)
def _grid_picture(_atlas: Atlas, folder: str, stamp, layer: str, kind: str, _split: Split | None) -> np.ndarray:
    rows = _atlas.rows(layer)
    tiles = np.stack([_tile(_atlas, layer, row, kind, _split) for row in range(rows.start, rows.stop)])
    return overlay.grid(tiles, columns(_atlas.channels(layer)), GAP)


def columns(channels: int) -> int:
    return 16 if channels >= 64 else 8


def hover_texts(atlas: Atlas, layer: str) -> list[str]:
    texts = []
    for channel in range(atlas.channels(layer)):
        row = atlas.row(layer, channel)
        if atlas.dead(row):
            texts.append(f"channel {channel} · dead (never active on the test set)")
            continue
        favourite = ", ".join(CLASS_NAMES[k] for k in atlas.favourite_classes(row))
        texts.append(f"channel {channel} · fires most for {favourite} · peak {atlas['peak_max'][row]:.2f}")
    return texts


def channel_grid(atlas: Atlas, folder: str, stamp, layer: str, kind: str, split: Split | None, selected: int) -> None:
    """The layer's channels as clickable tiles; a click selects the channel (through session state)."""
    picture = _grid_picture(atlas, folder, stamp, layer, kind, split)
    count = atlas.channels(layer)
    width = 900 if columns(count) == 16 else 640
    figure = charts.tile_grid(picture, columns(count), count, GAP, hover_texts(atlas, layer), selected, width)
    key = f"atlas_grid_{layer}_{kind}"

    def choose() -> None:
        points = ((st.session_state.get(key) or {}).get("selection") or {}).get("points", [])
        chosen = [p["point_index"] for p in points if p.get("curve_number") == 1 and "point_index" in p]
        if chosen:
            st.session_state[CHANNEL_KEY] = int(chosen[-1])

    title = f"{layer_label(layer)} channels, {TILE_KINDS[kind].lower()}s"
    display.chart(
        figure,
        f"Grid of the {count} channel tiles of {layer_label(layer)} ({TILE_KINDS[kind].lower()} per channel), "
        f"channel {selected} outlined; choose a tile to open its channel",
        title,
        atlas.layer_summary(layer, CLASS_NAMES),
        width="stretch",
        on_select=choose,
        selection_mode="points",
        key=key,
    )
    display.download_png(lambda: picture, title, "Save the tiles (PNG)", key=f"png_{key}")


def top_images(atlas: Atlas, layer: str, row: int, split: Split) -> None:
    """The channel's 9 strongest test images, the seen patch outlined at the peak, with links."""
    tiles = np.stack(
        [
            overlay.boxed(split.images[int(index)], atlas.peak_box(layer, row, rank), TOP_SCALE)
            for rank, index in enumerate(atlas["top_index"][row])
        ]
    )
    classes = [CLASS_NAMES[int(split.labels[int(index)])] for index in atlas["top_index"][row]]
    picture = overlay.grid(tiles, 3, 4)
    display.picture(
        picture,
        "The channel's 9 strongest test images, 3 by 3, each with a red box where the most active unit looks: "
        + ", ".join(classes),
        width=3 * 28 * TOP_SCALE + 8,
    )
    display.download_png(lambda: picture, f"{layer} channel {atlas.channel(layer, row)} top images")
    # Page links keep this browser session (a Markdown link opened a new tab and a new session). One list in the
    # picture's reading order: in three columns a phone stacked them 1, 4, 7, 2, ... and a desktop cut them short.
    for rank, index in enumerate(atlas["top_index"][row]):
        ui.page_link(
            "Saliency",
            f"{rank + 1}. #{int(index)} {classes[rank]} · {atlas['top_value'][row, rank]:.3f}",
            query=f"index={int(index)}",
        )


def detail(atlas: Atlas, layer: str, channel: int, split: Split | None) -> None:
    """One channel: its synthetic image, its top images, its class profile and its knock-out effect."""
    row = atlas.row(layer, channel)
    st.subheader(f"{layer_label(layer)} · channel {channel}")
    if atlas.dead(row):
        st.warning(
            "**A dead channel.** Its output (after ReLU) is zero for every one of the test images, so it passes "
            "nothing on: it has no top images, no preferred class, and switching it off changes nothing.",
            icon=":material/do_not_disturb_on:",
        )
    effect = atlas.knockout(row)
    before, after, total_before, total_after = (effect[k] for k in ("accuracy", "accuracy_off", "total", "total_off"))
    probes = int(atlas["probe_count"].sum())
    m1, m2, m3 = st.columns(3)
    m1.metric("Strongest response on the test set", f"{atlas['peak_max'][row]:.3f}")
    m2.metric(
        "Most active on average for",
        ", ".join(CLASS_NAMES[k] for k in atlas.favourite_classes(row)) if not atlas.dead(row) else "nothing",
    )
    change = points_change(total_before, total_after)  # no arrow or colour when it prints as zero
    m3.metric(
        f"Accuracy on {probes:,} probe images when switched off",
        f"{total_after:.1%}",
        delta=change.text,
        delta_color=change.delta_color,
        delta_arrow=change.delta_arrow,
        help=f"With the channel on: {total_before:.1%}. Points: the difference of the two percentages.",
    )
    left, middle, right = st.columns([1, 1, 2])
    with left:
        st.markdown("**Feature visualisation** (synthetic)", help=define("feature visualisation"))
        visual = overlay.crisp(overlay.stretch(atlas["visual"][row]), DETAIL_SCALE)
        display.picture(
            visual,
            f"Synthetic grey image that excites channel {channel} of {layer_label(layer)} most",
            width=28 * DETAIL_SCALE,
            summary=describe_map(atlas["visual"][row], "The synthetic image's brightness"),
        )
        display.download_png(lambda: visual, f"{layer} channel {channel} feature visualisation")
        if not atlas.dead(row):
            st.caption(
                "Made by gradient ascent from faint noise, not a real garment: the input that drives this channel's "
                "mean activation up, shown stretched to full brightness. "
                + (
                    "The best input found is an empty, black image: this channel responds to the absence of ink. "
                    if atlas["visual"][row].max() == 0
                    else ""
                )
                + f"It reaches {atlas.visual_strength(row):.1f}x the mean activation of the channel's strongest "
                "test image."
            )
    with middle:
        st.markdown("**Top 9 test images**")
        if split is None or atlas.dead(row):
            st.caption("None: the channel is never active." if split is not None else "Test images unavailable.")
        else:
            top_images(atlas, layer, row, split)
            st.caption(
                "The red box: the pixels the most active unit sees (its receptive field).",
                help=define("receptive field"),
            )
    with right:
        st.markdown("**Mean activation per true class** (all test images)")
        means = atlas["class_mean"][row]
        ranked = np.argsort(-means, kind="stable")
        display.chart(
            charts.class_profile(means, CLASS_NAMES, atlas.favourite_classes(row)),
            f"Bar chart of channel {channel}'s mean activation for each of the ten true classes",
            f"{layer} channel {channel} class profile",
            f"Highest for {CLASS_NAMES[ranked[0]]} ({means[ranked[0]]:.3f}), lowest for "
            f"{CLASS_NAMES[ranked[-1]]} ({means[ranked[-1]]:.3f}).",
            width="stretch",
            key="atlas_profile",
        )
        st.markdown(f"**Switched off** (its output set to zero) on {probes:,} probe images, per class")
        drop = after - before
        worst = int(np.argmin(drop))
        display.chart(
            charts.channel_knockout(drop, effect["probability_off"] - effect["probability"], CLASS_NAMES),
            f"Bar chart of the change per class when channel {channel} is switched off",
            f"{layer} channel {channel} knock-out",
            f"Switched off, the largest loss is for {CLASS_NAMES[worst]}: {drop[worst] * 100:+.1f} points of accuracy."
            if drop[worst] < 0
            else "Switched off, no class loses accuracy on the probe images.",
            width="stretch",
            key="atlas_knockout",
        )
        st.caption(
            "The probe images are the first 100 test images of each class. A single channel rarely flips an "
            "answer; the change in the mean probability of the true class shows smaller effects."
        )
