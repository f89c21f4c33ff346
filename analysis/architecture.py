"""Architecture facts from a run's architecture.json: blocks, branches, parameters, multiply-adds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

BLOCK_PATTERN = re.compile(r"block(\d+)_")


def summary_frame(rows: list[dict]) -> pd.DataFrame:
    """model.summary()'s columns: layer, type, output shape, parameters, connected to."""
    return pd.DataFrame(
        {
            "Layer": [r["name"] for r in rows],
            "Type": [r["type"] for r in rows],
            "Output shape": ["(None, " + ", ".join(map(str, r["output_shape"])) + ")" for r in rows],
            "Param #": [r["params"] for r in rows],
            "Connected to": [", ".join(r["connected_to"]) for r in rows],
        }
    )


def totals(rows: list[dict]) -> dict:
    total = sum(r["params"] for r in rows)
    trainable = sum(r.get("trainable_params", r["params"]) for r in rows)
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def multiply_adds(row: dict) -> int:
    """Multiply-accumulates of one Conv2D or Dense layer for one image (0 for other layers)."""
    if row["type"] == "Conv2D":
        height, width, filters = row["output_shape"]
        kh, kw = row["kernel_size"]
        in_channels = (row["params"] // filters - 1) // (kh * kw)
        return height * width * filters * kh * kw * in_channels
    if row["type"] == "Dense":
        units = row["output_shape"][-1]
        return row["params"] - units  # one multiply-add per weight
    return 0


def block_of(name: str) -> str:
    match = BLOCK_PATTERN.match(name)
    if match:
        return f"Inception block {match.group(1)}"
    return "Stem" if name.startswith("stem") else ("Input" if name == "image" else "Head")


def stage_frame(rows: list[dict]) -> pd.DataFrame:
    """Per stage (stem, blocks 1-4, head): output shape, parameters and multiply-adds."""
    records = []
    for row in rows:
        records.append(
            {
                "stage": block_of(row["name"]),
                "layer": row["name"],
                "params": row["params"],
                "multiply_adds": multiply_adds(row),
                "output": "x".join(map(str, row["output_shape"])),
            }
        )
    frame = pd.DataFrame(records)
    grouped = frame.groupby("stage", sort=False).agg(
        params=("params", "sum"), multiply_adds=("multiply_adds", "sum"), output=("output", "last")
    )
    return grouped.reset_index()


def block_layers(rows: list[dict], block: int) -> pd.DataFrame:
    """The layers of one inception block with the branch each belongs to."""
    records = []
    for row in rows:
        name = row["name"]
        if not name.startswith(f"block{block}_"):
            continue
        part = name.split("_", 1)[1]
        branch = "3x3 branch" if part.startswith("3x3") else "5x5 branch" if part.startswith("5x5") else "merge"
        records.append(
            {
                "layer": name,
                "branch": branch,
                "type": row["type"],
                "kernel": "x".join(map(str, row["kernel_size"])) if row.get("kernel_size") else "",
                "output shape": "x".join(map(str, row["output_shape"])),
                "params": row["params"],
                "multiply-adds": multiply_adds(row),
            }
        )
    return pd.DataFrame(records)


def receptive_fields(block_count: int = 4, stem_kernel: int = 3) -> dict[int, dict[str, int]]:
    """Receptive field (pixels on a side) of each block's 3x3 and 5x5 branch outputs.

    A k x k convolution grows the field by (k - 1) * jump, where jump is the product of
    the strides so far; each 2x2 max pool grows it by one jump and doubles the jump.
    """
    field, jump, result = stem_kernel, 1, {}
    for block in range(1, block_count + 1):
        result[block] = {"3x3": field + 2 * jump, "5x5": field + 4 * jump}
        field, jump = result[block]["5x5"] + jump, jump * 2
    return result


def layer_geometry(layer: str, block_count: int = 4, stem_kernel: int = 3) -> tuple[int, int]:
    """(receptive field in input pixels on a side, jump: input pixels between neighbouring units) of a
    convolution the channel atlas shows: ``stem_conv`` or ``block<b>_<3x3|5x5>[_reduce]``."""
    if layer == "stem_conv":
        return stem_kernel, 1
    match = re.fullmatch(r"block(\d+)_(3x3|5x5)(_reduce)?", layer)
    if not match or not 1 <= int(match.group(1)) <= block_count:
        raise ValueError(f"not a convolution of the atlas: {layer!r}")
    block, branch, reduce = int(match.group(1)), match.group(2), match.group(3)
    field, jump = stem_kernel, 1  # the block's input: the stem's output, then each block's pooled output
    for earlier in range(1, block):
        field, jump = receptive_fields(block_count, stem_kernel)[earlier]["5x5"] + jump, jump * 2
    if reduce:
        return field, jump  # a 1x1 convolution sees what its input sees
    return receptive_fields(block_count, stem_kernel)[block][branch], jump


def receptive_box(row: int, col: int, field: int, jump: int, size: int = 28) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), inclusive and clipped to the image, of the input pixels that unit
    (row, col) of a layer with this receptive field and jump can see ('same' padding, 2x2 pools)."""
    centre_row, centre_col = jump * row + (jump - 1) / 2, jump * col + (jump - 1) / 2
    half = (field - 1) / 2
    top, left = int(np.ceil(centre_row - half)), int(np.ceil(centre_col - half))
    bottom, right = top + field - 1, left + field - 1
    return max(top, 0), max(left, 0), min(bottom, size - 1), min(right, size - 1)
