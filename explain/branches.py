"""Inside an inception block: every layer's activation for one image, branch shares, knock-outs.

``forward`` replays the functional graph layer by layer, so any layer's output can
be read, or replaced by zeros (a knock-out), in the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import model as tgn


def forward(net, images: np.ndarray | None, knock_out=(), given: dict | None = None) -> dict[str, np.ndarray]:
    """All layer outputs for a batch of model-input images; layers in ``knock_out`` output zeros.

    ``given`` maps layer names to outputs already known (cached, or edited, such as one channel set
    to zero): those layers are not run, and with ``images=None`` only the layers that can be reached
    from the given ones are computed (the rest of the graph is skipped)."""
    knock_out = set(knock_out)
    unknown = knock_out - {layer.name for layer in net.layers}
    if unknown:
        raise ValueError(f"Unknown layer(s) to knock out: {', '.join(sorted(unknown))}")
    outputs: dict[str, object] = dict(given or {})
    for layer in net.layers:  # functional models list layers in topological order
        if layer.name in outputs:
            continue
        inbound = tgn.inbound_layer_names(layer)
        if not inbound:
            if images is None:
                continue
            value = np.asarray(images, dtype=np.float32)
        elif all(name in outputs for name in inbound):
            args = [outputs[name] for name in inbound]
            value = layer(args if len(args) > 1 else args[0], training=False)
        else:
            continue  # upstream of what was given: not needed
        if layer.name in knock_out:
            value = value * 0.0
        outputs[layer.name] = value
    return {name: np.asarray(value) for name, value in outputs.items()}


def downstream(net, name: str) -> set[str]:
    """Names of the layers whose output depends on layer ``name`` (not including it)."""
    found: set[str] = set()
    for layer in net.layers:  # topological order: a layer's inputs come before it
        if any(source == name or source in found for source in tgn.inbound_layer_names(layer)):
            found.add(layer.name)
    return found


@dataclass
class BlockActivations:
    block: int
    input_shape: tuple
    output_shape: tuple
    maps: dict  # layer role ('3x3_reduce', '3x3', '5x5_reduce', '5x5', 'output') -> (H, W, C)
    energy_share: dict  # branch ('3x3', '5x5') -> share of the concatenated activation energy


def block_input_name(net, block: int) -> str:
    return tgn.inbound_layer_names(net.get_layer(tgn.branch_layers(block, "3x3")[0]))[0]


def branch_activations(net, image: np.ndarray, block: int, outputs: dict | None = None) -> BlockActivations:
    """Feature maps of both branches (and their 1x1 reductions) of ``block`` for one image."""
    if block not in tgn.BLOCKS:
        raise ValueError(f"block must be one of {tgn.BLOCKS}, not {block}")
    outputs = outputs or forward(net, np.asarray(image, dtype=np.float32).reshape(1, 28, 28, 1))
    maps = {}
    for branch in tgn.BRANCHES:
        reduce_name, conv_name = tgn.branch_layers(block, branch)
        maps[f"{branch}_reduce"] = outputs[reduce_name][0]
        maps[branch] = outputs[conv_name][0]
    maps["output"] = outputs[tgn.block_output(block)][0]
    energy = {branch: float(np.square(maps[branch]).sum()) for branch in tgn.BRANCHES}
    total = sum(energy.values())
    share = {branch: (value / total if total > 0 else 0.0) for branch, value in energy.items()}
    return BlockActivations(
        block=block,
        input_shape=outputs[block_input_name(net, block)][0].shape,
        output_shape=outputs[tgn.block_layer(block, "pool")][0].shape,
        maps=maps,
        energy_share=share,
    )


def knockout_probabilities(net, image: np.ndarray, block: int, branches) -> np.ndarray:
    """Class probabilities with the named branches of ``block`` switched off (outputs zeroed)."""
    layers = [tgn.branch_layers(block, branch)[1] for branch in branches]
    outputs = forward(net, np.asarray(image, dtype=np.float32).reshape(1, 28, 28, 1), knock_out=layers)
    return outputs[tgn.PREDICTIONS][0]


# --------------------------------------------------------------------------- how the page draws them

TILE_MIN_PX = 96  # a feature map's tile on screen, at least (at 20-56 px its pattern could not be read)
TILE_COLUMNS = 8
KNOCKOUT_LABELS = {"3x3": "without the 3x3 branch", "5x5": "without the 5x5 branch", "both": "without both branches"}
COLOUR_WORDS = {  # dark end, middle, bright end of explain.overlay.COLOUR_MAPS
    "inferno": ("black", "purple and orange", "pale yellow"),
    "viridis": ("dark purple", "blue and green", "yellow"),
    "cividis": ("dark blue", "grey", "yellow"),
    "grey": ("black", "grey", "white"),
}


@dataclass(frozen=True)
class TileLayout:
    columns: int
    cell: int  # a tile's side in the picture: a whole multiple of the map's side, so its pixels stay square
    gap: int  # between tiles, in the picture
    screen: int  # a tile's side on screen: a whole multiple of ``cell`` (crisp blocks), at least TILE_MIN_PX


def tile_layout(channels: int, size: int) -> TileLayout:
    """How one layer's ``channels`` feature maps of ``size`` x ``size`` are drawn: each enlarged by whole
    factors (nearest neighbour) to a tile of at least TILE_MIN_PX on screen, TILE_COLUMNS to a row."""
    cell = size * max(1, -(-16 // size))  # at least 16 px in the picture: a 1-px gap stays thin when enlarged
    return TileLayout(min(TILE_COLUMNS, channels), cell, 1, cell * -(-TILE_MIN_PX // cell))


def colour_key(colour_map: str, high: float) -> str:
    """What the tiles' colours mean, in words."""
    dark, middle, bright = COLOUR_WORDS.get(colour_map, ("dark", "", "bright"))
    through = f", through {middle}," if middle else ""
    return (
        f"Colours: {dark} = no response (0){through} to {bright} = the strongest ({high:.2f}); dark tiles are "
        "channels that stay quiet on this image, bright ones respond strongly."
    )


def colour_choice(colour_map: str) -> str:
    """A colour map's name with its colours from weak to strong, for the selector."""
    dark, _, bright = COLOUR_WORDS.get(colour_map, ("dark", "", "bright"))
    return f"{colour_map} ({dark} → {bright})"
