"""Plotly figures used by the pages (no streamlit here, so they can be tested on their own)."""

from __future__ import annotations

import html
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ACCENT = "#4f46e5"
BRANCH_COLOURS = {"3x3": "#0ea5e9", "5x5": "#f59e0b"}
RUN_COLOURS = ["#4f46e5", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d"]


TOOLBAR_MARGIN = 32  # px above a figure whose toolbar is shown, so it covers nothing


def below_toolbar(height: int, top: int = 10, bottom: int = 10) -> dict:
    """A figure's height and margins with TOOLBAR_MARGIN px above the plot: the toolbar sits there instead of over
    the top of the plot (its title, its top line or tallest bars, a legend above it)."""
    return dict(height=height + TOOLBAR_MARGIN, margin=dict(l=10, r=10, t=top + TOOLBAR_MARGIN, b=bottom))


def _box(fig, x0, x1, y0, y1, text, fill, line="#1f2333", font_size=13, hover=None):
    fig.add_shape(
        type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill, line=dict(color=line, width=1.5), layer="below"
    )
    fig.add_trace(
        go.Scatter(
            x=[(x0 + x1) / 2],
            y=[(y0 + y1) / 2],
            mode="text",
            text=[text],
            textfont=dict(size=font_size, color="#1f2333"),
            hoverinfo="text",
            hovertext=[hover or text.replace("<br>", " ")],
            showlegend=False,
        )
    )


def _arrow(fig, x0, y0, x1, y1):
    fig.add_annotation(
        x=x1,
        y=y1,
        ax=x0,
        ay=y0,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        showarrow=True,
        arrowhead=3,
        arrowsize=1.2,
        arrowwidth=1.5,
        arrowcolor="#6b7280",
        text="",
    )


def _blank_layout(fig, height, x_range, y_range):
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        plot_bgcolor="white",
        xaxis=dict(visible=False, range=x_range, fixedrange=True),
        yaxis=dict(visible=False, range=y_range, fixedrange=True),
        dragmode=False,
    )
    return fig


def network_diagram(stages: pd.DataFrame, selected: str | None = None) -> go.Figure:
    """Input -> stem -> blocks 1-4 -> head as a row of boxes; ``selected`` is highlighted."""
    fig = go.Figure()
    rows = stages.to_dict("records")
    width, gap = 1.0, 0.35
    for i, row in enumerate(rows):
        x0 = i * (width + gap)
        highlight = row["stage"] == selected
        fill = "#c7d2fe" if highlight else ("#eef2ff" if row["stage"].startswith("Inception") else "#f3f4f6")
        label = row["stage"].replace("Inception block", "Block")
        text = f"<b>{label}</b><br>{row['output']}<br>{row['params']:,} params"
        hover = (
            f"{row['stage']}: output {row['output']}, {row['params']:,} parameters, "
            f"{row['multiply_adds'] / 1e6:.2f} M multiply-adds"
        )
        _box(fig, x0, x0 + width, 0, 1, text, fill, line=ACCENT if highlight else "#9ca3af", font_size=12, hover=hover)
        if i:
            _arrow(fig, x0 - gap, 0.5, x0, 0.5)
    return _blank_layout(fig, 150, [-0.1, len(rows) * (width + gap)], [-0.1, 1.1])


def block_diagram(block: int, layers: pd.DataFrame, input_shape: str) -> go.Figure:
    """One inception block: input, the two branches with their 1x1 reductions, concat, LRN, pool."""
    fig = go.Figure()
    info = {row["layer"].split("_", 1)[1]: row for row in layers.to_dict("records")}

    def text(part, title):
        row = info[part]
        return (
            f"<b>{title}</b><br>{row['output shape']} · {row['params']:,} p<br>{row['multiply-adds'] / 1e6:.2f} M MACs"
        )

    _box(fig, 0, 1.3, 1.0, 2.0, f"<b>Block input</b><br>{input_shape}", "#f3f4f6")
    for y, branch in ((2.3, "3x3"), (-0.3, "5x5")):
        colour = BRANCH_COLOURS[branch]
        _box(fig, 1.8, 3.4, y, y + 1.0, text(f"{branch}_reduce", "1x1 reduction"), "#ffffff", line=colour)
        _box(fig, 3.9, 5.5, y, y + 1.0, text(branch, f"{branch} conv"), colour + "33", line=colour)
        _arrow(fig, 1.3, 1.5, 1.8, y + 0.5)
        _arrow(fig, 3.4, y + 0.5, 3.9, y + 0.5)
        _arrow(fig, 5.5, y + 0.5, 6.0, 1.5)
    _box(fig, 6.0, 7.3, 1.0, 2.0, f"<b>Concatenate</b><br>{info['concat']['output shape']}", "#eef2ff")
    _box(fig, 7.8, 9.1, 1.0, 2.0, f"<b>LRN</b><br>{info['lrn']['output shape']}", "#eef2ff")
    _box(fig, 9.6, 10.9, 1.0, 2.0, f"<b>MaxPool 2x2</b><br>{info['pool']['output shape']}", "#f3f4f6")
    _arrow(fig, 7.3, 1.5, 7.8, 1.5)
    _arrow(fig, 9.1, 1.5, 9.6, 1.5)
    return _blank_layout(fig, 300, [-0.1, 11.0], [-0.5, 3.5])


def learning_curves(
    histories: dict[str, pd.DataFrame], best_epochs: dict[str, int], stacked: bool = False
) -> go.Figure:
    """Loss, accuracy and learning rate per epoch; solid = training, dashed = validation. Side by side, or
    ``stacked`` (a phone: side by side, each panel's tick labels ran into its neighbour's curves)."""
    titles = ("Loss", "Accuracy", "Learning rate")
    if stacked:
        fig = make_subplots(rows=3, cols=1, subplot_titles=titles, vertical_spacing=0.09)
    else:
        fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.07)

    def panel(number: int) -> dict:
        return dict(row=number, col=1) if stacked else dict(row=1, col=number)

    for i, (name, history) in enumerate(histories.items()):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for column, split, dash in ((metric, "training", None), (f"val_{metric}", "validation", "dash")):
                fig.add_trace(
                    go.Scatter(
                        x=history["epoch"],
                        y=history[column],
                        name=f"{name} · {split}",
                        legendgroup=name,
                        line=dict(color=colour, dash=dash),
                        showlegend=col == 1,
                        hovertemplate=f"{name}<br>epoch %{{x}}<br>{split} {metric} %{{y:.4f}}",
                    ),
                    **panel(col),
                )
        fig.add_trace(
            go.Scatter(
                x=history["epoch"],
                y=history["learning_rate"],
                name=f"{name} · learning rate",
                legendgroup=name,
                line=dict(color=colour, dash="dot"),
                showlegend=False,
                hovertemplate=f"{name}<br>epoch %{{x}}<br>learning rate %{{y:.2e}}",
            ),
            **panel(3),
        )
        best = best_epochs.get(name)
        if best is not None and best in set(history["epoch"]):
            row = history[history["epoch"] == best].iloc[0]
            fig.add_trace(
                go.Scatter(
                    x=[best],
                    y=[row["val_accuracy"]],
                    mode="markers",
                    legendgroup=name,
                    marker=dict(symbol="star", size=14, color=colour, line=dict(color="black", width=1)),
                    name=f"{name} · selected epoch {best}",
                    showlegend=True,
                    hovertemplate=f"{name}: selected epoch {best}<br>validation accuracy %{{y:.4f}}",
                ),
                **panel(2),
            )
    fig.update_xaxes(title_text="epoch", **(panel(3) if stacked else {}))  # stacked: once, under the last panel
    loss_range, accuracy_range = initial_zoom(histories)
    fig.update_yaxes(range=loss_range, **panel(1))
    fig.update_yaxes(range=accuracy_range, **panel(2))
    fig.update_layout(
        **below_toolbar(900 if stacked else 420, top=40),  # the subplots' titles below the toolbar
        hovermode="closest",
        legend=dict(orientation="h", y=-0.08 if stacked else -0.2),
    )
    return fig


def initial_zoom(histories: dict[str, pd.DataFrame], skip_fraction: float = 0.1) -> tuple[list, list]:
    """Loss and accuracy ranges that leave out the first tenth of each run's epochs.

    Those epochs can be far off the rest (a weight average starts at the random weights: 10%
    validation accuracy) and would squash the part of the curves worth reading. Double-clicking a
    chart still shows every point.
    """
    losses, accuracies = [], []
    for history in histories.values():
        later = history[history["epoch"] > max(1, int(len(history) * skip_fraction))]
        later = later if len(later) else history
        losses += [later["loss"], later["val_loss"]]
        accuracies += [later["accuracy"], later["val_accuracy"]]
    loss, accuracy = pd.concat(losses).dropna(), pd.concat(accuracies).dropna()
    loss_pad = 0.05 * float(loss.max() - loss.min()) or 0.05
    accuracy_pad = 0.05 * float(accuracy.max() - accuracy.min()) or 0.01
    return (
        [max(0.0, float(loss.min()) - loss_pad), float(loss.max()) + loss_pad],
        [max(0.0, float(accuracy.min()) - accuracy_pad), min(1.0, float(accuracy.max()) + accuracy_pad)],
    )


def probability_bars(
    probabilities: np.ndarray, class_names, highlight: int | None = None, top: int = 5, height: int = 220
) -> go.Figure:
    order = np.argsort(-probabilities)[:top][::-1]
    colours = [ACCENT if c == highlight else "#9ca3af" for c in order]
    fig = go.Figure(
        go.Bar(
            x=probabilities[order],
            y=[class_names[c] for c in order],
            orientation="h",
            marker_color=colours,
            text=[f"{probabilities[c]:.1%}" for c in order],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_layout(  # room above the bars for the toolbar, which covered the top answer's bar and figure
        **below_toolbar(height),
        xaxis=dict(range=[0, 1], tickformat=".0%"),
    )
    return fig


CONTROL_STYLES = {
    "random": dict(color="#9ca3af", dash="dash"),
    "garment": dict(color="#f59e0b", dash="dot"),
    "edges": dict(color="#10b981", dash="dashdot"),
}
TEST_AXES = {
    "deletion": "fraction of pixels removed (set to black)",
    "insertion": "fraction of pixels put back into the blurred image",
}


def faithfulness_chart(
    test: str,
    map_curve,
    controls: dict,
    method_label: str,
    class_name: str,
    control_labels: dict,
    title: str | None = None,
    higher_is_better: bool | None = None,
    x_title: str | None = None,
) -> go.Figure:
    """One test's curves: the map's order (bold) against each model-free control, AUCs in the legend.

    ``test`` is "deletion" or "insertion" (the x axis, unless ``x_title`` names it: a scorecard-v2 test's fill
    and order); ``title`` names a scorecard-v2 test.
    ``map_curve`` and each control are probabilities at evenly spaced fractions 0..1 (None: no curve)."""
    from explain.faithfulness import auc

    higher = test == "insertion" if higher_is_better is None else higher_is_better
    fig = go.Figure()
    for name, curve in controls.items():
        curve = np.asarray(curve)
        fig.add_trace(
            go.Scatter(
                x=np.linspace(0, 1, len(curve)),
                y=curve,
                line=CONTROL_STYLES.get(name, {}),
                name=f"{control_labels.get(name, name)} · AUC {auc(curve):.3f}",
            )
        )
    if map_curve is not None:
        curve = np.asarray(map_curve)
        fig.add_trace(
            go.Scatter(
                x=np.linspace(0, 1, len(curve)),
                y=curve,
                line=dict(color=ACCENT, width=3),
                name=f"{method_label} · AUC {auc(curve):.3f}",
            )
        )
    fig.add_annotation(
        text=f"{'higher' if higher else 'lower'} area is better",
        xref="paper",
        yref="paper",
        x=0,
        y=1,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font=dict(size=12),
    )
    fig.update_layout(
        **below_toolbar(350, top=60),
        # the title and below it which area is better, just above the plot from its left edge (clear of the y
        # axis's labels) and below the toolbar: a long title ran under the chart's toolbar and was cut off at half
        # a page's width, at a phone's width the toolbar covered even a short one, and a second line of the title
        # (or Plotly's subtitle) was set inside the plot, over its top line
        title=dict(
            text=title or test.capitalize(), xref="paper", x=0, yref="paper", y=1, yanchor="bottom", pad=dict(b=20)
        ),
        legend=dict(orientation="h", y=-0.3),
        xaxis=dict(title=x_title or TEST_AXES[test], tickformat=".0%"),
        yaxis=dict(title=f"P({class_name})", range=[0, 1.02]),
    )
    return fig


def randomisation_chart(cascade: pd.DataFrame, highlight: str | None = None) -> go.Figure:
    """Adebayo et al.'s figure: rank correlation with the trained model's maps as layers are randomised.

    ``cascade``: one column per method (label), one row per stage (label), values in [-1, 1]."""
    fig = go.Figure()
    for label in cascade.columns:
        bold = label == highlight
        fig.add_trace(
            go.Scatter(
                x=list(cascade.index),
                y=cascade[label],
                mode="lines+markers",
                name=label,
                line=dict(width=4 if bold else 1.5),
                opacity=1.0 if bold or highlight is None else 0.55,
            )
        )
    fig.add_hline(y=0.5, line=dict(color="#ef4444", dash="dot"), annotation_text="pass line (0.5)")
    stages = [str(stage) for stage in cascade.index]
    fig.update_layout(
        # The legend at the figure's foot, in a margin kept for it; the stages' names broken into short lines
        # and never turned: at 400 px wide, turned names ran into the axis title and the legend into both. The
        # toolbar above the plot: it covered the top line's points on a phone.
        **below_toolbar(470, bottom=150),
        xaxis=dict(
            title="re-initialised, from the top down",
            automargin=True,
            tickvals=stages,
            ticktext=[
                "<br>".join(textwrap.wrap(html.escape(stage.removeprefix("+ ")), 6, break_long_words=False))
                for stage in stages
            ],
            tickangle=0,
        ),
        # a short title: the long one was cut off at the chart's top and bottom
        yaxis=dict(title="Spearman with the trained maps", range=[-0.3, 1.05], automargin=True),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"),
    )
    return fig


def knockout_chart(
    original: np.ndarray,
    changed: np.ndarray | None,
    class_names,
    changed_label: str = "",
    original_label: str = "unchanged",
) -> go.Figure:
    """Class probabilities before and after a change (a branch knock-out, an edit), as grouped bars; only the
    original's bars when nothing changed (``changed`` None)."""
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=list(class_names),
            y=original,
            name=original_label,
            marker_color="#9ca3af" if changed is not None else ACCENT,
            showlegend=True,
        )
    )
    if changed is not None:
        fig.add_trace(go.Bar(x=list(class_names), y=changed, name=changed_label, marker_color=ACCENT))
    fig.update_layout(
        barmode="group",
        **below_toolbar(320, top=40),  # the legend above the plot, below the toolbar
        yaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom"),
    )
    return fig


def reliability_diagram(bins: pd.DataFrame) -> go.Figure:
    """Accuracy against confidence per bin (see analysis.calibration), with the line of perfect calibration.

    Bars below the diagonal mean overconfidence, bars above it underconfidence.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=(bins["lower"] + bins["upper"]) / 2,
            y=bins["accuracy"],
            width=bins["upper"] - bins["lower"],
            marker=dict(color=ACCENT, opacity=0.8, line=dict(color="white", width=1)),
            name="share right (number: images in the bin)",
            text=[f"{n:,}" for n in bins["images"]],
            textposition="inside",
            insidetextanchor="start",
            textangle=0,
            textfont=dict(color="white", size=11),
            customdata=np.stack([bins["lower"], bins["upper"], bins["images"], bins["confidence"]], axis=1),
            hovertemplate=(
                "confidence %{customdata[0]:.0%}–%{customdata[1]:.0%}<br>%{customdata[2]:,} images"
                "<br>mean confidence %{customdata[3]:.1%}<br>right %{y:.1%}<extra></extra>"
            ),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#9ca3af", dash="dash"), name="perfectly calibrated"
        )
    )
    fig.update_layout(
        # the toolbar above the plot and the legend at the figure's foot: above the plot, on a phone's width the
        # legend wrapped into two rows and the toolbar covered the first
        **below_toolbar(380, bottom=90),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"),
        xaxis=dict(title="confidence of the top answer", range=[0, 1], tickformat=".0%"),
        yaxis=dict(title="share of those answers that are right", range=[0, 1], tickformat=".0%"),
        bargap=0,
    )
    return fig


USER_STAR_SIZE = 28  # the user's picture on the feature map: large enough to find among 10,000 points

CLASS_COLOURS = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
]  # fmt: skip


def feature_map(
    xy: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    confidence: np.ndarray,
    colour_by: str,
    class_names,
    user: np.ndarray | None = None,
) -> tuple[go.Figure, list[np.ndarray]]:
    """The test images' t-SNE map (WebGL), coloured by true class, predicted class or confidence; mistakes
    drawn as crosses. Returns the figure and, per trace, the test indices of its points (for selections)."""
    wrong = labels != predictions
    hover = [
        f"#{i} · true {class_names[t]} · predicted {class_names[p]} ({c:.0%})"
        for i, (t, p, c) in enumerate(zip(labels, predictions, confidence))
    ]
    fig, traces = go.Figure(), []
    groups = (
        [(np.arange(len(xy)), None)]
        if colour_by == "confidence"
        else [(np.flatnonzero((labels if colour_by == "true" else predictions) == c), c) for c in range(10)]
    )
    for members, cls in groups:
        marker = dict(
            size=np.where(wrong[members], 7, 5),
            symbol=np.where(wrong[members], "x", "circle"),
            opacity=0.85,
        )
        if cls is None:
            marker |= dict(
                color=confidence[members], colorscale="Viridis", cmin=0, cmax=1, colorbar=dict(title="conf.")
            )
        else:
            marker |= dict(color=CLASS_COLOURS[cls])
        fig.add_trace(
            go.Scattergl(
                x=xy[members, 0],
                y=xy[members, 1],
                mode="markers",
                marker=marker,
                name="all images" if cls is None else class_names[cls],
                text=[hover[i] for i in members],
                hovertemplate="%{text}<extra></extra>",
            )
        )
        traces.append(members)
    if user is not None:
        # WebGL like the points and added last, so it is drawn on top of them (an SVG trace would lie under
        # the WebGL canvas, hidden by the 10,000 points).
        fig.add_trace(
            go.Scattergl(
                x=[user[0]],
                y=[user[1]],
                mode="markers+text",
                marker=dict(size=USER_STAR_SIZE, symbol="star", color="#111827", line=dict(color="white", width=3)),
                text=["your picture"],
                textposition="top center",
                textfont=dict(size=15, color="#111827"),
                name="your picture",
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        height=640,
        # The toolbar sits in the top margin, the legend below the map: neither covers the other or the points.
        margin=dict(l=10, r=10, t=36, b=10),
        dragmode="lasso",
        legend=dict(itemsizing="constant", orientation="h", x=0, xanchor="left", y=-0.02, yanchor="top"),
        xaxis=dict(visible=False),
        yaxis=dict(visible=False, scaleanchor="x"),
    )
    return fig, traces


def tile_grid(
    picture: np.ndarray,
    columns: int,
    count: int,
    gap: int,
    hover: list[str],
    selected: int | None = None,
    width: int = 600,
    tile_px: int | None = None,
    toolbar: bool = True,
):
    """A grid of tiles (an RGB picture made by overlay.grid) that can be clicked: one invisible point per
    tile carries the hover text and the selection (plotly cannot select pixels of an image). ``width``:
    about how wide it should be drawn, in screen pixels (its height follows). ``tile_px``: draw each tile
    this tall on screen instead (plotly enlarges the picture's pixels as blocks), where the page is wide
    enough; no height cap then."""
    height, width = picture.shape[:2]
    rows = -(-count // columns)
    cell_w, cell_h = (width + gap) / columns, (height + gap) / rows
    numbers = np.arange(count)
    x = (numbers % columns) * cell_w + (cell_w - gap) / 2
    y = (numbers // columns) * cell_h + (cell_h - gap) / 2
    fig = go.Figure(go.Image(z=picture, hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker=dict(size=min(cell_w, cell_h) * 0.9, symbol="square", color="rgba(0,0,0,0.01)"),
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    if selected is not None and 0 <= selected < count:
        fig.add_shape(
            type="rect",
            x0=x[selected] - cell_w / 2 + gap / 2 - 1,
            x1=x[selected] + cell_w / 2 - gap / 2 + 1,
            y0=y[selected] - cell_h / 2 + gap / 2 - 1,
            y1=y[selected] + cell_h / 2 - gap / 2 + 1,
            line=dict(color=ACCENT, width=3),
        )
    drawn = height * tile_px / (cell_h - gap) if tile_px else min(720, max(120, height * width / picture.shape[1]))
    top = TOOLBAR_MARGIN if toolbar else 0  # room above the tiles for the chart's toolbar, which covered some
    fig.update_layout(
        height=int(round(drawn)) + top,
        margin=dict(l=0, r=0, t=top, b=0),
        xaxis=dict(visible=False, range=[-0.5, width - 0.5], constrain="domain"),
        yaxis=dict(visible=False, range=[height - 0.5, -0.5], scaleanchor="x", constrain="domain"),
        dragmode=False,
        clickmode="event+select",
    )
    return fig


def class_profile(means: np.ndarray, class_names, highlight: list[int]) -> go.Figure:
    """A channel's mean activation per true class, its favourite classes in the accent colour."""
    colours = [ACCENT if k in highlight else "#9ca3af" for k in range(len(class_names))]
    fig = go.Figure(
        go.Bar(x=list(class_names), y=means, marker_color=colours, hovertemplate="%{x}: %{y:.4f}<extra></extra>")
    )
    fig.update_layout(  # the toolbar above the bars: it covered the tallest ones
        **below_toolbar(260),
        yaxis=dict(title="mean activation"),
    )
    return fig


def channel_knockout(accuracy_change: np.ndarray, probability_change: np.ndarray, class_names) -> go.Figure:
    """Per class, in percentage points: how switching a channel off changes accuracy and the mean
    probability of the true class on the probe images."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=list(class_names), y=accuracy_change * 100, name="accuracy", marker_color=ACCENT))
    fig.add_trace(go.Bar(x=list(class_names), y=probability_change * 100, name="P(true class)", marker_color="#9ca3af"))
    fig.update_layout(
        barmode="group",
        **below_toolbar(280, top=40),  # the legend above the bars, below the toolbar
        yaxis=dict(title="change (percentage points)", zeroline=True),
        legend=dict(orientation="h", y=1.02, yanchor="bottom"),
    )
    return fig


def value_map(values: np.ndarray, position: tuple[int, int], title: str) -> go.Figure:
    """A 2-D map of numbers (hover shows 4 decimals) with one position outlined."""
    row, col = position
    fig = go.Figure(
        go.Heatmap(
            z=values,
            colorscale="Viridis",
            hovertemplate="row %{y}, column %{x}: %{z:.4f}<extra></extra>",
            colorbar=dict(thickness=10),
        )
    )
    fig.add_shape(
        type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5, line=dict(color="#ef4444", width=3)
    )
    fig.update_layout(
        # the title below the toolbar, which covered it
        title=dict(text=title, font=dict(size=13), y=1, yref="paper", yanchor="bottom", pad=dict(b=8)),
        **below_toolbar(300, top=30),
        width=320,
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    return fig


def feature_strip(features: np.ndarray) -> go.Figure:
    """The 250 penultimate features of one image as a strip of bars."""
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(features)),
            y=features,
            marker_color=np.where(features >= 0, ACCENT, "#9ca3af"),
            hovertemplate="feature %{x}: %{y:.4f}<extra></extra>",
        )
    )
    fig.update_layout(  # the toolbar above the bars: it covered the tallest ones
        **below_toolbar(200),
        xaxis=dict(title="feature (after batch normalisation)"),
        yaxis=dict(title="value"),
        bargap=0,
    )
    return fig


# --------------------------------------------------------------------------- Watch it learn


def _epoch_axis(epochs, selected: int | None = None) -> dict:
    """Snapshots come thick early and thin late (1, 2, 3, 5, 8, ...): a log axis spreads them evenly, ticked
    at the snapshots themselves. A tick too close to a labelled one (29 beside 30) goes unlabelled; the selected
    epoch (the model the other pages show) and the last are labelled first."""
    epochs = [int(e) for e in epochs]
    log = max(epochs) > 8
    where = {e: float(np.log10(e)) if log else float(e) for e in epochs}
    gap = 0.04 * ((where[epochs[-1]] - where[epochs[0]]) or 1.0)
    first = [e for e in (selected, epochs[-1]) if e in where]
    labelled: list[int] = []
    for e in dict.fromkeys([*first, *reversed(epochs)]):  # in order of priority, each once
        if all(abs(where[e] - where[other]) >= gap for other in labelled):
            labelled.append(e)
    labels = [str(e) if e in labelled else "" for e in epochs]
    return dict(title="epoch", type="log" if log else "linear", tickvals=epochs, ticktext=labels, automargin=True)


def class_accuracy_over_epochs(
    epochs, per_class: np.ndarray, class_names, chosen_epoch: int, selected: int | None = None
) -> go.Figure:
    """Each class's test accuracy at each snapshot, the chosen epoch marked."""
    fig = go.Figure()
    for c, name in enumerate(class_names):
        fig.add_trace(
            go.Scatter(
                x=list(epochs), y=per_class[:, c], mode="lines+markers", name=name, line=dict(color=CLASS_COLOURS[c])
            )
        )
    fig.add_vline(x=chosen_epoch, line=dict(color="#1f2333", dash="dot"))
    fig.update_layout(  # room above the plot for the toolbar, which covered the 100% line on a phone
        **below_toolbar(360),
        xaxis=_epoch_axis(epochs, selected),
        yaxis=dict(title="test accuracy", range=[0, 1.02], tickformat=".0%", automargin=True),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def answers_over_epochs(epochs, probabilities: np.ndarray, class_names, label: int, chosen_epoch: int) -> go.Figure:
    """One image's probabilities at each snapshot: a stacked bar per snapshot, a colour per class (as on the
    moving map), its true class outlined; the chosen epoch's bar named on the axis."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    names = [f"{e}*" if e == chosen_epoch else str(e) for e in epochs]  # snapshots as categories: equal bars
    fig = go.Figure()
    for c, name in enumerate(class_names):
        true = c == label
        fig.add_trace(
            go.Bar(
                x=names,
                y=probabilities[:, c].tolist(),
                name=f"{name} (true class)" if true else name,
                marker=dict(color=CLASS_COLOURS[c], line=dict(color="#1f2333", width=2 if true else 0)),
                hovertemplate=f"{name}: %{{y:.0%}} at epoch %{{x}}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        **below_toolbar(340),  # the toolbar above the bars, not over them
        # No axis title (the page says "epoch; * the one chosen above"): below the bars it collided with the
        # legend at a phone's width. Legend entries of a fixed width wrap into rows that fit any screen.
        xaxis=dict(type="category", automargin=True),
        yaxis=dict(title="probability", range=[0, 1], tickformat=".0%", automargin=True),
        legend=dict(orientation="h", y=-0.12, yanchor="top", entrywidth=120, traceorder="normal"),
    )
    return fig


def drift_chart(epochs, drift: dict, chosen_epoch: int, selected: int | None = None) -> go.Figure:
    """Per snapshot: answers changed since the previous snapshot, answers already final, maps' rank
    correlation with the final maps."""
    fig = go.Figure()
    for key, name, style in (
        ("changed", "answers changed since the previous snapshot", dict(color="#ef4444")),
        ("agreement", "answers already as the final model's", dict(color=ACCENT)),
        ("maps", "maps' rank correlation with the final maps", dict(color="#10b981", dash="dash")),
    ):
        fig.add_trace(go.Scatter(x=list(epochs), y=drift[key], mode="lines+markers", name=name, line=style))
    fig.add_vline(x=chosen_epoch, line=dict(color="#1f2333", dash="dot"))
    fig.update_layout(  # room above the plot for the toolbar, which covered its top line on a phone
        **below_toolbar(340),
        xaxis=_epoch_axis(epochs, selected),
        yaxis=dict(title="share / correlation", range=[-0.05, 1.05], automargin=True),
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def confusion_heatmap(matrix: np.ndarray, class_names, title: str) -> go.Figure:
    """A confusion matrix as row shares (true class rows), counts on hover."""
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=list(class_names),
            y=list(class_names),
            colorscale="Blues",
            zmin=0,
            zmax=1,
            customdata=matrix,
            hovertemplate="true %{y} · predicted %{x}<br>%{customdata:,} images (%{z:.0%})<extra></extra>",
            colorbar=dict(title="share", tickformat=".0%"),
        )
    )
    fig.update_layout(
        height=420,
        margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text=title, x=0),
        xaxis=dict(title="predicted", automargin=True),
        yaxis=dict(title="true", autorange="reversed", automargin=True),
    )
    return fig


def moving_map(
    epochs, positions: np.ndarray, labels: np.ndarray, wrong: np.ndarray, class_names, start_frame: int
) -> go.Figure:
    """The feature-space map of the story's points at each snapshot, as a Plotly animation (its own play button
    and slider); points coloured by true class, mistakes at that snapshot drawn as crosses.

    Its traces are plain dicts, not validated one by one: Plotly's validation of the 10 traces of every frame
    took half a second, on a page that must draw in two (the test suite validates the whole figure)."""

    def traces(frame: int):
        data = []
        for c, name in enumerate(class_names):
            members = labels == c
            data.append(
                dict(
                    type="scatter",
                    x=positions[frame, members, 0],
                    y=positions[frame, members, 1],
                    mode="markers",
                    name=name,
                    marker=dict(
                        color=CLASS_COLOURS[c],
                        size=np.where(wrong[frame, members], 7, 5),
                        symbol=np.where(wrong[frame, members], "x", "circle"),
                        opacity=0.85,
                    ),
                    hoverinfo="skip",
                )
            )
        return data

    span = (
        [positions[..., 0].min() - 3, positions[..., 0].max() + 3],
        [positions[..., 1].min() - 3, positions[..., 1].max() + 3],
    )
    fig = go.Figure(
        data=traces(start_frame),
        frames=[dict(data=traces(f), name=str(e)) for f, e in enumerate(epochs)],
        _validate=False,
    )
    steps = [
        dict(
            method="animate",
            label=str(e),
            args=[
                [str(e)],
                dict(mode="immediate", frame=dict(duration=600, redraw=False), transition=dict(duration=500)),
            ],
        )
        for e in epochs
    ]
    fig.update_layout(
        height=660,
        # The slider sits just below the map and the legend at the figure's foot, in a margin kept for both: a
        # legend placed by a share of the plot's height ran into the slider's labels once a phone's width
        # wrapped it into four rows.
        margin=dict(l=10, r=10, t=40, b=170),
        xaxis=dict(visible=False, range=span[0]),
        yaxis=dict(visible=False, range=span[1], scaleanchor="x"),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"),
        updatemenus=[
            dict(
                type="buttons",
                showactive=False,
                x=0,
                y=1.0,
                xanchor="left",
                yanchor="bottom",
                buttons=[
                    dict(
                        label="▶ play",
                        method="animate",
                        args=[
                            None,
                            dict(
                                frame=dict(duration=900, redraw=False), transition=dict(duration=700), fromcurrent=True
                            ),
                        ],
                    ),
                    dict(
                        label="❚❚ pause",
                        method="animate",
                        args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                active=start_frame, currentvalue=dict(prefix="epoch "), steps=steps, pad=dict(t=10), y=0, yanchor="top"
            )
        ],
    )
    return fig
